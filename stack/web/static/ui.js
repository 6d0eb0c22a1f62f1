// Shared helpers of the status pages and the expression browser: every page is a client of API v1.
"use strict";

const NAV = [["/graph", "Graph"], ["/alerts", "Alerts"], ["/rules", "Rules"], ["/targets", "Targets"],
             ["/status", "Status"]];

function renderNav() {
  const nav = document.createElement("nav");
  nav.innerHTML = '<a class="brand" href="/graph">Prometheus (workshop)</a>' +
    NAV.map(([href, text]) => `<a href="${href}">${text}</a>`).join("");
  document.body.prepend(nav);
}

class ApiError extends Error {
  constructor(errorType, message) { super(message); this.errorType = errorType; }
}

// GET an API v1 endpoint; resolves to `data`, rejects with ApiError carrying the server's message.
async function api(path, params = {}) {
  const qs = new URLSearchParams(params).toString();
  const resp = await fetch(`/api/v1/${path}${qs ? "?" + qs : ""}`);
  let body;
  try { body = await resp.json(); } catch (e) { throw new ApiError("internal", `HTTP ${resp.status}`); }
  if (body.status !== "success") throw new ApiError(body.errorType, body.error);
  return body.data;
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                                                 "'": "&#39;"}[c]));
}

// Series notation as Prometheus prints it: name{a="b", c="d"}.
function seriesName(metric) {
  const name = metric.__name__ || "";
  const rest = Object.keys(metric).filter(k => k !== "__name__").sort()
    .map(k => `${k}="${metric[k]}"`).join(", ");
  return rest || !name ? `${name}{${rest}}` : name;
}

function showError(el, err) {
  el.textContent = err.errorType ? `Error executing query (${err.errorType}): ${err.message}` : String(err);
  el.hidden = false;
}

document.addEventListener("DOMContentLoaded", renderNav);
