/* Draw every Plotly figure on the page: <div data-figure="ID"> takes the figure from the
 * json_script element with that id. The figures come from sessions/exercises/charts.py. */
(function () {
  "use strict";
  function draw() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-figure]").forEach(function (target) {
      var source = document.getElementById(target.getAttribute("data-figure"));
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(target, figure.data, figure.layout, { displayModeBar: false, responsive: true });
    });
  }
  if (document.readyState === "complete") draw();
  else window.addEventListener("load", draw);
})();
