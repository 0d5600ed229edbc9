"use strict";
// Search: operations whose method, path, summary or tag hold every word typed.
document.getElementById("search").addEventListener("input", event => {
  const words = event.target.value.toLowerCase().split(/\s+/).filter(Boolean);
  for (const op of document.querySelectorAll(".op")) {
    const shown = words.every(word => op.dataset.search.includes(word));
    op.hidden = !shown;
    const link = document.querySelector(`#sidebar li[data-op="${op.id}"]`);
    if (link) link.hidden = !shown;
  }
});

// The request a form describes: its URL on this origin, its headers and its body.
function request(form) {
  let path = form.dataset.path;
  const query = new URLSearchParams();
  const headers = {};
  for (const input of form.querySelectorAll("input[data-in]")) {
    const value = input.value.trim() || (input.dataset.in === "path" ? input.placeholder : "");
    if (!value) continue;
    if (input.dataset.in === "path") path = path.replace(`{${input.name}}`, encodeURIComponent(value));
    else if (input.dataset.in === "query") query.append(input.name, value);
    else if (input.dataset.in === "header") headers[input.name] = value;
  }
  const body = form.querySelector("textarea[name=body]");
  if (body) headers["content-type"] = "application/json";
  const search = query.toString();
  return {method: form.dataset.method, url: location.origin + path + (search ? "?" + search : ""),
          headers, body: body ? body.value : undefined};
}

const quote = text => "'" + text.replace(/'/g, "'\\''") + "'";

function curlLine(form) {
  const r = request(form);
  const parts = ["curl -i"];
  if (r.method !== "GET") parts.push("-X " + r.method);
  parts.push(quote(r.url));
  for (const [name, value] of Object.entries(r.headers)) parts.push("-H " + quote(`${name}: ${value}`));
  if (r.body !== undefined) parts.push("-d " + quote(JSON.stringify(JSON.parse(r.body || "null"))));
  form.querySelector(".curl").textContent = parts.join(" ");
}

async function send(form) {
  const answer = form.querySelector(".answer");
  answer.hidden = false;
  answer.className = "answer";
  answer.textContent = "…";
  const r = request(form);
  try {
    const response = await fetch(r.url, {method: r.method, headers: r.headers, body: r.body});
    const text = await response.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON: as is */ }
    const lines = [`HTTP ${response.status} ${response.statusText}`];
    for (const name of ["content-type", "location", "retry-after", "x-request-id"]) {
      const value = response.headers.get(name);
      if (value) lines.push(`${name}: ${value}`);
    }
    answer.textContent = lines.join("\n") + "\n\n" + shown;
    answer.classList.add(response.ok ? "ok" : "error");
    answer.dataset.status = response.status;
  } catch (err) {
    answer.textContent = "no answer: " + err;
    answer.classList.add("error");
    answer.dataset.status = "0";
  }
}

for (const form of document.querySelectorAll(".try")) {
  form.addEventListener("input", () => { try { curlLine(form); } catch (_) { /* body not JSON yet */ } });
  form.querySelector(".send").addEventListener("click", () => send(form));
  curlLine(form);
}
