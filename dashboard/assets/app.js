// courier dashboard: polls /api/state once a second and renders services,
// servers and traffic; edits and calls go through /api/update and /api/call.
"use strict";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const dash = { state: null, selected: null, firstRender: 0, describeCache: {} };
window.__dash = dash;

function token() { return $("token").value || sessionStorage.getItem("courier-token") || ""; }

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
    if (token()) opts.headers["X-Courier-Token"] = token();
  }
  let resp;
  try {
    resp = await fetch(path, opts);
  } catch (e) {
    return { ok: false, status: 0, data: { error: "the dashboard does not answer: " + e.message } };
  }
  let data = {};
  try { data = await resp.json(); } catch (e) { data = { error: resp.status + " " + resp.statusText }; }
  return { ok: resp.ok, status: resp.status, data };
}

// ---- charts ----

function fmt(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const s = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return s + (unit || "");
}

function svgLine(points, idx, cls, w, h, maxV) {
  const n = points.length;
  if (n === 0) return "";
  const xs = (i) => (n === 1 ? w : (i / (n - 1)) * w);
  let d = "";
  points.forEach((p, i) => {
    const v = p[idx];
    if (v === null) return;
    const y = h - 2 - (maxV > 0 ? (v / maxV) * (h - 4) : 0);
    d += (d ? " L" : "M") + xs(i).toFixed(1) + "," + y.toFixed(1);
  });
  return d ? `<path d="${d}" class="${cls}" fill="none" stroke-width="1.5"/>` : "";
}

function chart(points, series, cls) {
  let maxV = 0;
  for (const p of points) for (const [idx] of series) if (p[idx] !== null) maxV = Math.max(maxV, p[idx]);
  const w = 300, h = 70;
  const lines = series.map(([idx, color]) => svgLine(points, idx, "", w, h, maxV).replace('class=""', `stroke="${color}"`)).join("");
  return `<svg class="${cls}" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none">${lines}</svg>`;
}

// ---- services table ----

// metricsCell shows the traffic of one service on one server (the server's
// total when its metrics name no method of the service yet).
function metricsCell(key, svc) {
  const t = (dash.state.traffic || {})[key];
  if (!t || t.status === "pending") return `<span class="badge none">waiting</span>`;
  if (t.status !== "ok") return `<span class="badge none metrics-none" title="${esc(t.reason)}">no metrics</span>`;
  const series = (t.services || {})[svc] || (t.total.length ? t.total.map((p) => [p[0], 0, 0, null, null]) : []);
  const last = series.length ? series[series.length - 1] : null;
  const spark = chart(series, [[1, "#2f6fde"], [2, "#c0392b"]], "spark");
  if (!last) return `${spark} <span class="muted">first sample</span>`;
  return `${spark} <span class="rate">${fmt(last[1], "/s")}</span>` +
    ` <span class="${last[2] > 0 ? "err" : "muted"}">${fmt(last[2], " err/s")}</span>` +
    ` <span class="muted">p99 ${fmt(last[4], " ms")}</span>`;
}

function serverRow(svc, s, writable) {
  const f = s.fields || {};
  const sel = dash.selected && dash.selected.key === s.key ? " selected" : "";
  const geo = f.latitude || f.longitude ? `${esc(f.latitude)},${esc(f.longitude)}` : "";
  const other = Object.entries(f.other || {}).map(([k, v]) => `${esc(k)}=${esc(v)}`).join(" ");
  const actions = writable
    ? `<button class="toggle${f.active ? "" : " off"}" type="button">${f.active ? "Deactivate" : "Activate"}</button>` +
      ` <button class="edit" type="button">Edit</button>`
    : "";
  return `<tr class="server${f.active ? "" : " inactive"}${sel}" data-service="${esc(svc)}" data-key="${esc(s.key)}">` +
    `<td class="key">${esc(s.key)}</td>` +
    `<td><span class="badge state ${f.active ? "active" : "inactive"}">${f.active ? "active" : "inactive"}</span></td>` +
    `<td class="weight">${f.weight || ""}</td><td class="group">${esc(f.group)}</td>` +
    `<td class="tags wide">${esc((f.tags || []).join(","))}</td><td class="wide">${geo}</td>` +
    `<td class="muted wide">${other}${s.metadataError ? ` <span class="err">${esc(s.metadataError)}</span>` : ""}</td>` +
    `<td class="metrics">${metricsCell(s.key, svc)}</td>` +
    `<td class="actions">${actions} <button class="open" type="button">Open</button></td></tr>`;
}

