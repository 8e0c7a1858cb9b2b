// The compliance page's chart: turnaround and answers pending, by institution (ECharts).
// The data come from the page's JSON block; nothing here runs inline (the CSP forbids it).
(function () {
  "use strict";

  function draw() {
    var holder = document.querySelector("[data-testid=compliance-chart]");
    var source = document.getElementById("compliance-chart-data");
    if (!holder || !source || !window.echarts) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var rows = data.institutions.length;
    holder.style.height = Math.max(240, 64 * rows + 110) + "px";
    var chart = window.echarts.init(holder, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 24, top: 64, bottom: 8, containLabel: true },
      xAxis: [
        { type: "value", name: data.labels.hours, position: "bottom", minInterval: 1 },
        { type: "value", name: data.labels.count, position: "top", minInterval: 1, splitLine: { show: false } }
      ],
      yAxis: {
        type: "category",
        inverse: true,
        data: data.institutions,
        axisLabel: { width: 180, overflow: "truncate" }
      },
      series: [
        { name: data.labels.median, type: "bar", xAxisIndex: 0, data: data.median },
        { name: data.labels.p90, type: "bar", xAxisIndex: 0, data: data.p90 },
        { name: data.labels.pending, type: "bar", xAxisIndex: 1, data: data.pending }
      ]
    });
    holder.setAttribute("data-rendered", "true");
    window.addEventListener("resize", function () {
      chart.resize();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
