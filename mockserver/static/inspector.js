// The inspector's script: polls the mock's admin endpoints while the tab is visible and renders
// what they answer. Every value is put into the page as text (textContent), never as HTML: the
// journal holds whatever clients sent. What is secret is masked before it is shown.
"use strict";

const cfg = JSON.parse(document.getElementById("inspector-config").textContent);
const SENSITIVE = new Set(cfg.sensitive_headers);
const BACK_OFF = 5;  // the pause after a poll: at least this many times as long as the poll took
const KEPT_ATTEMPTS = 1000;  // delivery attempts the page keeps (the mock keeps its own bounded log)
const state = {
  journal: new Map(),      // entry id -> {sig, el}
  deliveries: new Map(),   // record id -> record
  deliveryEls: new Map(),  // EventId -> {sig, el}
  lastDelivery: 0,         // the cursor: the highest delivery record id seen
  journalSig: "",
  webhooksSig: "",
  timer: null,
  busy: false,
};

// -- small helpers -----------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function badge(text, kind) {
  return el("span", { class: `badge ${kind || ""}`, text });
}

function statusKind(status) {
  if (status === null || status === undefined) return "pending";
  if (status >= 500) return "bad";
  if (status >= 400) return "warn";
  return "good";
}

// A copy of a value with every Secret and every credential header masked, at any depth.
function masked(value) {
  if (Array.isArray(value)) return value.map(masked);
  if (value && typeof value === "object") {
    const out = {};
    for (const [key, item] of Object.entries(value)) {
      const name = key.toLowerCase();
      out[key] = (name === "secret" || SENSITIVE.has(name)) && item !== null ? cfg.mask : masked(item);
    }
    return out;
  }
  return maskedUrl(value);
}

// A text with the user:password@ of every URL in it masked (a TargetUrl, a body sent as text).
function maskedUrl(url) {
  return typeof url === "string" ? url.replace(/(:\/\/)[^/?#@\s'"<>]+@/g, `$1${cfg.mask}@`) : url;
}

function pretty(value) {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "string") {
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch (_) { return value; }
  }
  return JSON.stringify(value, null, 2);
}

function block(title, content) {
  if (content === "" || content === null || content === undefined) return null;
  return el("div", { class: "block" }, el("h4", { text: title }), el("pre", { text: content }));
}

function list(title, items, kind) {
  if (!items || !items.length) return null;
  return el("div", { class: `block ${kind || ""}` }, el("h4", { text: title }),
    el("ul", {}, items.map((item) => el("li", { text: item }))));
}

function headersText(headers) {
  return Object.entries(masked(headers || {})).map(([k, v]) => `${k}: ${v}`).join("\n");
}

function clock(date) {
  return date.toTimeString().slice(0, 8);
}

async function call(method, url, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let value = null;
  try { value = text ? JSON.parse(text) : null; } catch (_) { value = text; }
  if (!response.ok) {
    const detail = value && typeof value === "object"
      ? [value.Message, value.MessageDetail, ...Object.entries(value.ModelState || {}).map(([k, v]) => `${k}: ${v}`)]
        .filter(Boolean).join(" ")
      : String(value || "");
    const error = new Error(`${response.status} ${detail}`.trim());
    error.status = response.status;
    throw error;
  }
  return value;
}

// -- the journal -------------------------------------------------------------------------------

function shellQuote(text) {
  return `'${String(text).replace(/'/g, `'\\''`)}'`;
}

// A curl command that sends the request again, credentials masked (the journal holds them so).
function curlOf(entry) {
  const query = new URLSearchParams(masked(entry.query || {})).toString();
  const parts = [`curl -X ${entry.method} ${shellQuote(location.origin + entry.path + (query ? `?${query}` : ""))}`];
  const headers = masked(entry.headers || {});
  let note = "";
  let data = null;
  if (entry.body !== null && entry.body !== undefined) {
    data = typeof entry.body === "string" ? maskedUrl(entry.body) : JSON.stringify(masked(entry.body));
    const type = Object.entries(headers).find(([k]) => k.toLowerCase() === "content-type");
    if (typeof entry.body !== "string" && type && !/json/i.test(type[1])) {
      note = `# the body as the mock read it (sent as ${type[1]}), re-encoded as JSON\n`;
      headers[type[0]] = "application/json";
    }
  }
  for (const [name, value] of Object.entries(headers)) {
    if (["host", "content-length", "connection"].includes(name.toLowerCase())) continue;
    parts.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  }
  if (data !== null) parts.push(`--data-binary ${shellQuote(data)}`);
  return note + parts.join(" \\\n  ");
}

