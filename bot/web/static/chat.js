// The citizens' chat: talks to the REST channel (POST webhooks/rest/webhook), keeps the conversation in
// localStorage, shows the last bot message's buttons as big choices. Bot and user text is only ever put
// into the page as text (textContent / text nodes), never as HTML.
// Messages the bot sends on its own (an eMentor's reply, a reminder) wait on the server: the page asks for
// them (GET webhooks/rest/messages) every few seconds while it is visible, as REST cannot push.
"use strict";

(() => {
  const STORE_KEY = "ementor-webchat-v1";
  const ENDPOINT = "webhooks/rest/webhook"; // relative: works when the bot is served under a path prefix
  const TIMEOUT_MS = 20000;
  const MAX_HISTORY = 200;
  const MESSAGES = "webhooks/rest/messages";
  const NEW_SENDER = "webhooks/rest/sender"; // the server's own, signed sender id: asked for once, then kept
  const SIGNED = /^s-[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{32}$/;
  const POLL_MS = 3000;
  const MAX_POLL_MS = 60000; // after errors the wait doubles up to this

  const TEXTS = {
    da: {
      title: "Digital hjælp",
      intro: "Få hjælp til MitID, Digital Post, Jobnet og mere. Skriv aldrig din kode eller dit CPR-nummer her.",
      page_title: "Digital hjælp – chat",
      conversation: "Samtalen",
      restart: "Start forfra",
      language: "English",
      label: "Skriv dit spørgsmål",
      send: "Send",
      typing: "Et øjeblik …",
      retry: "Prøv igen",
      choices: "Svarmuligheder",
      bot: "Botten skrev:",
      you: "Du skrev:",
      new_tab: "(åbner i en ny fane)",
      empty: "Skriv dit spørgsmål først.",
      offline: "Der er ingen forbindelse til chatten lige nu. Tjek at du har internet, og prøv igen.",
      failed: "Noget gik galt. Prøv igen om et øjeblik.",
      image: "Se billedet",
      file: "Åbn filen",
      calendar: "Gem i kalender",
    },
    en: {
      title: "Digital help",
      intro: "Get help with MitID, Digital Post, Jobnet and more. Never write your code or CPR number here.",
      page_title: "Digital help – chat",
      conversation: "The conversation",
      restart: "Start again",
      language: "Dansk",
      label: "Write your question",
      send: "Send",
      typing: "One moment …",
      retry: "Try again",
      choices: "Choices",
      bot: "The bot wrote:",
      you: "You wrote:",
      new_tab: "(opens in a new tab)",
      empty: "Please write your question first.",
      offline: "The chat cannot be reached right now. Check that you are online, and try again.",
      failed: "Something went wrong. Please try again in a moment.",
      image: "See the picture",
      file: "Open the file",
      calendar: "Save to calendar",
    },
  };

  const $ = (id) => document.getElementById(id);
  const el = {
    log: $("log"), typing: $("typing"), notice: $("notice"), noticeText: $("notice-text"), retry: $("retry"),
    choices: $("choices"), form: $("composer"), input: $("input"), send: $("send"),
    language: $("language"), restart: $("restart"), announcer: $("announcer"),
  };

  // ---- state: sender id, language, history and current choices, kept across reloads -----------------
  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes); // works without HTTPS, unlike crypto.randomUUID
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const isText = (v) => typeof v === "string";
  const validButton = (b) => b && isText(b.title) && isText(b.payload);
  const validEntry = (e) => e && (e.who === "bot" || e.who === "user") && isText(e.text) &&
    (e.url === undefined || isText(e.url)) && (e.download === undefined || e.download === true);

  function loadState() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
      if (saved && typeof saved === "object") {
        return {
          sender: isText(saved.sender) && SIGNED.test(saved.sender) ? saved.sender : null, // older ids: a new one
          lang: saved.lang === "en" ? "en" : "da",
          history: Array.isArray(saved.history) ? saved.history.filter(validEntry) : [],
          choices: Array.isArray(saved.choices) ? saved.choices.filter(validButton) : [],
        };
      }
    } catch (_) { /* unreadable or blocked storage: start afresh */ }
    return { sender: null, lang: "da", history: [], choices: [] };
  }

  function saveState() {
    state.history = state.history.slice(-MAX_HISTORY);
    try { localStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (_) { /* private mode: memory only */ }
  }

  const state = loadState();
  const t = (key) => TEXTS[state.lang][key];

  // ---- rendering (text only) --------------------------------------------------------------------------
  const URL_RE = /https?:\/\/[^\s<>"']+/g;
  const LINK_LINE = /^(.{1,100}): (https?:\/\/\S+)$/;

  function trimUrl(url) {
    return url.replace(/[.,;:!?)\]]+$/, "");
  }

  function safeHref(url) {
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed : null;
    } catch (_) { return null; }
  }

  // A file the bot made (a calendar entry) is served by the bot itself: a relative address is fine.
  function safeFileHref(url) {
    try {
      const parsed = new URL(url, document.baseURI);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed : null;
    } catch (_) { return null; }
  }

  const isCalendar = (url) => {
    const parsed = safeFileHref(url);
    return Boolean(parsed) && /\.ics$/i.test(parsed.pathname);
  };

  function downloadLink(entry) {
    const parsed = safeFileHref(entry.url);
    if (!parsed) return null;
    const a = document.createElement("a");
    a.href = parsed.href;
    a.className = "download";
    a.setAttribute("download", decodeURIComponent(parsed.pathname.split("/").pop() || "") || "kalender.ics");
    a.textContent = entry.text;
    return a;
  }

  function link(parsed, cls) {
    const a = document.createElement("a");
    a.href = parsed.href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    if (cls) a.className = cls;
    return a;
  }

  function newTabHint() {
    const hint = document.createElement("span");
    hint.className = "visually-hidden";
    hint.textContent = " " + t("new_tab");
    return hint;
  }

  function appendLinkified(parent, text) {
    let last = 0;
    for (const match of text.matchAll(URL_RE)) {
      const url = trimUrl(match[0]);
      const parsed = safeHref(url);
      if (!parsed) continue;
      parent.append(text.slice(last, match.index));
      const a = link(parsed);
      a.textContent = url;
      a.append(newTabHint());
      parent.append(a);
      last = match.index + url.length;
    }
    parent.append(text.slice(last));
  }

  // "Title: https://..." lines (how the REST channel writes a flow's links) become a link card.
  function appendBotText(parent, text) {
    let afterLine = false;
    for (const line of text.split("\n")) {
      const card = LINK_LINE.exec(line.trim());
      const parsed = card && safeHref(card[2]);
      if (parsed) {
        const a = link(parsed, "link-card");
        const title = document.createElement("span");
        title.className = "title";
        title.textContent = card[1];
        const host = document.createElement("span");
        host.className = "host";
        host.textContent = parsed.host;
        a.append(title, host, newTabHint());
        parent.append(a);
        afterLine = false;
        continue;
      }
      if (afterLine) parent.append("\n");
      appendLinkified(parent, line);
      afterLine = true;
    }
  }

  function messageNode(entry) {
    const li = document.createElement("li");
    li.className = "msg " + entry.who;
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = t(entry.who === "bot" ? "bot" : "you") + " ";
    const body = document.createElement("p");
    if (entry.who === "bot" && entry.url && entry.download) {
      const a = downloadLink(entry);
      if (a) body.append(a);
    } else if (entry.who === "bot" && entry.url) {
      const parsed = safeHref(entry.url);
      if (parsed) {
        const a = link(parsed);
        a.textContent = entry.text;
        a.append(newTabHint());
        body.append(a);
      }
    } else if (entry.who === "bot") {
      appendBotText(body, entry.text);
    } else {
      body.textContent = entry.text;
    }
    li.append(who, body);
    return li;
  }

  function renderChoices(busyNow) {
    el.choices.replaceChildren(...state.choices.map((b) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "choice";
      button.textContent = b.title;
      if (busyNow) button.setAttribute("aria-disabled", "true");
      button.addEventListener("click", () => send(b.payload, b.title, { fromChoice: true }));
      return button;
    }));
  }

  function renderAll() {
    el.log.replaceChildren(...state.history.map(messageNode));
    renderChoices(false);
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.title = t("page_title");
    document.querySelectorAll("[data-t]").forEach((node) => { node.textContent = t(node.dataset.t); });
    el.language.textContent = t("language");
    el.language.lang = state.lang === "da" ? "en" : "da";
    el.choices.setAttribute("aria-label", t("choices"));
  }

  function announce(text) {
    el.announcer.textContent = "";
    // A new text node in a separate task, so a repeated identical message is announced again.
    setTimeout(() => { el.announcer.textContent = text; }, 50);
  }

  function showNotice(text, retry) {
    el.noticeText.textContent = text;
    el.retry.hidden = !retry;
    el.notice.hidden = false;
    announce(text);
  }

  function hideNotice() { el.notice.hidden = true; }

  // ---- talking to the bot -------------------------------------------------------------------------------
  let busy = false;
  let pending = null; // the last message that could not be delivered, for "Prøv igen"

  function setBusy(on) {
    busy = on;
    el.typing.hidden = !on;
    el.send.setAttribute("aria-disabled", String(on));
    el.choices.querySelectorAll("button").forEach((b) => b.setAttribute("aria-disabled", String(on)));
  }

  function requestedLanguage(payload) {
    const match = /^\/change_language(\{.*\})?$/.exec(payload.trim());
    if (!match || !match[1]) return null;
    try {
      const language = JSON.parse(match[1]).language;
      return language === "da" || language === "en" ? language : null;
    } catch (_) { return null; }
  }

  function botEntries(replies) {
    const entries = [];
    let choices = [];
    for (const reply of Array.isArray(replies) ? replies : []) {
      if (!reply || typeof reply !== "object") continue;
      if (isText(reply.text) && reply.text) entries.push({ who: "bot", text: reply.text });
      if (isText(reply.image)) entries.push({ who: "bot", text: t("image"), url: reply.image });
      if (isText(reply.attachment)) {
        entries.push(isCalendar(reply.attachment)
          ? { who: "bot", text: t("calendar"), url: reply.attachment, download: true }
          : { who: "bot", text: t("file"), url: reply.attachment });
      }
      if (Array.isArray(reply.buttons) && reply.buttons.length) choices = reply.buttons.filter(validButton);
    }
    return { entries, choices };
  }

  // The sender id the server signed for this browser (asked for once, kept with the conversation).
  async function ensureSender(signal) {
    if (state.sender) return state.sender;
    const response = await fetch(NEW_SENDER, { method: "POST", cache: "no-store", signal });
    const body = await response.json().catch(() => null);
    if (!response.ok || !body || !isText(body.sender) || !SIGNED.test(body.sender)) {
      throw new Error(String(response.status));
    }
    state.sender = body.sender;
    saveState();
    return state.sender;
  }

  async function post(message, messageId) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      for (let attempt = 0; ; attempt += 1) {
        const sender = await ensureSender(controller.signal);
        const response = await fetch(ENDPOINT, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ sender, message, message_id: messageId }),
          signal: controller.signal,
        });
        if (response.status === 403 && attempt === 0) { state.sender = null; continue; } // a key changed: a new id
        const body = await response.json().catch(() => null);
        return { status: response.status, body };
      }
    } finally {
      clearTimeout(timer);
    }
  }

  // The conversation's language as the bot's own menu shows it: it offers a switch to the other language.
  function menuLanguage(choices) {
    for (const b of choices) {
      const offered = requestedLanguage(b.payload);
      if (offered) return offered === "da" ? "en" : "da";
    }
    return null;
  }

  function failureText(result) {
    if (!result) return t("offline");
    const first = Array.isArray(result.body) ? result.body[0] : null;
    // the database is away (503) or the citizen writes too fast (429): the server's own kind words
    if ((result.status === 503 || result.status === 429) && first && isText(first.text) && first.text) {
      return first.text;
    }
    return t("failed");
  }

  // Send `message` (text or a button payload); `shown` is what the citizen sees as their message (null: none).
  async function send(message, shown, options = {}) {
    if (busy) return;
    const attempt = pending && pending.message === message ? pending : { message, shown, options, id: randomId() };
    const focusWillGo = options.fromChoice || el.notice.contains(document.activeElement);
    pending = null;
    hideNotice();
    setBusy(true);
    let placeholder = null;
    if (shown) {
      placeholder = messageNode({ who: "user", text: shown });
      el.log.append(placeholder);
    }
    let result = null;
    try {
      result = await post(message, attempt.id);
    } catch (_) {
      result = null; // unreachable, offline or timed out
    }
    setBusy(false);
    if (!result || result.status !== 200) {
      if (placeholder) placeholder.remove();
      pending = attempt;
      if (options.typed && !el.input.value) el.input.value = shown;
      showNotice(failureText(result), true);
      el.notice.scrollIntoView({ block: "nearest" });
      if (focusWillGo) el.retry.focus();
      return;
    }
    if (options.reset) state.history = [];
    const firstNew = state.history.length;
    if (shown) state.history.push({ who: "user", text: shown });
    const { entries, choices } = botEntries(result.body);
    state.history.push(...entries);
    // an empty answer (a repeated message whose reply was not kept) leaves the question's choices on screen
    if (entries.length || choices.length) state.choices = choices;
    state.lang = requestedLanguage(message) || menuLanguage(choices) || state.lang;
    saveState();
    applyLanguage();
    renderAll();
    const first = el.log.children[firstNew];
    if (first) first.scrollIntoView({ block: "start" });
    if (entries.length) announce(entries.map((e) => e.text).join("\n"));
    // The pressed button is gone: keep keyboard users on the new question.
    if (focusWillGo) (el.choices.querySelector("button") || el.input).focus({ preventScroll: true });
  }

  // ---- messages the bot sends on its own ------------------------------------------------------------------
  let pollTimer = null;
  let pollWait = POLL_MS;
  let polling = false;

  function schedulePoll(wait) {
    clearTimeout(pollTimer);
    pollTimer = document.hidden ? null : setTimeout(poll, wait);
  }

  function showArrived(replies) {
    const { entries, choices } = botEntries(replies);
    if (!entries.length && !choices.length) return;
    const firstNew = state.history.length;
    state.history.push(...entries);
    if (choices.length) state.choices = choices; // else the open question's choices stay
    saveState();
    renderAll();
    const first = el.log.children[firstNew];
    if (first) first.scrollIntoView({ block: "start" });
    if (entries.length) announce(entries.map((e) => e.text).join("\n"));
  }

  async function poll() {
    if (polling || document.hidden) return;
    if (busy || !state.sender) { schedulePoll(POLL_MS); return; } // after the reply: messages stay in order
    polling = true;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      const response = await fetch(MESSAGES + "?sender=" + encodeURIComponent(state.sender), {
        cache: "no-store", signal: controller.signal,
      });
      if (response.status === 403) state.sender = null; // not this server's id (any more): the next send asks
      if (!response.ok) throw new Error(String(response.status));
      showArrived(await response.json());
      pollWait = POLL_MS;
    } catch (_) {
      pollWait = Math.min(pollWait * 2, MAX_POLL_MS); // quietly: the citizen sees a notice only when sending
    } finally {
      clearTimeout(timer);
      polling = false;
    }
    schedulePoll(pollWait);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { clearTimeout(pollTimer); pollTimer = null; } else { pollWait = POLL_MS; poll(); }
  });

  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = el.input.value.trim();
    if (busy) return;
    if (!text) {
      showNotice(t("empty"), false);
      el.input.focus();
      return;
    }
    el.input.value = "";
    send(text, text, { typed: true });
  });

  el.language.addEventListener("click", () => {
    const other = state.lang === "da" ? "en" : "da";
    send(`/change_language{"language":"${other}"}`, TEXTS[state.lang].language);
  });

  el.restart.addEventListener("click", () => send("/restart", null, { reset: true }));

  el.retry.addEventListener("click", () => {
    if (!pending) return;
    if (pending.options.typed) el.input.value = "";
    send(pending.message, pending.shown, pending.options);
  });

  // ---- start ----------------------------------------------------------------------------------------------
  applyLanguage();
  renderAll();
  if (state.history.length) el.log.lastElementChild.scrollIntoView({ block: "start" });
  else send("/greet", null); // a first visit opens with the welcome and the topics
  schedulePoll(POLL_MS);
})();
