// Follows a validation job's progress; reloads the page once it has finished.
(function () {
  "use strict";
  var box = document.getElementById("validation-job");
  if (!box || box.getAttribute("data-active") !== "1") return;
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("job-progress");
  var stage = document.getElementById("job-stage");
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { window.setTimeout(poll, 5000); return; }
        bar.value = job.progress || 0;
        stage.textContent = job.stage || "";
        if (job.active) { window.setTimeout(poll, 2000); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
