// courier dashboard: the detail pane of one server (traffic per method and
// the call form).
"use strict";

function servicesOf(key) {
  return (dash.state.services || []).filter((s) => s.servers.some((x) => x.key === key)).map((s) => s.name);
}

function select(service, key) {
  dash.selected = { service, key };
  $("detail").hidden = false;
  $("detail-title").textContent = key;
  const svcs = servicesOf(key);
  $("call-service").innerHTML = svcs.map((s) => `<option${s === service ? " selected" : ""}>${esc(s)}</option>`).join("");
  clearErrors();
  $("call-result").hidden = true;
  loadDescribe();
  loadTraffic();
  render();
}

async function loadTraffic() {
  const sel = dash.selected;
  if (!sel) return;
  const r = await api("GET", "/api/traffic?server=" + encodeURIComponent(sel.key));
  if (!dash.selected || dash.selected.key !== sel.key) return;
  if (!r.ok) {
    $("detail-metrics").textContent = r.data.error;
    $("charts").innerHTML = "";
  } else if (r.data.status !== "ok") {
    $("detail-metrics").textContent = r.data.status === "pending" ? "waiting for the first scrape" : "no metrics: " + (r.data.reason || "");
    $("charts").innerHTML = "";
  } else {
    $("detail-metrics").textContent = "from " + r.data.url;
    const methods = Object.keys(r.data.methods).sort();
    $("charts").innerHTML = methods.map((m) => {
      const ps = r.data.methods[m];
      const last = ps.length ? ps[ps.length - 1] : [0, null, null, null, null];
      return `<div class="charts-method" data-method="${esc(m)}"><h4>${esc(m)}</h4><div class="chart-grid">` +
        `<div><div class="chart-label">calls/s ${fmt(last[1])} · errors/s <span class="err">${fmt(last[2])}</span></div>${chart(ps, [[1, "#2f6fde"], [2, "#c0392b"]], "chart")}</div>` +
        `<div><div class="chart-label">p50 ${fmt(last[3], " ms")} · p99 ${fmt(last[4], " ms")}</div>${chart(ps, [[3, "#1f8a4c"], [4, "#b9770e"]], "chart")}</div>` +
        `</div></div>`;
    }).join("") || `<p class="muted">no calls yet</p>`;
  }
}

setInterval(loadTraffic, 2000);

function clearErrors() {
  for (const el of document.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of document.querySelectorAll(".invalid")) el.classList.remove("invalid");
}

function showError(field, msg) {
  const box = $("err-" + field) || $("err-call");
  box.textContent = msg;
  const input = $("call-" + (field === "timeoutMs" ? "timeout" : field === "metadata" ? "meta" : field));
  if (input) input.classList.add("invalid");
}

async function loadDescribe() {
  const sel = dash.selected;
  const service = $("call-service").value;
  if (!sel || !service) return;
  const r = await api("GET", `/api/describe?server=${encodeURIComponent(sel.key)}&service=${encodeURIComponent(service)}`);
  if (!r.ok) {
    $("call-method").innerHTML = "";
    $("call-schema").textContent = "";
    showError("call", "no reflection: " + r.data.error + " (type the method name below)");
    $("call-method").outerHTML = `<input id="call-method" name="method" placeholder="Method">`;
    return;
  }
  if ($("call-method").tagName !== "SELECT") $("call-method").outerHTML = `<select id="call-method" name="method"></select>`;
  dash.describe = r.data;
  const methods = r.data.methods || [];
  $("call-method").innerHTML = methods.map((m) => `<option>${esc(m.name)}</option>`).join("");
  $("call-method").onchange = fillArgs;
  fillArgs();
}

function fillArgs() {
  const m = ((dash.describe || {}).methods || []).find((x) => x.name === $("call-method").value);
  const schema = m && m.reqSchema ? m.reqSchema : null;
  $("call-schema").textContent = schema ? JSON.stringify(schema, null, 2) : "(no schema)";
  $("call-args").value = JSON.stringify(skeleton(schema, 0), null, 2);
}

// skeleton returns an example value of a JSON Schema.
function skeleton(s, depth) {
  if (!s || depth > 6) return {};
  const t = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (t) {
    case "object": {
      const o = {};
      for (const [k, v] of Object.entries(s.properties || {})) o[k] = skeleton(v, depth + 1);
      return o;
    }
    case "array": return [];
    case "string": return "";
    case "integer": case "number": return 0;
    case "boolean": return false;
    case "null": return null;
  }
  return {};
}

function parseMeta(text) {
  const md = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const i = line.indexOf("=");
    if (i <= 0) throw new Error(`"${line}" is not key=value`);
    md[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return md;
}

$("call-service").addEventListener("change", loadDescribe);
$("detail-close").addEventListener("click", () => { dash.selected = null; $("detail").hidden = true; render(); });

$("call-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors();
  $("call-result").hidden = true;
  const ser = $("call-ser").value;
  const args = $("call-args").value;
  if (ser !== "raw") {
    try { JSON.parse(args || "{}"); } catch (e) { showError("args", "invalid JSON: " + e.message); return; }
  }
  let metadata;
  try { metadata = parseMeta($("call-meta").value); } catch (e) { showError("metadata", e.message); return; }
  const req = { server: dash.selected.key, service: $("call-service").value, method: $("call-method").value,
    args, metadata, timeoutMs: parseInt($("call-timeout").value || "0", 10), serialize: ser };
  $("call-go").disabled = true;
  const r = await api("POST", "/api/call", req);
  $("call-go").disabled = false;
  if (!r.ok) { showError(r.data.field || "call", r.data.error); return; }
  const res = r.data;
  $("call-result").hidden = false;
  $("call-duration").textContent = fmt(res.durationMs, " ms");
  if (res.error) {
    $("call-status").innerHTML = `<span class="err" id="call-error">error ${esc(res.codeName)} (code ${res.code})</span>`;
    $("call-reply").textContent = res.error;
  } else {
    $("call-status").innerHTML = `<span class="ok">ok</span>`;
    $("call-reply").textContent = res.reply !== undefined ? JSON.stringify(res.reply, null, 2) : res.replyText;
  }
  const md = Object.entries(res.metadata || {});
  const hdr = Object.entries(res.headers || {}).filter(([k]) => k !== "X-RPCX-Meta");
  $("call-reply-meta").textContent = (md.length ? "reply metadata:\n" + md.map(([k, v]) => `  ${k}: ${v}`).join("\n") : "no reply metadata") +
    (hdr.length ? "\nframe:\n" + hdr.map(([k, v]) => `  ${k}: ${v}`).join("\n") : "");
});

poll();
