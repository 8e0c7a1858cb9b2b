// The site-performance page's charts: one bar chart per measure, the nation's bar first (ECharts).
// The data and every label come from the page's JSON block, in the page's language; nothing
// here runs inline (the CSP forbids it). Suppressed figures never reach this file.
(function () {
  "use strict";

  var NATIONAL_COLOUR = "#b45309";
  var SITE_COLOUR = "#2563eb";

  function drawOne(spec) {
    var holder = document.querySelector("[data-chart=" + spec.key + "]");
    if (!holder) {
      return;
    }
    holder.style.height = Math.max(200, 40 * spec.names.length + 80) + "px";
    var chart = window.echarts.init(holder, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 8, right: 48, top: 48, bottom: 8, containLabel: true },
      xAxis: { type: "value", name: spec.unit, nameLocation: "middle", nameGap: 24, position: "top" },
      yAxis: {
        type: "category",
        inverse: true,
        data: spec.names,
        axisLabel: { width: 220, overflow: "truncate" },
        axisTick: { show: false }
      },
      series: [
        {
          name: spec.title,
          type: "bar",
          label: { show: true, position: "right" },
          data: spec.values.map(function (value, index) {
            var national = spec.national !== null && index === 0;
            return { value: value, itemStyle: { color: national ? NATIONAL_COLOUR : SITE_COLOUR } };
          })
        }
      ]
    });
    holder.setAttribute("data-rendered", "true");
    window.addEventListener("resize", function () {
      chart.resize();
    });
  }

  function draw() {
    var source = document.getElementById("performance-chart-data");
    if (!source || !window.echarts) {
      return;
    }
    JSON.parse(source.textContent).charts.forEach(drawOne);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
