// The admin console's training page: the progress of a training job, updated without reloading, from the
// JSON API (GET /api/admin/jobs/{id}) — whichever bot process runs the job, the database has its progress.
// When the job ends, the page is loaded again so the server renders the gate's report. Without JavaScript
// the page still works: reload it to see the progress. No inline code: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var id = box.getAttribute("data-job");
  var lang = box.getAttribute("data-lang") || "da";
  var bar = document.getElementById("job-progress");
  var percent = document.getElementById("job-percent");
  var step = document.getElementById("job-step");
  var failures = 0;

  function poll() {
    fetch("/api/admin/jobs/" + encodeURIComponent(id) + "?lang=" + lang, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { failures += 1; later(); return; }
        failures = 0;
        if (bar) { bar.value = job.progress; bar.textContent = job.progress + " %"; }
        if (percent) { percent.textContent = job.progress + " %"; }
        if (step && job.step_text && step.textContent !== job.step_text) { step.textContent = job.step_text; }
        box.setAttribute("data-status", job.status);
        if (job.status === "done" || job.status === "failed") { window.location.reload(); return; }
        later();
      })
      .catch(function () { failures += 1; later(); });
  }

  function later() { window.setTimeout(poll, failures ? Math.min(10000, 1000 * (failures + 1)) : 1000); }

  later();
}());
