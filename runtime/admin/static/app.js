// The edgeworks data browser: plain DOM code over the admin API (no build step,
// no outside network). Every read and write goes through /__edgeworks/api.
"use strict";

const API = "/__edgeworks/api/storage/kv/namespaces";
const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

const state = { ns: null, prefix: "", cursors: [""], page: 0, next: "", key: null, item: null, binary: false };

class ApiError extends Error {}

function failure(response, body) {
  const errors = body && body.errors && body.errors.length ? body.errors : [{ code: response.status, message: response.statusText }];
  return new ApiError(errors.map((e) => `${e.message} [code: ${e.code}]`).join("\n"));
}

// One API call: the envelope on success, an ApiError with every error's message otherwise.
async function call(url, options = {}) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => null);
  if (!body || !body.success) throw failure(response, body);
  return body;
}

const api = (path, options) => call(API + path, options);

function show(message, kind = "error") {
  const status = $("status");
  status.textContent = message;
  status.className = kind === "info" ? "info" : "";
  status.hidden = !message;
}

function guarded(fn) {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      show(err instanceof ApiError ? err.message : String(err));
    }
  };
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

function duration(seconds) {
  const units = [[86400, "d"], [3600, "h"], [60, "m"], [1, "s"]];
  const [size, unit] = units.find(([s]) => seconds >= s) || [1, "s"];
  return `${Math.floor(Math.max(seconds, 0) / size)}${unit}`;
}

function relative(expiration) {
  const seconds = expiration - Date.now() / 1000;
  return seconds <= 0 ? "expired" : `in ${duration(seconds)}`;
}

function when(expiration) {
  if (!expiration) return "never";
  const date = new Date(expiration * 1000).toISOString().replace(".000Z", "Z");
  return `${date} (${relative(expiration)})`;
}

// --- namespaces --------------------------------------------------------------------

async function loadNamespaces() {
  const list = $("namespaces");
  const { result } = await api("?per_page=1000&order=title");
  list.replaceChildren();
  for (const ns of result) {
    const count = el("span", { className: "count", textContent: "…" });
    const button = el("button", { type: "button", title: ns.id }, el("span", { textContent: ns.title }), count);
    button.dataset.ns = ns.id;
    button.addEventListener("click", guarded(() => openNamespace(ns)));
    list.append(el("li", {}, button));
    api(`/${enc(ns.id)}/count`).then(
      ({ result: c }) => { count.textContent = `${c.count}${c.complete ? "" : "+"} ${c.count === 1 && c.complete ? "key" : "keys"}`; },
      () => { count.textContent = "?"; },
    );
  }
  if (!result.length) list.append(el("li", { textContent: "No namespaces yet." }));
  if (state.ns) {
    const again = result.find((ns) => ns.id === state.ns.id);
    if (again) markActive(again.id);
  }
}

function markActive(id) {
  for (const b of document.querySelectorAll("#namespaces button")) b.classList.toggle("active", b.dataset.ns === id);
}

async function openNamespace(ns) {
  state.ns = ns;
  markActive(ns.id);
  $("ns-title").textContent = ns.title === ns.id ? ns.id : `${ns.title} (${ns.id})`;
  $("namespace").hidden = false;
  closeDetail();
  $("prefix").value = "";
  await search("");
}

// --- keys ----------------------------------------------------------------------------

async function search(prefix) {
  state.prefix = prefix;
  state.cursors = [""];
  state.page = 0;
  await loadPage();
}

async function loadPage() {
  const limit = $("page-size").value;
  const cursor = state.cursors[state.page];
  const query = `?prefix=${enc(state.prefix)}&limit=${limit}` + (cursor ? `&cursor=${enc(cursor)}` : "");
  const { result, result_info: info } = await api(`/${enc(state.ns.id)}/keys${query}`);
  const body = $("keys").tBodies[0];
  body.replaceChildren();
  for (const item of result) {
    const meta = item.metadata === undefined ? "" : JSON.stringify(item.metadata);
    const row = el("tr", {},
      el("td", { textContent: item.name, title: item.name }),
      el("td", { textContent: item.expiration ? relative(item.expiration) : "never", title: when(item.expiration) }),
      el("td", { textContent: meta, title: meta }));
    row.dataset.key = item.name;
    row.addEventListener("click", guarded(() => openKey(item)));
    body.append(row);
  }
  state.next = info.cursor;
  $("empty").hidden = result.length > 0;
  $("prev").disabled = state.page === 0;
  $("next").disabled = !info.cursor;
  $("page-label").textContent = `page ${state.page + 1} · ${result.length} keys`;
}

async function nextPage() {
  if (!state.next) return;
  state.cursors[state.page + 1] = state.next;
  state.page += 1;
  await loadPage();
}

async function prevPage() {
  if (state.page === 0) return;
  state.page -= 1;
  await loadPage();
}

// --- one key -----------------------------------------------------------------------

const IMAGE_TYPES = [
  [[0x89, 0x50, 0x4e, 0x47], "image/png"],
  [[0xff, 0xd8, 0xff], "image/jpeg"],
  [[0x47, 0x49, 0x46, 0x38], "image/gif"],
  [[0x52, 0x49, 0x46, 0x46], "image/webp"],
];

