// sluice's dashboard: one page, hash routes, every view drawn from the JSON the admin layer
// returns (GET /api/admin/<command>?<flag>=<value>), the analytics routes (/jobs) and
// /api/throughput. No external scripts: charts are plain SVG.
"use strict";

const view = document.getElementById("view");
let self = null;
let timer = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

async function api(path, method) {
  const r = await fetch(path, { method: method || "GET" });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch (_) { body = text; }
  if (!r.ok) throw new Error((body && body.error) || text || r.statusText);
  return body;
}

function query(params) {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v)).join("&");
}

const admin = (cmd, params) => api("/api/admin/" + cmd + "?" + query(params || {}));
const adminPost = (cmd, params) => api("/api/admin/" + cmd + "?" + query(params || {}), "POST");

function cell(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return el("pre", {}, JSON.stringify(v, null, 1));
  return String(v);
}

// Any JSON: arrays of objects as tables, objects as key/value tables, the rest as text.
function render(data, extra) {
  if (Array.isArray(data)) {
    if (data.length === 0) return el("p", { class: "muted" }, "(none)");
    if (typeof data[0] !== "object" || data[0] === null) return el("ul", {}, data.map((x) => el("li", {}, cell(x))));
    const keys = [...new Set(data.flatMap((r) => Object.keys(r)))];
    const head = el("tr", {}, keys.map((k) => el("th", {}, k)), extra ? el("th", {}, "") : null);
    const rows = data.map((r) => el("tr", {}, keys.map((k) => el("td", {}, cell(r[k]))), extra ? el("td", {}, extra(r)) : null));
    return el("table", {}, head, rows);
  }
  if (data && typeof data === "object") {
    return el("table", {}, Object.entries(data).map(([k, v]) =>
      el("tr", {}, el("th", {}, k), el("td", {}, typeof v === "object" && v !== null ? render(v) : cell(v)))));
  }
  return el("pre", {}, String(data));
}

function error(e) { return el("p", { class: "error" }, String(e.message || e)); }

async function section(title, load, extra) {
  const box = el("section", {}, el("h2", {}, title), el("p", { class: "muted" }, "Loading…"));
  view.append(box);
  try {
    const data = await load();
    box.lastChild.replaceWith(render(data, extra));
  } catch (e) {
    box.lastChild.replaceWith(error(e));
  }
  return box;
}

// A form of text inputs; `prefill` (from the address, e.g. #/messages/t=T&k=K) fills the inputs
// and submits at once when it names every field, so a view can be linked to.
function form(label, fields, submit, prefill) {
  const inputs = fields.map(([name, placeholder, value]) =>
    el("input", { name, placeholder, value: (prefill && prefill.get(name)) || value || "" }));
  const out = el("div", {});
  const go = async () => {
    const values = Object.fromEntries(inputs.map((i) => [i.name, i.value.trim()]));
    out.replaceChildren(el("p", { class: "muted" }, "Working…"));
    try { out.replaceChildren(await submit(values)); } catch (e) { out.replaceChildren(error(e)); }
  };
  const f = el("form", { onsubmit: (ev) => { ev.preventDefault(); go(); } },
    el("strong", {}, label), inputs, el("button", { type: "submit" }, "Go"));
  if (prefill && fields.every(([name]) => prefill.has(name))) pending.push(go());
  return [f, out];
}

// Submissions started by a prefilled form; the view is ready once they are done.
let pending = [];
const params = (arg) => new URLSearchParams(arg || "");

const ok = (text) => el("p", { class: "ok" }, text);

// --- views -------------------------------------------------------------------------------

async function cluster() {
  await section("This broker", async () => self);
  await section("Cluster (clusterList)", () => admin("clusterList"));
  await section("Replication (haStatus)", () => admin("haStatus", { c: self.cluster }));
  await section("Broker status (brokerStatus)", () => admin("brokerStatus", { b: self.brokerAddr }));
}

async function topics() {
  view.append(el("h2", {}, "Create or update a topic"));
  view.append(...form("updateTopic", [["t", "topic"], ["r", "read queues", "4"], ["w", "write queues", "4"]], async (v) => {
    await adminPost("updateTopic", { b: self.brokerAddr, t: v.t, r: v.r, w: v.w });
    setTimeout(route, 300);
    return ok("Topic " + v.t + " created or updated.");
  }));
  await section("Topics (topicList)", () => admin("topicList"), (r) => {
    const name = typeof r === "string" ? r : (r.topic || r.name);
    return el("a", { href: "#/topic/" + encodeURIComponent(name) }, "status");
  });
}

