// Polls the evaluation's status and updates the progress on the console page; reloads the page
// once the evaluation has finished (or failed) so the result and the form show.
(function () {
  "use strict";
  var box = document.getElementById("evaluation-job");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("evaluation-progress");
  var stage = document.getElementById("evaluation-stage");
  var count = document.getElementById("evaluation-count");
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) { window.setTimeout(poll, 5000); return; }
        if (bar) { bar.value = job.progress || 0; bar.textContent = (job.progress || 0) + "%"; }
        if (stage) stage.textContent = job.stage || "";
        if (count && job.total) count.textContent = job.done + " of " + job.total + " clips";
        if (job.active) { window.setTimeout(poll, 2000); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
