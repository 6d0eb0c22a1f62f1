// Renderers of the status pages; each page names itself in <body data-page="...">.
"use strict";

function labelsText(labels) {
  return Object.keys(labels).sort().map(k => `${k}="${labels[k]}"`).join(", ");
}

function sinceText(iso) {
  if (!iso || iso.startsWith("0001-")) return "never";
  const secs = (Date.now() - Date.parse(iso)) / 1000;
  return `${secs.toFixed(1)}s ago`;
}

const RENDER = {
  async targets(el) {
    const data = await api("targets");
    const pools = {};
    for (const t of data.activeTargets) (pools[t.scrapePool] = pools[t.scrapePool] || []).push(t);
    const names = Object.keys(pools).sort();
    if (!names.length) { el.innerHTML = "<p>No targets.</p>"; return; }
    el.innerHTML = names.map(pool => {
      const ts = pools[pool], up = ts.filter(t => t.health === "up").length;
      return `<h2>${esc(pool)} (${up}/${ts.length} up)</h2><table><tr><th>Endpoint</th><th>State</th>` +
        "<th>Labels</th><th>Last Scrape</th><th>Scrape Duration</th><th>Error</th></tr>" +
        ts.map(t => `<tr class="target"><td>${esc(t.scrapeUrl)}</td>` +
          `<td class="${esc(t.health)}">${esc(t.health.toUpperCase())}</td><td>${esc(labelsText(t.labels))}</td>` +
          `<td>${esc(sinceText(t.lastScrape))}</td><td>${(t.lastScrapeDuration * 1000).toFixed(1)}ms</td>` +
          `<td class="last-error">${esc(t.lastError)}</td></tr>`).join("") + "</table>";
    }).join("");
  },

  async alerts(el) {
    const data = await api("rules", {type: "alert"});
    const rules = data.groups.flatMap(g => g.rules.map(r => ({...r, group: g.name, file: g.file})));
    if (!rules.length) { el.innerHTML = "<p>No alerting rules.</p>"; return; }
    el.innerHTML = rules.map(r => `<div class="alert-rule"><h3 class="${esc(r.state)}">${esc(r.name)} ` +
      `(${r.alerts.length} active) — ${esc(r.state.toUpperCase())}</h3><pre>${esc(ruleYaml(r))}</pre>` +
      (r.alerts.length ? "<table><tr><th>Labels</th><th>State</th><th>Active Since</th><th>Value</th></tr>" +
        r.alerts.map(a => `<tr><td>${esc(labelsText(a.labels))}</td><td class="${esc(a.state)}">` +
          `${esc(a.state.toUpperCase())}</td><td>${esc(a.activeAt)}</td><td>${esc(a.value)}</td></tr>`).join("") +
        "</table>" : "") + "</div>").join("");
  },

  async rules(el) {
    const data = await api("rules");
    if (!data.groups.length) { el.innerHTML = "<p>No rules.</p>"; return; }
    el.innerHTML = data.groups.map(g => `<h2>${esc(g.name)} <small>${esc(g.file)}, every ${g.interval}s, ` +
      `last evaluation ${esc(sinceText(g.lastEvaluation))}</small></h2><table><tr><th>Rule</th><th>State</th>` +
      "<th>Error</th><th>Last Evaluation</th><th>Evaluation Time</th></tr>" +
      g.rules.map(r => `<tr class="rule"><td><pre>${esc(ruleYaml(r))}</pre></td><td>${esc(r.health)}</td>` +
        `<td>${esc(r.lastError || "")}</td><td>${esc(sinceText(r.lastEvaluation))}</td>` +
        `<td>${(r.evaluationTime * 1000).toFixed(2)}ms</td></tr>`).join("") + "</table>").join("");
  },

  async status(el) {
    const [build, runtime, flags] = await Promise.all([api("status/buildinfo"), api("status/runtimeinfo"),
                                                       api("status/flags")]);
    const table = (title, obj) => `<h2>${title}</h2><table>` + Object.keys(obj).sort().map(k =>
      `<tr><th>${esc(k)}</th><td>${esc(obj[k])}</td></tr>`).join("") + "</table>";
    el.innerHTML = table("Runtime Information", runtime) + table("Build Information", build) +
      table("Command-Line Flags", flags);
  },
};

function ruleYaml(r) {
  let y = `${r.type === "alerting" ? "alert" : "record"}: ${r.name}\nexpr: ${r.query}\n`;
  if (r.duration) y += `for: ${r.duration}s\n`;
  if (r.labels && Object.keys(r.labels).length) y += "labels:\n" + Object.entries(r.labels).map(([k, v]) => `  ${k}: ${v}\n`).join("");
  if (r.annotations && Object.keys(r.annotations).length) y += "annotations:\n" + Object.entries(r.annotations).map(([k, v]) => `  ${k}: ${v}\n`).join("");
  return y;
}

document.addEventListener("DOMContentLoaded", async () => {
  const el = document.getElementById("content"), page = document.body.dataset.page;
  try { await RENDER[page](el); } catch (err) { showError(el, err); el.classList.add("error"); }
});
