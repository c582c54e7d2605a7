// The eMentor console: live updates over server-sent events, sending chat messages through the JSON API,
// saved replies and printing. Everything works without it (forms post and pages reload); it only spares
// the eMentor reloading. No inline code anywhere: the pages' Content-Security-Policy forbids it.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  var myName = (document.querySelector('meta[name="me"]') || {}).content || "";
  var baseTitle = document.title;
  var unseen = 0;

  function clock(iso) {
    try {
      return new Intl.DateTimeFormat("da-DK", { hour: "numeric", minute: "2-digit", timeZone: "Europe/Copenhagen" })
        .format(new Date(iso)).replace(":", ".");
    } catch (e) { return ""; }
  }

  function beep() {
    // a short tone an eMentor notices; browsers allow it once the page has been used (a click)
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      var ctx = beep.ctx || (beep.ctx = new Ctx());
      var osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no sound: the title still changes */ }
  }

  function notify(text) {
    if (document.hidden || !document.hasFocus()) {
      unseen += 1;
      document.title = "(" + unseen + ") " + text + " – " + baseTitle;
    }
    beep();
  }
  window.addEventListener("focus", function () { unseen = 0; document.title = baseTitle; });

  var queue = document.getElementById("queue");
  var messages = document.getElementById("messages");
  var counter = document.getElementById("queue-count");

  function waitingIn(el) { return el ? parseInt(el.getAttribute("data-waiting") || "0", 10) : 0; }

  function refreshQueue(announce) {
    return fetch("/ementor/queue/rows", { credentials: "same-origin" }).then(function (r) {
      if (r.redirected || !r.ok) { return null; }
      return r.text();
    }).then(function (html) {
      if (!html) { return; }
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var rows = holder.querySelector("#queue-rows");
      if (!rows) { return; }
      var before = waitingIn(document.getElementById("queue-rows"));
      var now = waitingIn(rows);
      if (counter) { counter.textContent = now ? "(" + now + ")" : ""; }
      if (queue) { queue.replaceChild(rows, document.getElementById("queue-rows")); }
      if (announce && now > before) { notify((queue || counter).getAttribute("data-new-text") || "+"); }
    });
  }

  function addMessage(m) {
    if (!messages || messages.querySelector('[data-id="' + m.id + '"]')) { return; }
    var empty = document.getElementById("no-messages");
    if (empty) { empty.remove(); }
    var li = document.createElement("li");
    li.className = m.author;
    li.setAttribute("data-id", m.id);
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = (messages.getAttribute("data-" + m.author) || m.author) + " " + clock(m.created_at);
    var p = document.createElement("p");
    p.textContent = m.text;  // text, never HTML: a citizen's words cannot run as code
    li.appendChild(who); li.appendChild(p);
    messages.appendChild(li);
    messages.setAttribute("data-after", m.id);
    li.scrollIntoView({ block: "nearest" });
    if (m.author === "citizen") { notify(messages.getAttribute("data-new-text") || "+"); }
  }

  function listen() {
    if (!window.EventSource || !document.querySelector("header nav")) { return; }
    var url = "/ementor/events";
    var params = [];
    var after = queue && document.getElementById("queue-rows") && document.getElementById("queue-rows").getAttribute("data-after");
    if (after) { params.push("after=" + encodeURIComponent(after)); }
    if (messages && messages.getAttribute("data-live") === "1") {
      params.push("handover=" + encodeURIComponent(messages.getAttribute("data-handover")));
      params.push("after_message=" + encodeURIComponent(messages.getAttribute("data-after") || "0"));
    }
    var source = new EventSource(url + (params.length ? "?" + params.join("&") : ""));
    source.addEventListener("notice", function (e) {
      var data = {};
      try { data = JSON.parse(e.data); } catch (err) { return; }
      if (String(data.kind || "").indexOf("handover") === 0 || data.kind === "delivery_failed") {
        // a new citizen, one put back in the queue, or one handed to me: worth a tone
        var forMe = data.kind === "handover_transferred" && myName && data.ementor === myName;
        refreshQueue(data.kind === "handover" || data.kind === "handover_requeued");
        if (forMe) { notify((queue || counter || document.body).getAttribute("data-new-text") || "+"); }
        if (messages && String(data.handover) === messages.getAttribute("data-handover") && data.kind !== "handover") {
          var box = document.getElementById("text");
          if (!box || !box.value) { window.location.reload(); }
        }
      }
    });
    source.addEventListener("message", function (e) {
      try { addMessage(JSON.parse(e.data)); } catch (err) { /* ignore a broken event */ }
    });
    source.addEventListener("logged_out", function () { source.close(); window.location.reload(); });
  }

  var composer = document.getElementById("composer");
  if (composer && window.fetch) {
    composer.addEventListener("submit", function (e) {
      var box = document.getElementById("text");
      var text = box.value.trim();
      if (!text) { return; }
      e.preventDefault();
      if (composer.getAttribute("data-busy") === "1") { return; }
      composer.setAttribute("data-busy", "1");
      var id = messages.getAttribute("data-handover");
      fetch("/api/ementor/handovers/" + encodeURIComponent(id) + "/messages", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ text: text })
      }).then(function (r) {
        composer.removeAttribute("data-busy");
        if (r.status === 201) { box.value = ""; box.focus(); } else { composer.submit(); }
      }).catch(function () { composer.removeAttribute("data-busy"); composer.submit(); });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("button.reply"), function (button) {
    button.addEventListener("click", function () {
      var box = document.getElementById("text");
      if (!box) { return; }
      box.value = box.value ? box.value + "\n" + button.getAttribute("data-reply") : button.getAttribute("data-reply");
      box.focus();
    });
  });
  // a form is sent once: a double click must not write to a citizen twice or block time twice
  Array.prototype.forEach.call(document.querySelectorAll("form[method=post]:not(#composer)"), function (form) {
    form.addEventListener("submit", function (e) {
      if (form.getAttribute("data-sending") === "1") { e.preventDefault(); return; }
      form.setAttribute("data-sending", "1");
      window.setTimeout(function () { form.removeAttribute("data-sending"); }, 3000);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  if (counter) { refreshQueue(false); }
  listen();
})();
