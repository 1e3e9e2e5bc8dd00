/* loadtest's HTML page: draws the page model in #page-data (see
   loadtest/report/_html_model.py) with uPlot. Every text goes in as text
   (textContent), never as markup. A chart that fails to draw says so in
   its box and on the console. */
(function () {
  "use strict";
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  // uPlot's default axis font: tick labels are measured in it.
  var AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, ' +
                  '"Noto Sans", sans-serif';
  var data = JSON.parse(document.getElementById("page-data").textContent);
  var root = document.getElementById("page");
  var charts = [];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function colour(index) { return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length]; }

  function fmt(v) {
    if (v === null || v === undefined) return "-";
    var a = Math.abs(v);
    if (a >= 1000) return v.toLocaleString("en-US", {maximumFractionDigits: 0});
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  function percentLabel(x) {
    if (x <= 1) return "min";
    var p = 100 * (1 - 1 / x);
    var digits = Math.max(0, Math.round(Math.log10(x)) - 2);
    return "p" + p.toFixed(digits);
  }

  function textBlock(item) {
    var box = el("div", "text " + item.tone);
    if (item.title) box.appendChild(el("h3", null, item.title));
    if (item.preformatted) {
      box.appendChild(el("pre", null, item.lines.join("\n")));
    } else {
      item.lines.forEach(function (line, i) {
        box.appendChild(el(i === 0 && !item.title ? "p" : "p", i === 0 ? "lead" : null, line));
      });
    }
    return box;
  }

  function tableBlock(item) {
    var box = el("div", "table");
    box.appendChild(el("h3", null, item.title));
    var wrap = el("div", "scroll");
    var table = el("table");
    var head = el("tr");
    item.columns.forEach(function (c) { head.appendChild(el("th", null, c)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    item.rows.forEach(function (row) {
      var tr = el("tr");
      row.forEach(function (cell, i) {
        var td = el("td", i === 0 ? "first" : null, cell);
        if (cell === "FAIL" || cell === "generator-bound") td.className = "bad";
        else if (cell === "suspect") td.className = "warn";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    wrap.appendChild(table);
    box.appendChild(wrap);
    if (item.note) box.appendChild(el("p", "note", item.note));
    return box;
  }

  function decorate(item) {
    return function (u) {
      var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
      var left = u.bbox.left, right = u.bbox.left + u.bbox.width;
      ctx.save();
      item.bands.forEach(function (band) {
        var a = Math.max(left, u.valToPos(band.start, "x", true));
        var b = Math.min(right, u.valToPos(band.end, "x", true));
        if (b > a) {
          ctx.fillStyle = "rgba(120, 120, 120, 0.15)";
          ctx.fillRect(a, top, b - a, height);
        }
      });
      ctx.font = (11 * devicePixelRatio) + "px sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "top";
      item.marks.forEach(function (mark) {
        var x = u.valToPos(mark.x, "x", true);
        if (x < left - 1 || x > right + 1) return;
        ctx.strokeStyle = "#555";
        ctx.lineWidth = devicePixelRatio;
        ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
        ctx.fillStyle = "#333";
        ctx.fillText(mark.label, x + 3 * devicePixelRatio, top + 2 * devicePixelRatio);
      });
      ctx.restore();
    };
  }

  var measure = document.createElement("canvas").getContext("2d");
  measure.font = AXIS_FONT;

  function textWidth(text) { return measure.measureText(text).width; }

  function xAxis(item) {
    var axis = {label: item.x_label, stroke: "#333", grid: {stroke: "#eee"}};
    if (item.x_kind === "percentile") {
      axis.splits = function (u) {
        var out = [], max = u.scales.x.max;
        // p50 (x = 2) only while it stays clear of "min" (under 3 decades).
        var ticks = max < 1000 ? [1, 2, 10, 100] : [1, 10, 100, 1000, 10000, 100000];
        ticks.forEach(function (v) { if (v <= max * 1.0001) out.push(v); });
        return out;
      };
      axis.filter = function (u, splits) { return splits; };  // log axes drop non-powers
      axis.values = function (u, splits) { return splits.map(percentLabel); };
    } else if (item.x_kind === "category") {
      axis.splits = function () { return item.xs; };
      // Labels wider than their share of the axis would overprint each
      // other: then each tick is its stage number alone (the legend, on
      // hover, and the table above give the load). The labels drawn are
      // kept on the chart's box (data-x-ticks).
      axis.values = function (u, splits) {
        var labels = splits.map(function (v) { return item.x_ticks[Math.round(v) - 1] || ""; });
        var width = u.bbox && u.bbox.width ? u.bbox.width / devicePixelRatio : u.width - 80;
        var room = width / Math.max(1, splits.length) - 8;
        var widest = Math.max.apply(null, labels.map(textWidth));
        if (widest > room) labels = labels.map(function (t) { return t.split(":")[0]; });
        var box = document.getElementById(item.id);
        if (box) box.setAttribute("data-x-ticks", JSON.stringify(labels));
        return labels;
      };
    }
    return axis;
  }

  function chartBlock(item) {
    var box = el("div", "chart");
    box.id = item.id;
    box.appendChild(el("h3", null, item.title));
    var plot = el("div", "plot");
    box.appendChild(plot);
    if (item.note) box.appendChild(el("p", "note", item.note));
    return {box: box, plot: plot, item: item};
  }

  function draw(entry) {
    var item = entry.item;
    var few = item.xs.length <= 40;
    var scaleX = {time: false};
    if (item.x_kind === "percentile") { scaleX.distr = 3; scaleX.log = 10; }
    if (item.x_kind === "category") {
      scaleX.range = function () { return [0.5, item.xs.length + 0.5]; };
    } else if (item.xs.length === 1) {
      scaleX.range = function (u, lo) { return [lo - 1, lo + 1]; };
    }
    var scaleY = item.y_log ? {distr: 3, log: 10} : {range: function (u, lo, hi) {
      var top = hi > 0 ? hi * 1.08 : 1;
      return [Math.min(0, lo), top];
    }};
    var opts = {
      width: Math.max(320, entry.plot.clientWidth),
      height: 280,
      scales: {x: scaleX, y: scaleY},
      axes: [xAxis(item), {label: item.y_label + (item.y_log ? " (log scale)" : ""), stroke: "#333",
                           grid: {stroke: "#eee"}, size: 60}],
      legend: {live: true},
      cursor: {drag: {x: true, y: false}},
      series: [{label: item.x_kind === "percentile" ? "percentile" : item.x_label,
                value: item.x_kind === "percentile"
                  ? function (u, v) { return v === null ? "-" : percentLabel(v); }
                  : item.x_kind === "category"
                    ? function (u, v) { return v === null ? "-" : (item.x_ticks[Math.round(v) - 1] || ""); }
                    : function (u, v) { return fmt(v); }}].concat(item.series.map(function (s) {
        return {
          label: s.label,
          stroke: colour(s.color),
          width: 2,
          dash: s.dash ? [6, 4] : undefined,
          points: {show: few || s.values.filter(function (v) { return v !== null; }).length < 3, size: 5},
          value: function (u, v) { return v === null || v === undefined ? "" : fmt(v); },
        };
      })),
      hooks: {draw: [decorate(item)]},
    };
    var columns = [item.xs].concat(item.series.map(function (s) { return s.values; }));
    try {
      entry.chart = new uPlot(opts, columns, entry.plot);
      entry.box.setAttribute("data-drawn", "1");
      charts.push(entry);
    } catch (err) {
      entry.box.appendChild(el("p", "error", "this chart could not be drawn: " + err));
      console.error("chart " + item.id + ": " + err);
    }
  }

  document.title = data.title;
  var header = el("header");
  header.appendChild(el("h1", null, data.title));
  data.header.forEach(function (line) { header.appendChild(el("p", null, line)); });
  var nav = el("nav");
  data.sections.forEach(function (section) {
    var link = el("a", null, section.title);
    link.href = "#" + section.id;
    nav.appendChild(link);
  });
  header.appendChild(nav);
  root.appendChild(header);

  var pending = [];
  data.sections.forEach(function (section) {
    var sec = el("section");
    sec.id = section.id;
    sec.appendChild(el("h2", null, section.title));
    var grid = null;
    section.items.forEach(function (item) {
      if (item.kind === "chart") {
        if (!grid) { grid = el("div", "grid"); sec.appendChild(grid); }
        var entry = chartBlock(item);
        grid.appendChild(entry.box);
        pending.push(entry);
      } else {
        grid = null;
        sec.appendChild(item.kind === "table" ? tableBlock(item) : textBlock(item));
      }
    });
    root.appendChild(sec);
  });
  pending.forEach(draw);

  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      charts.forEach(function (c) {
        c.chart.setSize({width: Math.max(320, c.plot.clientWidth), height: 280});
      });
    }, 100);
  });
})();