function imageType(bytes) {
  for (const [magic, type] of IMAGE_TYPES) {
    if (magic.every((b, i) => bytes[i] === b)) return type;
  }
  return null;
}

function hexSummary(bytes) {
  const head = Array.from(bytes.slice(0, 64), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return `${bytes.length} bytes: ${head}${bytes.length > 64 ? " …" : ""}`;
}

async function openKey(item) {
  const response = await fetch(`${API}/${enc(state.ns.id)}/values/${enc(item.name)}`);
  if (!response.ok) throw failure(response, await response.json().catch(() => null));
  const bytes = new Uint8Array(await response.arrayBuffer());
  state.key = item.name;
  state.item = item;
  $("detail-key").textContent = item.name;
  $("detail-size").textContent = `${bytes.length} bytes`;
  const expiration = Number(response.headers.get("expiration")) || item.expiration;
  $("detail-expiration").textContent = when(expiration);
  $("detail-metadata").textContent = item.metadata === undefined ? "none" : JSON.stringify(item.metadata, null, 2);
  const value = $("detail-value");
  value.replaceChildren();
  state.text = null;
  let kind;
  const image = imageType(bytes);
  if (image) {
    kind = "image";
    const url = URL.createObjectURL(new Blob([bytes], { type: image }));
    value.append(el("img", { src: url, alt: item.name }));
  } else {
    try {
      state.text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      try {
        value.append(el("pre", { textContent: JSON.stringify(JSON.parse(state.text), null, 2) }));
        kind = "JSON";
      } catch {
        value.append(el("pre", { textContent: state.text }));
        kind = "text";
      }
    } catch {
      kind = "bytes";
      value.append(el("pre", { textContent: hexSummary(bytes) }));
    }
  }
  $("detail-kind").textContent = `(${kind})`;
  $("detail").hidden = false;
  // On a phone the panel sits below the keys: bring it into view.
  $("detail").scrollIntoView({ block: "nearest" });
}

function closeDetail() {
  $("detail").hidden = true;
  state.key = null;
}

// --- create, edit, delete ------------------------------------------------------------

function openEditor(editing) {
  const item = editing ? state.item : null;
  $("editor-title").textContent = item ? "Edit key" : "New key";
  $("edit-name").value = item ? item.name : state.prefix;
  $("edit-name").readOnly = Boolean(item);
  const binary = Boolean(item) && state.text === null;
  $("edit-value").value = item && !binary ? state.text : "";
  $("edit-value").hidden = binary;
  $("edit-binary").hidden = !binary;
  $("edit-file").value = "";
  $("edit-metadata").value = item && item.metadata !== undefined ? JSON.stringify(item.metadata) : "";
  const left = item && item.expiration ? Math.round(item.expiration - Date.now() / 1000) : "";
  $("edit-ttl").value = left && left >= 60 ? String(left) : "";
  $("edit-error").hidden = true;
  state.binary = binary;
  $("editor").showModal();
}

const MIN_TTL = 60; // seconds: KV's minimum expiration_ttl

function checkInput(ttl, metadata) {
  if (ttl && !(/^\d+$/.test(ttl) && Number(ttl) >= MIN_TTL)) {
    return `Invalid expiration_ttl of ${ttl}. Expiration TTL must be at least ${MIN_TTL}.`;
  }
  if (metadata) {
    try {
      JSON.parse(metadata);
    } catch (err) {
      return `Invalid metadata JSON: ${err.message}`;
    }
  }
  return null;
}

async function saveKey(event) {
  event.preventDefault();
  const name = $("edit-name").value;
  const form = new FormData();
  const file = $("edit-file").files[0];
  if (file) form.append("value", file);
  else if (state.binary) {
    const kept = await fetch(`${API}/${enc(state.ns.id)}/values/${enc(name)}`);
    form.append("value", await kept.blob());
  } else form.append("value", $("edit-value").value);
  const metadata = $("edit-metadata").value.trim();
  if (metadata) form.append("metadata", metadata);
  const ttl = $("edit-ttl").value.trim();
  const query = ttl ? `?expiration_ttl=${enc(ttl)}` : "";
  // The API checks both again; checking here first keeps a typo off the network.
  const problem = checkInput(ttl, metadata);
  if (problem) {
    $("edit-error").textContent = problem;
    $("edit-error").hidden = false;
    return;
  }
  try {
    await api(`/${enc(state.ns.id)}/values/${enc(name)}${query}`, { method: "PUT", body: form });
  } catch (err) {
    $("edit-error").textContent = err.message;
    $("edit-error").hidden = false;
    return;
  }
  $("editor").close();
  show(`Saved ${name}.`, "info");
  await loadPage();
  const { result } = await api(`/${enc(state.ns.id)}/keys?prefix=${enc(name)}&limit=10`);
  const found = result.find((k) => k.name === name);
  if (found) await openKey(found);
  refreshCounts();
}

function refreshCounts() {
  loadNamespaces().catch((err) => show(String(err)));
}

function confirmAction(text, label) {
  return new Promise((resolve) => {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-yes").textContent = label;
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
  });
}

async function deleteKey() {
  const key = state.key;
  const question = `Delete key “${key}” from ${state.ns.title}? This cannot be undone.`;
  if (!(await confirmAction(question, "Delete"))) return;
  await api(`/${enc(state.ns.id)}/values/${enc(key)}`, { method: "DELETE" });
  closeDetail();
  show(`Deleted ${key}.`, "info");
  await loadPage();
  refreshCounts();
}

async function bulkUpload(event) {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  const { result } = await api(`/${enc(state.ns.id)}/bulk`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: await file.text(),
  });
  show(`Uploaded ${result.successful_key_count} key(s) from ${file.name}.`, "info");
  await loadPage();
  refreshCounts();
}