function journalEntry(entry) {
  const violations = entry.violations.length + entry.response_violations.length;
  const face = cfg.faces[entry.operation] || "no operation";
  const summary = el("summary", {},
    el("span", { class: "id", text: `#${entry.id}` }),
    entry.time ? el("span", { class: "time", text: entry.time.replace("T", " ").replace("+00:00", "Z") }) : null,
    el("span", { class: "call", text: `${entry.method} ${entry.path}` }),
    el("span", { class: "op", text: `${face} · ${entry.operation || "(no operation)"}` }),
    badge(entry.status === null ? "…" : entry.status, statusKind(entry.status)),
    badge(entry.verdict, `verdict-${entry.verdict}`),
    violations ? badge(`${violations} violation${violations > 1 ? "s" : ""}`, "bad") : null);
  const query = Object.keys(entry.query || {}).length ? new URLSearchParams(masked(entry.query)).toString() : "";
  return el("details", { class: "entry", "data-id": entry.id }, summary,
    el("div", { class: "body" },
      list("Violations of the contract", entry.violations, "bad"),
      list("Read only leniently", entry.warnings, "warn"),
      list("The mock's answer broke the contract", entry.response_violations, "bad"),
      block("Request", `${entry.method} ${entry.path}${query ? `?${query}` : ""}\n${headersText(entry.headers)}`),
      block("Request body", pretty(masked(entry.body))),
      block("Answer", `${entry.status === null ? "pending" : entry.status} ${entry.verdict}` +
        (entry.duration_ms !== null ? ` in ${entry.duration_ms} ms` : "") +
        (entry.answer_type ? `\nContent-Type: ${entry.answer_type}` : "")),
      entry.answer !== null && entry.answer !== undefined ? block("Answer body", pretty(masked(entry.answer))) : null,
      el("div", { class: "block" }, el("h4", { text: "Send it again" }),
        el("pre", { class: "curl", text: curlOf(entry) }))));
}

function renderJournal(entries) {
  const box = document.getElementById("journal-list");
  const seen = new Set();
  const added = [];
  for (const entry of entries) {
    seen.add(entry.id);
    const sig = JSON.stringify(entry);
    const known = state.journal.get(entry.id);
    if (known && known.sig === sig) continue;
    const node = journalEntry(entry);
    if (known) {
      node.open = known.el.open;
      known.el.replaceWith(node);
    } else {
      added.push(node);
    }
    state.journal.set(entry.id, { sig, el: node });
  }
  for (const [id, known] of state.journal) {
    if (!seen.has(id)) { known.el.remove(); state.journal.delete(id); }
  }
  for (const node of added) box.prepend(node);  // oldest first in, so the newest ends on top
  document.getElementById("journal-count").textContent = `${entries.length} request${entries.length === 1 ? "" : "s"}`;
  box.classList.toggle("empty", entries.length === 0);
}

// -- deliveries --------------------------------------------------------------------------------

function attemptRow(record) {
  return el("li", { class: "attempt", "data-record": record.id },
    el("div", { class: "attempt-head" },
      el("span", { class: "id", text: `attempt ${record.attempt}` }),
      record.time ? el("span", { class: "time", text: record.time }) : null,
      badge(record.status === null ? "not posted" : record.status, statusKind(record.status)),
      badge(record.outcome, `outcome-${record.outcome}`),
      el("span", { class: "message", text: maskedUrl(record.message) })),
    el("details", {}, el("summary", { text: "request" }),
      block("Headers", headersText(record.headers)),
      block("Body", pretty(masked(record.body)))));
}

function deliveryGroup(records) {
  const last = records[records.length - 1];
  const button = el("button", { type: "button", class: "redeliver", "data-record": last.id, text: "Redeliver" });
  button.addEventListener("click", () => redeliver(last.id, button));
  return el("article", { class: "delivery", "data-event-id": last.event_id },
    el("div", { class: "delivery-head" },
      el("strong", { text: last.event }),
      el("span", { text: `webhook ${last.webhook_id ?? "?"}` }),
      el("span", { class: "target", text: maskedUrl(last.target) || "" }),
      badge(last.outcome, `outcome-${last.outcome}`),
      button),
    el("ol", { class: "attempts" }, records.map(attemptRow)),
    el("p", { class: "message", role: "alert" }));
}

