// The child's trend charts: the figure is built on the server (sessions/workspace/charts.py).

function main() {
  const holder = document.getElementById("trend-chart");
  const source = document.getElementById("trend-figure");
  if (!holder || !source || !window.Plotly) return;
  const figure = JSON.parse(source.textContent);
  window.Plotly.newPlot(holder, figure.data, figure.layout, {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"],
  });
}

main();
