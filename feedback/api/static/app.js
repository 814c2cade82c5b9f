// The feedback web page: search with filters, a topic x time chart split by sentiment,
// and the open alerts. Plain JS + SVG, no dependencies, nothing fetched from outside.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const SENTIMENTS = ["negative", "neutral", "positive"];
const state = { page: 1, size: 20, total: 0 };
const KEY = "feedback-api-key";

// The API key lives in this tab's sessionStorage only; every request sends it as a Bearer token.
class Unauthorized extends Error {}

function showGate(message) {
  sessionStorage.removeItem(KEY);
  $("#app").hidden = true;
  $("#key-forget").hidden = true;
  $("#key-gate").hidden = false;
  if (message) $("#key-status").textContent = message;
  $("#api-key").focus();
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function getJSON(path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of params) if (v !== "" && v !== null && v !== undefined) qs.append(k, v);
  const res = await fetch(`${path}?${qs}`, { headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` } });
  const body = await res.json();
  if (res.status === 401) {
    showGate(`The API key was refused: ${body.detail || "unknown or revoked"}. Enter a valid key.`);
    throw new Unauthorized(body.detail || "API key refused");
  }
  if (!res.ok) {
    const detail = Array.isArray(body.detail) ? body.detail.map((d) => `${d.loc.slice(-1)}: ${d.msg}`).join("; ") : body.detail;
    throw new Error(detail || `HTTP ${res.status}`);
  }
  return body;
}

function fillDepartments(facets) {
  const names = Object.keys((facets && facets.department) || {}).sort();
  for (const select of document.querySelectorAll('select[name="department"]')) {
    const keep = select.value;
    for (const name of names) {
      if (![...select.options].some((o) => o.value === name)) select.append(el("option", { value: name }, name));
    }
    select.value = keep;
  }
}

// Highlights come from Elasticsearch HTML-escaped (encoder: html) with <mark> tags only;
// everything else is set as text.
function renderHit(hit) {
  const li = el("li", { class: "hit", "data-id": hit.id });
  const meta = el("div", { class: "meta" });
  // The primary topic (what routed it), then any secondary topic kept on the document.
  const topic = [hit.topic, ...(hit.topics || []).filter((t) => t !== hit.topic)].join(" + ");
  for (const [cls, label] of [[hit.sentiment, hit.sentiment], ["", topic], ["", hit.department], ["", hit.channel], ["", hit.language]]) {
    meta.append(el("span", { class: `tag ${cls}` }, label));
  }
  meta.append(document.createTextNode(new Date(hit.received_at).toISOString().slice(0, 16).replace("T", " ")));
  li.append(meta);
  if (hit.subject) li.append(el("div", { class: "subject", dir: "auto" }, hit.subject));
  const text = el("p", { class: "text", dir: "auto", lang: hit.language });
  if (hit.highlights.length) text.innerHTML = hit.highlights.join(" … ");
  else text.textContent = hit.text.length > 300 ? `${hit.text.slice(0, 300)}…` : hit.text;
  li.append(text);
  return li;
}

async function runSearch(page = 1) {
  const form = $("#search-form");
  const params = [...new FormData(form).entries()];
  params.push(["page", page], ["size", state.size]);
  $("#search-status").textContent = "searching…";
  try {
    const data = await getJSON("/search", params);
    state.page = data.page; state.total = data.total;
    const list = $("#results");
    list.replaceChildren(...data.hits.map(renderHit));
    list.start = (data.page - 1) * data.size + 1;
    const last = Math.min(data.page * data.size, data.total);
    $("#search-status").textContent = data.total
      ? `${data.total} result(s), showing ${list.start}–${last} (${data.took_ms} ms)` : "no results";
    $("#prev").disabled = data.page <= 1;
    $("#next").disabled = last >= data.total;
    fillDepartments(data.facets);
    document.body.dataset.searched = String(Number(document.body.dataset.searched || 0) + 1);
  } catch (err) {
    $("#search-status").textContent = `error: ${err.message}`;
  }
}

function drawTopic(topic, maxTotal) {
  const W = 1000, H = 120, left = 150, top = 18, bottom = 18;
  const n = Math.max(topic.buckets.length, 1);
  const bw = (W - left - 10) / n;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", class: "topic-chart", "data-topic": topic.topic });
  const change = topic.change_pct === null ? "new" : `${topic.change_pct > 0 ? "+" : ""}${topic.change_pct}%`;
  root.append(svg("text", { x: 0, y: 14, class: "title" }, `${topic.topic}`));
  root.append(svg("text", { x: 0, y: 30, class: "axis" }, `${topic.total} (prev ${topic.previous_total}, ${change})`));
  const scale = (H - top - bottom) / Math.max(maxTotal, 1);
  root.append(svg("text", { x: left - 6, y: top + 8, class: "axis", "text-anchor": "end" }, `max ${maxTotal}`));
  root.append(svg("line", { x1: left, x2: W - 10, y1: H - bottom, y2: H - bottom, stroke: "#c5cad3" }));
  topic.buckets.forEach((b, i) => {
    let y = H - bottom;
    for (const s of SENTIMENTS) {
      const count = b.sentiment[s] || 0;
      if (!count) continue;
      const h = count * scale;
      y -= h;
      const rect = svg("rect", { x: left + i * bw + 1, y, width: Math.max(bw - 2, 1), height: h, class: `bar ${s}` });
      rect.append(svg("title", {}, `${b.start}: ${count} ${s}`));
      root.append(rect);
    }
  });
  const first = topic.buckets[0], lastB = topic.buckets[topic.buckets.length - 1];
  if (first) root.append(svg("text", { x: left, y: H - 4, class: "axis" }, first.start.slice(0, 16).replace("T", " ")));
  if (lastB && n > 1) root.append(svg("text", { x: W - 10, y: H - 4, class: "axis", "text-anchor": "end" }, lastB.start.slice(0, 16).replace("T", " ")));
  return root;
}

async function runTrends() {
  const params = [...new FormData($("#trends-form")).entries()];
  $("#trends-status").textContent = "loading…";
  try {
    const data = await getJSON("/trends", params);
    const max = Math.max(1, ...data.topics.flatMap((t) => t.buckets.map((b) => b.total)));
    $("#chart").replaceChildren(...data.topics.filter((t) => t.total).map((t) => drawTopic(t, max)));
    $("#trends-status").textContent = `${data.total} item(s) from ${data.since.slice(0, 16)} to ${data.until.slice(0, 16)} ` +
      `(previous period ${data.previous_total}), per ${data.interval}`;
    document.body.dataset.charted = String(Number(document.body.dataset.charted || 0) + 1);
  } catch (err) {
    $("#trends-status").textContent = `error: ${err.message}`;
  }
}

async function loadAlerts() {
  const list = $("#alert-list");
  try {
    const data = await getJSON("/alerts", []);
    list.replaceChildren(...(data.alerts.length ? data.alerts.map((a) => el("li", { class: "alert" },
      `${a.topic}${a.department ? ` (${a.department})` : ""}: ${a.count} in ${a.window_seconds / 60} min from ` +
      `${a.window_start.slice(0, 16).replace("T", " ")}, baseline ${a.baseline.toFixed(1)}, p=${a.p_value.toExponential(1)}`))
      : [el("li", { class: "muted" }, "no open alerts")]));
  } catch (err) {
    list.replaceChildren(el("li", { class: "muted" }, `alerts unavailable: ${err.message}`));
  }
}

function start() {
  $("#key-gate").hidden = true;
  $("#app").hidden = false;
  $("#key-forget").hidden = false;
  runSearch(1); runTrends(); loadAlerts();
}

$("#key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const key = $("#api-key").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY, key);
  $("#api-key").value = "";
  start();
});
$("#key-forget").addEventListener("click", () => showGate("Signed out: the key was removed from this tab."));
$("#search-form").addEventListener("submit", (e) => { e.preventDefault(); runSearch(1); });
for (const sel of $("#search-form").querySelectorAll("select")) sel.addEventListener("change", () => runSearch(1));
$("#prev").addEventListener("click", () => runSearch(state.page - 1));
$("#next").addEventListener("click", () => runSearch(state.page + 1));
$("#trends-form").addEventListener("submit", (e) => { e.preventDefault(); runTrends(); });
$("#trends-form").querySelector("select[name=department]").addEventListener("change", runTrends);
if (sessionStorage.getItem(KEY)) start(); else showGate();