function renderDeliveries(fresh) {
  for (const record of fresh) {
    state.deliveries.set(record.id, record);
    state.lastDelivery = Math.max(state.lastDelivery, record.id);
  }
  for (const id of state.deliveries.keys()) {  // the oldest go, as they do from the mock's own log
    if (state.deliveries.size <= KEPT_ATTEMPTS) break;
    state.deliveries.delete(id);
  }
  const groups = new Map();
  for (const record of [...state.deliveries.values()].sort((a, b) => a.id - b.id)) {
    if (!groups.has(record.event_id)) groups.set(record.event_id, []);
    groups.get(record.event_id).push(record);
  }
  const box = document.getElementById("deliveries-list");
  for (const [eventId, known] of state.deliveryEls) {
    if (!groups.has(eventId)) { known.el.remove(); state.deliveryEls.delete(eventId); }
  }
  const ordered = [...groups.entries()].sort((a, b) => b[1][b[1].length - 1].id - a[1][a[1].length - 1].id);
  ordered.forEach(([eventId, records], index) => {
    const sig = records.map((r) => r.id).join(",");
    let known = state.deliveryEls.get(eventId);
    if (!known || known.sig !== sig) {
      const node = deliveryGroup(records);
      if (known) known.el.replaceWith(node);
      known = { sig, el: node };
      state.deliveryEls.set(eventId, known);
    }
    if (box.children[index] !== known.el) box.insertBefore(known.el, box.children[index] || null);
  });
  const attempts = state.deliveries.size;
  document.getElementById("deliveries-count").textContent =
    `${groups.size} event${groups.size === 1 ? "" : "s"}, ${attempts} attempt${attempts === 1 ? "" : "s"}`;
  box.classList.toggle("empty", attempts === 0);
}

async function redeliver(recordId, button) {
  const message = button.closest(".delivery").querySelector(".message");
  button.disabled = true;
  message.textContent = "";
  try {
    await call("POST", cfg.urls.redeliver.replace("{id}", recordId));
    await refresh();  // the new attempt arrives through the cursor, with any other news
  } catch (error) {
    message.textContent = `Not redelivered: ${error.message}`;
    button.disabled = false;
  }
}

// -- webhooks, faults, coverage ----------------------------------------------------------------

function renderWebhooks(rows) {
  const sig = JSON.stringify(rows);
  if (sig === state.webhooksSig) return;  // unchanged: an opened webhook stays open, a selection stays
  state.webhooksSig = sig;
  const body = document.querySelector("#webhooks-table tbody");
  const opened = new Set([...body.querySelectorAll("details[open]")].map((d) => d.closest("tr").dataset.webhook));
  body.replaceChildren(...rows.map(({ webhook, last_error: lastError }) => el("tr", { "data-webhook": webhook.WebhookId },
    el("td", { text: webhook.WebhookId }),
    el("td", {}, el("details", { class: "webhook", open: opened.has(String(webhook.WebhookId)) },
      el("summary", { text: webhook.Name ?? "(no name)" }),
      el("pre", { text: pretty(masked({ ...webhook, TargetUrl: maskedUrl(webhook.TargetUrl) })) }))),
    el("td", {}, badge(webhook.State ?? "", `state-${webhook.State}`)),
    el("td", { text: webhook.Type ?? "" }),
    el("td", { text: (webhook.Events || []).join(", ") }),
    el("td", { class: "target", text: maskedUrl(webhook.TargetUrl) ?? "" }),
    el("td", { text: maskedUrl(lastError) ?? "" }))));
  document.getElementById("webhooks-count").textContent = `${rows.length}`;
}

function faultText(fault) {
  const parts = [];
  if (fault.status !== null) parts.push(`answer ${fault.status}`);
  if (fault.latency_ms !== null) {
    parts.push(Array.isArray(fault.latency_ms) ? `wait ${fault.latency_ms[0]}-${fault.latency_ms[1]} ms` : `wait ${fault.latency_ms} ms`);
  }
  parts.push(fault.count === null ? "on every call" : `on the next ${fault.count} call${fault.count === 1 ? "" : "s"}`);
  parts.push(fault.operations ? `of ${fault.operations.join(", ")}` : "of any operation");
  return parts.join(" ");
}

function renderFaults(faults) {
  const box = document.getElementById("faults-list");
  box.replaceChildren(...(faults.length ? faults.map((f) => el("li", { class: "fault", text: faultText(f) }))
    : [el("li", { class: "none", text: "No fault in force: the mock answers as SuperOffice does." })]));
}

