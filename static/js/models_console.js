/* Emotion-model registry pages: draw plotly figures embedded as JSON, and show upload
   progress on the import form. Without JavaScript the figures' tables and a plain form post
   still work. */
(function () {
  "use strict";

  function drawFigures() {
    if (typeof window.Plotly === "undefined") { return; }
    document.querySelectorAll(".plotly-chart").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-source"));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(element, figure.data, figure.layout,
        { responsive: true, displaylogo: false });
    });
  }

  function importForm() {
    var form = document.getElementById("model-import-form");
    if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
    var status = document.getElementById("upload-status");
    var label = document.getElementById("upload-progress-label");
    var progress = document.getElementById("upload-progress");
    var errors = document.getElementById("upload-errors");
    var submit = document.getElementById("import-submit");

    function showErrors(list) {
      errors.textContent = "";
      list.forEach(function (text) {
        var p = document.createElement("p");
        p.textContent = text;
        errors.appendChild(p);
      });
      errors.hidden = false;
      status.hidden = true;
      submit.disabled = false;
      errors.focus();
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      errors.hidden = true;
      submit.disabled = true;
      status.hidden = false;
      progress.value = 0;
      label.textContent = "Uploading… 0%";
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.round((e.loaded / e.total) * 100);
          progress.value = pct;
          progress.textContent = pct + "%";
          label.textContent = "Uploading… " + pct + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        progress.removeAttribute("value");
        label.textContent = "Uploaded. Checking the model (unpacking, loading, test clip); this can take a minute…";
      });
      xhr.addEventListener("load", function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status === 200 && data && data.redirect) {
          window.location.assign(data.redirect);
        } else if (data && data.errors) {
          showErrors(data.errors);
        } else if (xhr.status === 413) {
          showErrors(["The archive is too large for this server."]);
        } else {
          showErrors(["The upload failed (server answered " + xhr.status + "). Please try again."]);
        }
      });
      xhr.addEventListener("error", function () {
        showErrors(["The connection was lost during the upload. Please try again."]);
      });
      xhr.send(new FormData(form));
    });
    errors.setAttribute("tabindex", "-1");
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawFigures();
    importForm();
  });
})();