async function topic(name) {
  view.append(el("h2", {}, "Topic " + name));
  view.append(el("button", { onclick: async () => {
    if (!confirm("Delete topic " + name + "?")) return;
    try { await adminPost("deleteTopic", { c: self.cluster, t: name }); location.hash = "#/topics"; }
    catch (e) { view.append(error(e)); }
  } }, "Delete topic"));
  await section("Queues: min/max offsets (topicStatus)", () => admin("topicStatus", { t: name }));
  await section("Route (topicRoute)", () => admin("topicRoute", { t: name }));
}

async function groups() {
  await section("Consumer groups (consumerProgress)", () => admin("consumerProgress"), (r) =>
    el("a", { href: "#/group/" + encodeURIComponent(r.group || r.consumerGroup || "") }, "details"));
}

async function group(name) {
  view.append(el("h2", {}, "Consumer group " + name));
  view.append(...form("Reset offset (resetOffsetByTime)", [["t", "topic"], ["s", "time: now, or yyyy-MM-dd#HH:mm:ss:SSS", "now"]], async (v) => {
    const out = await adminPost("resetOffsetByTime", { g: name, t: v.t, s: v.s });
    return render(out);
  }));
  await section("Lag per queue (consumerProgress)", () => admin("consumerProgress", { g: name }));
  await section("Connections (consumerConnection)", () => admin("consumerConnection", { g: name }));
}

function resend(m) {
  return el("button", { onclick: async (ev) => {
    const topic = (m.properties && m.properties.RETRY_TOPIC) || m.topic;
    try {
      await adminPost("sendMessage", { t: topic, p: m.body, k: m.keys, c: m.tags });
      ev.target.replaceWith(ok("re-sent to " + topic));
    } catch (e) { ev.target.replaceWith(error(e)); }
  } }, "Resend");
}

async function messages(arg) {
  const p = params(arg);
  const results = el("div", {});
  const show = (data) => { results.replaceChildren(render(data, resend)); return ok("Found " + (Array.isArray(data) ? data.length : 1) + "."); };
  view.append(el("h2", {}, "Find messages"));
  view.append(...form("By key", [["t", "topic"], ["k", "key"]], async (v) => show(await admin("queryMsgByKey", { t: v.t, k: v.k })), p.has("k") ? p : null));
  view.append(...form("By id", [["i", "message id (offsetMsgId or UNIQ_KEY)"]], async (v) => show(await admin("queryMsgById", { i: v.i })), p));
  view.append(...form("By time", [["t", "topic"], ["b", "begin yyyy-MM-dd#HH:mm:ss:SSS"], ["e", "end"]], async (v) => show(await admin("printMsg", { t: v.t, b: v.b, e: v.e })), p.has("b") ? p : null));
  view.append(results);
}

async function dlq(arg) {
  const results = el("div", {});
  view.append(el("h2", {}, "Dead-letter queue of a group"));
  view.append(...form("Group", [["g", "consumer group"]], async (v) => {
    const data = await admin("printMsg", { t: "%DLQ%" + v.g });
    results.replaceChildren(render(data, resend));
    return ok((Array.isArray(data) ? data.length : 0) + " messages in %DLQ%" + v.g);
  }, params(arg)));
  view.append(results);
}

