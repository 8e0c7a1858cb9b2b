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
    holder.style.height = Math.max(240, 48 * rows + 110) + "px";
    var chart = window.echarts.init(holder, null, { renderer: "canvas" });
    // Two panels side by side on the same institutions: hours on the left, counts on the right.
    var category = {
      type: "category",
      inverse: true,
      data: data.institutions,
      axisTick: { show: false }
    };
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: [
        { left: 8, width: "58%", top: 48, bottom: 8, containLabel: true },
        { right: 16, width: "22%", top: 48, bottom: 8, containLabel: true }
      ],
      xAxis: [
        { gridIndex: 0, type: "value", name: data.labels.hours, nameLocation: "middle", nameGap: 24, position: "top" },
        { gridIndex: 1, type: "value", name: data.labels.count, nameLocation: "middle", nameGap: 24, position: "top", minInterval: 1 }
      ],
      yAxis: [
        Object.assign({ gridIndex: 0, axisLabel: { width: 200, overflow: "truncate" } }, category),
        Object.assign({ gridIndex: 1, axisLabel: { show: false } }, category)
      ],
      series: [
        { name: data.labels.median, type: "bar", xAxisIndex: 0, yAxisIndex: 0, data: data.median },
        { name: data.labels.p90, type: "bar", xAxisIndex: 0, yAxisIndex: 0, data: data.p90 },
        { name: data.labels.pending, type: "bar", xAxisIndex: 1, yAxisIndex: 1, data: data.pending }
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
