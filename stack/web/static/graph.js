// The expression browser: run a query as a table (instant) or a graph (range), as upstream's /graph.
"use strict";

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf"];
const UNITS = {s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000};
// Aim for about 250 points across the graph, as upstream's default resolution does.
const TARGET_POINTS = 250;

function parseRange(text) {
  let total = 0, matched = "";
  for (const m of text.trim().matchAll(/(\d+)([smhdwy])/g)) { total += +m[1] * UNITS[m[2]]; matched += m[0]; }
  if (!total || matched !== text.trim()) throw new Error(`invalid range "${text}" (use e.g. 1h, 30m, 1d)`);
  return total;
}

function endTime() {
  const v = document.getElementById("end").value.trim();
  if (!v) return Date.now() / 1000;
  const t = Date.parse(v.endsWith("Z") || /[+-]\d\d:\d\d$/.test(v) ? v : v + "Z");
  if (isNaN(t)) throw new Error(`invalid end time "${v}" (use e.g. 2024-05-01T10:00:00Z)`);
  return t / 1000;
}

let mode = "table";

async function execute() {
  const expr = document.getElementById("expr").value;
  const errEl = document.getElementById("error");
  errEl.hidden = true;
  document.getElementById("table").innerHTML = "";
  document.getElementById("graph").innerHTML = "";
  document.getElementById("legend").innerHTML = "";
  try {
    if (mode === "table") await runTable(expr, endTime());
    else await runGraph(expr, parseRange(document.getElementById("range").value), endTime());
  } catch (err) {
    showError(errEl, err);
    const caret = caretFor(expr, err.message || "");
    if (caret) errEl.textContent += "\n\n" + caret;
  }
}

// "1:16: parse error: ..." -> the query's line with a caret under column 16.
function caretFor(expr, message) {
  const m = /(\d+):(\d+): parse error/.exec(message);
  if (!m) return "";
  const line = expr.split("\n")[+m[1] - 1];
  if (line === undefined) return "";
  return line + "\n" + " ".repeat(Math.max(0, +m[2] - 1)) + "^";
}

async function runTable(expr, time) {
  const data = await api("query", {query: expr, time: time.toFixed(3)});
  const rows = [];
  if (data.resultType === "vector") {
    for (const s of data.result) rows.push([seriesName(s.metric), s.value[1]]);
  } else if (data.resultType === "matrix") {
    for (const s of data.result) rows.push([seriesName(s.metric), s.values.map(v => `${v[1]} @${v[0]}`).join("\n")]);
  } else {
    rows.push([data.resultType, data.result[1]]);
  }
  const table = document.getElementById("table");
  table.innerHTML = "<tr><th>Series</th><th>Value</th></tr>" + (rows.length
    ? rows.map(([k, v]) => `<tr class="result"><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")
    : '<tr><td colspan="2">Empty query result</td></tr>');
}

async function runGraph(expr, rangeSeconds, end) {
  const step = Math.max(1, Math.round(rangeSeconds / TARGET_POINTS));
  const start = end - rangeSeconds;
  const data = await api("query_range", {query: expr, start: start.toFixed(3), end: end.toFixed(3), step});
  drawGraph(data.result, start, end);
}

function drawGraph(series, start, end) {
  const W = 900, H = 320, L = 60, R = 10, T = 10, B = 30;
  let lo = Infinity, hi = -Infinity;
  for (const s of series) for (const [, v] of s.values) {
    const x = parseFloat(v); if (isFinite(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  }
  if (lo === Infinity) { lo = 0; hi = 1; }
  if (lo === hi) { lo -= 1; hi += 1; }
  const px = t => L + (t - start) / (end - start) * (W - L - R);
  const py = v => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" id="graph-svg">`;
  for (let i = 0; i <= 4; i++) {
    const v = lo + (hi - lo) * i / 4, y = py(v);
    svg += `<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#eee"/>` +
           `<text x="${L - 4}" y="${y + 4}" font-size="11" text-anchor="end">${+v.toPrecision(4)}</text>`;
  }
  for (let i = 0; i <= 4; i++) {
    const t = start + (end - start) * i / 4;
    svg += `<text x="${px(t)}" y="${H - 8}" font-size="11" text-anchor="middle">` +
           `${new Date(t * 1000).toISOString().slice(11, 19)}</text>`;
  }
  series.forEach((s, i) => {
    const pts = s.values.filter(([, v]) => isFinite(parseFloat(v)))
      .map(([t, v]) => `${px(t).toFixed(1)},${py(parseFloat(v)).toFixed(1)}`).join(" ");
    svg += `<polyline class="series" fill="none" stroke-width="1.5" stroke="${COLORS[i % COLORS.length]}" points="${pts}"/>`;
  });
  document.getElementById("graph").innerHTML = svg + "</svg>";
  document.getElementById("legend").innerHTML = series.map((s, i) =>
    `<span style="color:${COLORS[i % COLORS.length]}">&#9632; ${esc(seriesName(s.metric))}</span>`).join("");
}

function setMode(m) {
  mode = m;
  document.getElementById("tab-table").classList.toggle("active", m === "table");
  document.getElementById("tab-graph").classList.toggle("active", m === "graph");
  document.getElementById("range-controls").hidden = m !== "graph";
}

document.addEventListener("DOMContentLoaded", () => {
  const params = new URLSearchParams(location.search);
  if (params.get("g0.expr")) document.getElementById("expr").value = params.get("g0.expr");
  document.getElementById("execute").addEventListener("click", execute);
  document.getElementById("tab-table").addEventListener("click", () => { setMode("table"); execute(); });
  document.getElementById("tab-graph").addEventListener("click", () => { setMode("graph"); execute(); });
  document.getElementById("expr").addEventListener("keydown", e => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); execute(); }
  });
  setMode(params.get("g0.tab") === "0" ? "graph" : "table");
});
