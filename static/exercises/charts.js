/* Draw every Plotly figure on the page: <div data-figure="ID"> takes the figure from the
 * json_script element with that id. The figures come from sessions/exercises/charts.py.
 * window.exerciseCharts.draw(root) draws (or redraws) the figures inside root: the practice
 * page calls it when "My tries" is reloaded after a try. */
(function () {
  "use strict";
  function draw(root) {
    if (!window.Plotly) return;
    (root || document).querySelectorAll("[data-figure]").forEach(function (target) {
      var source = document.getElementById(target.getAttribute("data-figure"));
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.react(target, figure.data, figure.layout, { displayModeBar: false, responsive: true });
    });
  }
  window.exerciseCharts = { draw: draw };
  if (document.readyState === "complete") draw();
  else window.addEventListener("load", function () { draw(); });
})();