function render() {
  const st = dash.state;
  $("source").textContent = st.source;
  $("updated").textContent = st.updated ? "listed " + new Date(st.updated).toLocaleTimeString() : "";
  $("token-box").hidden = !st.tokenRequired;
  document.querySelector("main").classList.toggle("with-detail", !!dash.selected);
  const banner = $("banner");
  banner.hidden = !st.error;
  banner.textContent = st.error ? "Registry problem: " + st.error + (st.updated ? " (showing the last list)" : "") : "";
  if (st.services.length === 0) {
    $("services").innerHTML = `<p class="muted" id="no-services">${st.error ? "nothing listed" : "no service registered"}</p>`;
    return;
  }
  const head = "<tr><th>server</th><th>state</th><th>weight</th><th>group</th><th class='wide'>tags</th><th class='wide'>geo</th><th class='wide'>other</th><th>traffic (calls/s, errors/s, p99)</th><th></th></tr>";
  $("services").innerHTML = st.services.map((svc) =>
    `<div class="service" data-service="${esc(svc.name)}"><h2>${esc(svc.name)} <span class="muted">${svc.servers.length} server(s)</span></h2>` +
    `<table>${head}${svc.servers.map((s) => serverRow(svc.name, s, st.writable)).join("")}</table></div>`).join("");
  if (!dash.firstRender) dash.firstRender = performance.now();
}

async function poll() {
  const r = await api("GET", "/api/state");
  if (r.ok) {
    dash.state = r.data;
    render();
  } else {
    const banner = $("banner");
    banner.hidden = false;
    banner.textContent = r.data.error || "the dashboard does not answer";
  }
  setTimeout(poll, 1000);
}

// ---- writes ----

function confirmWrite(text, diff) {
  return new Promise((resolve) => {
    const dlg = $("confirm-dialog");
    $("confirm-text").textContent = text;
    $("confirm-diff").textContent = diff;
    dlg.onclose = () => resolve(dlg.returnValue === "ok");
    dlg.returnValue = "";
    dlg.showModal();
  });
}

async function update(service, key, change, what) {
  const diff = Object.entries(change).map(([k, v]) => `${k} → ${JSON.stringify(v)}`).join("\n");
  if (!(await confirmWrite(`${what} ${key} (service ${service})?`, diff))) return;
  const r = await api("POST", "/api/update", { service, server: key, change, confirm: true });
  const banner = $("banner");
  if (!r.ok) {
    banner.hidden = false;
    banner.textContent = "Update failed: " + r.data.error;
    return;
  }
  const srv = findServer(service, key);
  if (srv) srv.metadata = r.data.metadata;
}

function findServer(service, key) {
  const svc = (dash.state.services || []).find((s) => s.name === service);
  return svc ? svc.servers.find((s) => s.key === key) : null;
}

function openEdit(service, key) {
  const s = findServer(service, key);
  if (!s) return;
  const f = s.fields;
  $("edit-title").textContent = `${key} (service ${service})`;
  $("edit-weight").value = f.weight || "";
  $("edit-group").value = f.group || "";
  $("edit-tags").value = (f.tags || []).join(",");
  const dlg = $("edit-dialog");
  dlg.returnValue = "";
  dlg.onclose = () => {
    if (dlg.returnValue !== "save") return;
    const change = {};
    const w = $("edit-weight").value.trim() === "" ? 0 : parseInt($("edit-weight").value, 10);
    if (w !== (f.weight || 0)) change.weight = w;
    if ($("edit-group").value !== (f.group || "")) change.group = $("edit-group").value;
    if ($("edit-tags").value !== (f.tags || []).join(",")) change.tags = $("edit-tags").value;
    if (Object.keys(change).length) update(service, key, change, "Change");
  };
  dlg.showModal();
}

$("services").addEventListener("click", (ev) => {
  const btn = ev.target.closest("button");
  const row = ev.target.closest("tr.server");
  if (!btn || !row) return;
  const { service, key } = row.dataset;
  if (btn.classList.contains("toggle")) {
    const s = findServer(service, key);
    const active = !(s && s.fields.active);
    update(service, key, { active }, active ? "Put back into rotation" : "Take out of rotation");
  } else if (btn.classList.contains("edit")) {
    openEdit(service, key);
  } else if (btn.classList.contains("open")) {
    select(service, key);
  }
});

$("token").addEventListener("change", () => sessionStorage.setItem("courier-token", $("token").value));