async function trace(arg) {
  view.append(el("h2", {}, "A message's life (queryMsgTraceById)"));
  // In time order (as the command sorts them), the time readable, the columns as mqadmin's.
  const when = (ms) => (ms ? new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC") : "");
  view.append(...form("Message id", [["i", "message id"]], async (v) => {
    const rows = await admin("queryMsgTraceById", { i: v.i });
    return render((Array.isArray(rows) ? rows : []).map((r) => ({
      time: when(r.time), type: r.type, group: r.group, clientHost: r.clientHost, costMs: r.costMs,
      status: r.status, topic: r.topic, tags: r.tags, keys: r.keys,
    })));
  }, params(arg)));
}

function bars(rows) {
  const w = 640, h = 24 * rows.length + 10;
  const max = Math.max(1, ...rows.map((r) => Number(r.value) || 0));
  const svg = svgEl("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img" });
  rows.forEach((r, i) => {
    const bw = ((Number(r.value) || 0) / max) * (w - 220);
    svg.append(svgEl("text", { x: 4, y: 24 * i + 20, "font-size": 12 }, String(r.key)));
    svg.append(svgEl("rect", { x: 150, y: 24 * i + 6, width: Math.max(bw, 1), height: 16, fill: "#3b82c4" }));
    svg.append(svgEl("text", { x: 156 + bw, y: 24 * i + 19, "font-size": 12 }, String(r.value)));
  });
  return svg;
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

async function analytics() {
  view.append(el("h2", {}, "Attach a job"));
  view.append(...form("Job", [["name", "name"], ["topic", "topic"], ["kind", "count | top_n | lag", "count"], ["by", "tag | key | topic", "tag"], ["window_ms", "window ms", "60000"]], async (v) => {
    const spec = { name: v.name, topic: v.topic, kind: v.kind, by: v.by, window_ms: Number(v.window_ms), start: "earliest" };
    const r = await fetch("/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(spec) });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error);
    setTimeout(route, 300);
    return ok("Attached " + v.name + ".");
  }));
  const jobs = await api("/jobs").catch((e) => { view.append(error(e)); return []; });
  await section("Jobs", async () => jobs, (j) => el("span", {},
    el("a", { href: "#/job/" + encodeURIComponent(j.name) }, "results"), " ",
    el("button", { onclick: async () => { await api("/jobs/" + encodeURIComponent(j.name), "DELETE"); route(); } }, "Detach")));
}

async function job(name) {
  view.append(el("h2", {}, "Job " + name));
  const box = el("div", {});
  view.append(box);
  const draw = async () => {
    try {
      const r = await api("/jobs/" + encodeURIComponent(name));
      const rows = r.rows || [];
      box.replaceChildren(bars(rows.slice(0, 20)), render(rows));
    } catch (e) { box.replaceChildren(error(e)); }
  };
  await draw();
  timer = setInterval(draw, 2000);
}

function lineChart(samples) {
  const w = 760, h = 260, pad = 40;
  const svg = svgEl("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img", id: "throughput-chart" });
  const max = Math.max(1, ...samples.map((s) => Math.max(s.inTps, s.outTps)));
  const x = (i) => pad + (i / Math.max(1, samples.length - 1)) * (w - 2 * pad);
  const y = (v) => h - pad - (v / max) * (h - 2 * pad);
  svg.append(svgEl("line", { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, stroke: "#999" }));
  svg.append(svgEl("text", { x: 4, y: pad, "font-size": 11 }, max.toFixed(0) + "/s"));
  for (const [key, color] of [["inTps", "#2b7bb9"], ["outTps", "#d9822b"]]) {
    const pts = samples.map((s, i) => x(i).toFixed(1) + "," + y(s[key]).toFixed(1)).join(" ");
    svg.append(svgEl("polyline", { points: pts, fill: "none", stroke: color, "stroke-width": 2 }));
  }
  svg.append(svgEl("text", { x: w - 200, y: 16, "font-size": 12, fill: "#2b7bb9" }, "in (stored)"));
  svg.append(svgEl("text", { x: w - 110, y: 16, "font-size": 12, fill: "#d9822b" }, "out (pulled)"));
  return svg;
}

async function throughput() {
  view.append(el("h2", {}, "Messages per second, last minutes"));
  const box = el("div", {});
  view.append(box);
  const draw = async () => {
    try {
      const s = await api("/api/throughput");
      const last = s.length ? s[s.length - 1] : { inTps: 0, outTps: 0 };
      const total = s.reduce((a, x) => a + x.inTps, 0);
      box.replaceChildren(lineChart(s), el("p", { id: "throughput-now" },
        "now: in " + last.inTps.toFixed(1) + "/s, out " + last.outTps.toFixed(1) + "/s; stored in the window: " + total.toFixed(0)));
    } catch (e) { box.replaceChildren(error(e)); }
  };
  await draw();
  timer = setInterval(draw, 2000);
}

const routes = { cluster, topics, topic, groups, group, messages, dlq, trace, analytics, job, throughput };

async function route() {
  if (timer) { clearInterval(timer); timer = null; }
  const path = location.hash.replace(/^#\/?/, "") || "cluster";
  const cut = path.indexOf("/");
  const name = cut < 0 ? path : path.slice(0, cut);
  const arg = cut < 0 ? undefined : path.slice(cut + 1);
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.getAttribute("href") === "#/" + name);
  view.replaceChildren();
  try {
    if (!self) {
      self = await api("/api/self");
      document.getElementById("who").textContent = self.brokerName + " @ " + self.brokerAddr + " (" + self.cluster + ", " + self.role + ")";
    }
    pending = [];
    await (routes[name] || cluster)(arg === undefined ? undefined : decodeURIComponent(arg));
    await Promise.all(pending);
  } catch (e) {
    view.append(error(e));
  }
  document.body.setAttribute("data-ready", name);
}

window.addEventListener("hashchange", route);
route();
