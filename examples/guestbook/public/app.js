// Guestbook page: renders entries with textContent only (never innerHTML), so a
// message cannot inject markup.
const list = document.getElementById("entries");
const more = document.getElementById("more");
const form = document.getElementById("sign");
const status = document.getElementById("status");
let cursor = null;

function render(entry, atTop) {
  const item = document.createElement("li");
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `${entry.name} · ${new Date(entry.created * 1000).toLocaleString()}`;
  const message = document.createElement("p");
  message.className = "message";
  message.textContent = entry.message;
  item.append(meta, message);
  atTop ? list.prepend(item) : list.append(item);
}

async function load() {
  const url = cursor ? `/api/entries?cursor=${encodeURIComponent(cursor)}` : "/api/entries";
  const response = await fetch(url);
  const page = await response.json();
  page.entries.forEach((entry) => render(entry, false));
  cursor = page.cursor;
  more.hidden = !cursor;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(form));
  const response = await fetch("/api/entries", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data),
  });
  const body = await response.json();
  if (!response.ok) {
    status.textContent = body.error;
    return;
  }
  status.textContent = "";
  form.reset();
  render(body, true);
});

more.addEventListener("click", load);
load();
