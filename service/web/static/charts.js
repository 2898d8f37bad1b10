/* Turnout dashboard: draws the charts whose data the page carries as JSON (no inline script runs). */
(function () {
  "use strict";
  var COLORS = ["#1f5fbf", "#b8460b", "#2e7d32", "#7b1fa2", "#00838f", "#6d4c41", "#c2185b", "#455a64"];

  function bandColor(hex) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + ",0.15)";
  }

  function build(spec, width) {
    var data = [spec.x];
    var series = [{label: spec.xKind === "time" ? "cycle" : "requests / month"}];
    var bands = [];
    var points = 0;
    spec.series.forEach(function (s, i) {
      var color = COLORS[i % COLORS.length];
      data.push(s.values);
      points += s.values.filter(function (v) { return v !== null; }).length;
      series.push({label: s.label, stroke: color, width: 2, dash: s.dash ? [6, 4] : undefined,
                   points: {show: spec.x.length < 40}, spanGaps: false});
      if (s.band) {
        var mean = data.length - 1;
        data.push(s.band[0]);
        series.push({label: s.label + " low", stroke: bandColor(color), width: 1});
        data.push(s.band[1]);
        series.push({label: s.label + " high", stroke: bandColor(color), width: 1});
        bands.push({series: [mean + 2, mean + 1], fill: bandColor(color)});
      }
    });
    var markers = (spec.markers || []).filter(function (m) { return m !== null && m !== undefined; });
    var opts = {
      width: width, height: 260, series: series, bands: bands,
      scales: {x: {time: spec.xKind === "time"}},
      axes: [{}, {label: spec.yLabel || "", size: 60}],
      legend: {live: true},
      hooks: {draw: [function (u) {
        var ctx = u.ctx;
        markers.forEach(function (m) {
          var x = Math.round(u.valToPos(m, "x", true));
          ctx.save();
          ctx.strokeStyle = "#333";
          ctx.setLineDash([4, 4]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.restore();
        });
      }]}
    };
    return {opts: opts, data: data, points: points};
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    var built = build(spec, Math.max(280, el.clientWidth || 600));
    var plot = new uPlot(built.opts, built.data, el);
    el.setAttribute("data-points", String(built.points));
    el.setAttribute("data-rendered", "true");
    window.addEventListener("resize", function () {
      plot.setSize({width: Math.max(280, el.clientWidth || 600), height: 260});
    });
  }

  function ready() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);
    Array.prototype.forEach.call(document.querySelectorAll("[data-autosubmit]"), function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