// --- queues ------------------------------------------------------------------------

const QUEUES = "/__edgeworks/api/queues";

const queueApi = (path, options) => call(QUEUES + path, options);

function age(timestamp) {
  return timestamp ? duration(Date.now() / 1000 - timestamp) : "-";
}

async function loadQueues() {
  const { result } = await queueApi("");
  const body = $("queues").tBodies[0];
  body.replaceChildren();
  for (const q of result) {
    const actions = el("td", {});
    const send = el("button", { type: "button", textContent: "Send…" });
    send.addEventListener("click", () => openSender(q.name));
    const purge = el("button", { type: "button", textContent: "Purge", className: "danger" });
    purge.addEventListener("click", guarded(() => purgeQueue(q.name)));
    actions.append(send, purge);
    if (q.dead_lettered > 0) {
      const retry = el("button", { type: "button", textContent: "Retry dead" });
      retry.addEventListener("click", guarded(() => retryDead(q.name)));
      actions.append(retry);
    }
    const row = el("tr", {},
      el("td", { textContent: q.name }),
      el("td", { textContent: q.ready }),
      el("td", { textContent: q.delayed }),
      el("td", { textContent: q.in_flight }),
      el("td", { textContent: q.dead_lettered }),
      el("td", { textContent: age(q.oldest_timestamp) }),
      actions);
    row.dataset.queue = q.name;
    body.append(row);
  }
  $("queues-empty").hidden = result.length > 0;
}

function openSender(name) {
  state.queue = name;
  $("sender-queue").textContent = name;
  $("send-error").hidden = true;
  $("sender").showModal();
}

async function sendMessage(event) {
  event.preventDefault();
  const type = $("send-type").value;
  const text = $("send-body").value;
  const delay = $("send-delay").value.trim();
  let body = text;
  if (type === "json") {
    try {
      body = JSON.parse(text);
    } catch (err) {
      $("send-error").textContent = `The body is not JSON: ${err.message}`;
      $("send-error").hidden = false;
      return;
    }
  }
  const message = { body, content_type: type };
  if (delay) message.delay_seconds = Number(delay);
  try {
    await queueApi(`/${enc(state.queue)}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(message),
    });
  } catch (err) {
    $("send-error").textContent = err.message;
    $("send-error").hidden = false;
    return;
  }
  $("sender").close();
  show(`Sent a message to ${state.queue}.`, "info");
  await loadQueues();
}

async function purgeQueue(name) {
  if (!(await confirmAction(`Delete every message of queue “${name}”? This cannot be undone.`, "Purge"))) return;
  const { result } = await queueApi(`/${enc(name)}/purge`, { method: "POST" });
  show(`Purged ${result.purged} message(s) from ${name}.`, "info");
  await loadQueues();
}

async function retryDead(name) {
  const { result } = await queueApi(`/${enc(name)}/retry-dead`, { method: "POST" });
  show(`Moved ${result.moved} message(s) from ${result.from} back to ${result.to}.`, "info");
  await loadQueues();
}

function showTab(tab) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === tab);
  $("kv-view").hidden = tab !== "kv";
  $("queues-view").hidden = tab !== "queues";
  show("");
  if (tab === "queues") guarded(loadQueues)();
}

// --- wiring ----------------------------------------------------------------------------

function init() {
  $("search").addEventListener("submit", guarded(async (event) => {
    event.preventDefault();
    show("");
    await search($("prefix").value);
  }));
  $("page-size").addEventListener("change", guarded(() => search(state.prefix)));
  $("next").addEventListener("click", guarded(nextPage));
  $("prev").addEventListener("click", guarded(prevPage));
  $("new-key").addEventListener("click", () => openEditor(false));
  $("edit-key").addEventListener("click", () => openEditor(true));
  $("edit-cancel").addEventListener("click", () => $("editor").close());
  $("editor-form").addEventListener("submit", guarded(saveKey));
  $("delete-key").addEventListener("click", guarded(deleteKey));
  $("close-detail").addEventListener("click", closeDetail);
  $("bulk-file").addEventListener("change", guarded(bulkUpload));
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("queues-refresh").addEventListener("click", guarded(loadQueues));
  $("sender-form").addEventListener("submit", guarded(sendMessage));
  $("send-cancel").addEventListener("click", () => $("sender").close());
  guarded(loadNamespaces)();
}

init();
