/* Draws the charts whose data the page carries as JSON (no inline script). Chart.js 4.4.7,
   served by the console from static/vendor. */
(function () {
  "use strict";
  var COLOURS = ["#b42318", "#b54708", "#1d4ed8", "#027a48", "#6941c6", "#c11574", "#475467"];
  document.addEventListener("DOMContentLoaded", function () {
    var canvas = document.getElementById("overdue-chart");
    var source = document.getElementById("overdue-chart-data");
    if (!canvas || !source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var phone = window.matchMedia("(max-width: 719px)").matches;
    canvas.parentElement.style.height = (phone ? Math.max(260, data.labels.length * 34) : 360) + "px";
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, i) {
          return { label: s.name, data: s.values, backgroundColor: COLOURS[i % COLOURS.length] };
        })
      },
      options: {
        indexAxis: phone ? "y" : "x",  // township names read sideways on a phone
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked: true, ticks: { precision: 0 } }, y: { stacked: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  });
})();
