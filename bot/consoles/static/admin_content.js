// The answer-text editor (/admin/content/{kind}/{key}): the phone preview follows the text as it is typed,
// and the checker's verdict is asked for (POST /api/admin/content/check, the same rules as saving) a moment
// after typing stops. Without this script the page still works: "Tjek teksten" shows both, "Gem" saves.
(function () {
  "use strict";
  var form = document.getElementById("content-form");
  if (!form) { return; }
  var csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  var kind = form.getAttribute("data-kind");
  var key = form.getAttribute("data-key");
  var isButton = form.getAttribute("data-button") === "yes";
  var fields = { da: document.getElementById("text-da"), en: document.getElementById("text-en") };
  var timer = null;
  var asked = 0;

  function preview(language) {
    var phone = document.querySelector('[data-preview="' + language + '"]');
    if (!phone) { return; }
    var value = fields[language].value.replace(/\r\n?/g, "\n").trim();
    if (isButton) {
      var button = phone.querySelector(".choice");
      if (button) { button.textContent = value; }
      return;
    }
    var text = phone.querySelector(".msg .text");
    if (text) { text.textContent = value; }
  }

  function verdict(problems, measures) {
    var ok = document.getElementById("verdict-ok");
    var bad = document.getElementById("verdict-problems");
    var list = document.getElementById("problem-list");
    list.textContent = "";
    problems.forEach(function (line) {
      var item = document.createElement("li");
      item.textContent = line;
      list.appendChild(item);
    });
    ok.hidden = problems.length > 0;
    bad.hidden = problems.length === 0;
    var said = document.getElementById("measures");
    if (said && measures) { said.textContent = measures; }
  }

  function check() {
    var mine = ++asked;
    fetch("/api/admin/content/check", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ kind: kind, key: key, da: fields.da.value, en: fields.en.value,
                             lang: document.documentElement.lang })
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
      if (body && mine === asked) { verdict(body.problems || [], body.measures_text); }
    }).catch(function () { /* the button still checks on the server */ });
  }

  ["da", "en"].forEach(function (language) {
    if (!fields[language]) { return; }
    fields[language].addEventListener("input", function () {
      preview(language);
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(check, 400);
    });
  });
})();