function renderCoverage(coverage) {
  document.getElementById("coverage-summary").textContent =
    `${coverage.served} of ${coverage.declared} answers served (${(coverage.ratio * 100).toFixed(1)} %)`;
  const rows = coverage.operations.map((op) => el("tr", { "data-operation": op.operation },
    el("th", { scope: "row" }, el("div", { text: op.operation }), el("small", { text: `${op.method} ${op.path}` })),
    el("td", {}, el("div", { class: "cells" }, op.cells.map((cell) => el("span", {
      class: `cell ${cell.count ? "served" : "unserved"}`,
      title: `${cell.count} answer${cell.count === 1 ? "" : "s"}`,
      text: `${cell.status} ${cell.media_type || "(no body)"}${cell.count ? ` ×${cell.count}` : ""}`,
    }))))));
  const table = el("table", { class: "coverage" },
    el("thead", {}, el("tr", {}, el("th", { text: "operation" }), el("th", { text: "status × media type" }))),
    el("tbody", {}, rows));
  const undeclared = coverage.undeclared.length ? el("div", { class: "block warn" },
    el("h4", { text: "Served, but not declared by the contract" }),
    el("ul", {}, coverage.undeclared.map((u) =>
      el("li", { text: `${u.operation} ${u.status} ${u.media_type || "(no body)"} ×${u.count}` })))) : null;
  document.getElementById("coverage-body").replaceChildren(table, ...(undeclared ? [undeclared] : []));
}

// -- the fault form ----------------------------------------------------------------------------

function setUpFaultForm() {
  const form = document.getElementById("fault-form");
  const message = document.getElementById("fault-message");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fault = {};
    for (const name of ["status", "count", "latency_ms"]) {
      const value = form.elements[name].value.trim();
      if (value !== "") fault[name] = Number(value);
    }
    const operations = [...form.elements.operations.selectedOptions].map((o) => o.value);
    if (operations.length) fault.operations = operations;
    try {
      await call("POST", cfg.urls.faults, fault);
      message.textContent = "Fault set.";
      form.reset();
      await refresh();
    } catch (error) {
      message.textContent = `Not set: ${error.message}`;
    }
  });
  document.getElementById("fault-clear").addEventListener("click", async () => {
    try {
      await call("DELETE", cfg.urls.faults);
      message.textContent = "Faults cleared.";
      await refresh();
    } catch (error) {
      message.textContent = `Not cleared: ${error.message}`;
    }
  });
}

// -- polling -----------------------------------------------------------------------------------

function setLive(text, kind) {
  const live = document.getElementById("live");
  live.textContent = text;
  live.className = `live ${kind || ""}`;
}

async function refresh() {
  const [journal, fresh, webhooks, faults] = await Promise.all([
    call("GET", cfg.urls.journal),
    call("GET", `${cfg.urls.deliveries}?since=${state.lastDelivery}`),
    call("GET", cfg.urls.webhooks),
    call("GET", cfg.urls.faults),
  ]);
  renderJournal(journal);
  renderDeliveries(fresh);
  renderWebhooks(webhooks);
  renderFaults(faults);
  // coverage changes only with the journal: asked for again only when the journal did
  const journalSig = journal.map((e) => `${e.id}:${e.status}`).join(",");
  if (journalSig !== state.journalSig) {
    renderCoverage(await call("GET", cfg.urls.coverage));
    state.journalSig = journalSig;
  }
}

async function tick() {
  state.timer = null;
  if (document.hidden) { setLive("paused while the tab is hidden", "paused"); return; }
  let delay = cfg.poll_ms;
  if (!state.busy) {
    state.busy = true;
    const started = performance.now();
    try {
      await refresh();
      // a poll that kept the mock busy waits longer: the page takes at most a sixth of one thread
      delay = Math.min(Math.max(cfg.poll_ms, BACK_OFF * (performance.now() - started)), cfg.max_poll_ms);
      const slower = delay > cfg.poll_ms ? ` (every ${(delay / 1000).toFixed(1)} s: the mock is slow to answer)` : "";
      if (document.hidden) setLive("paused while the tab is hidden", "paused");  // hidden meanwhile
      else setLive(`live · updated ${clock(new Date())}${slower}`, "ok");
    } catch (error) {
      setLive(`cannot reach the mock: ${error.message}`, "error");
    } finally {
      state.busy = false;
    }
  }
  if (!document.hidden && state.timer === null) state.timer = setTimeout(tick, delay);
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(state.timer);
    state.timer = null;
    setLive("paused while the tab is hidden", "paused");
  } else if (state.timer === null) {
    tick();
  }
});

setUpFaultForm();
tick();
