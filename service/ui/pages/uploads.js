/* This tab's uploads: each file PUT as a raw body with its progress, and the table of rows that
 * shows them. The rows and the slides ticked for scoring are kept while moving between pages
 * (an upload goes on while another page is shown; its row is there when you come back). */
import { announce, h } from "../dom.js";
import { bytes } from "../format.js";
import { key } from "../session.js";

export const chosen = new Set();  // the slides ticked for scoring
const uploadsBody = document.createElement("tbody");
let slidesChanged = null;

/* The upload page on show hears of each accepted upload (null: none on show). */
export function whenSlidesChange(fn) { slidesChanged = fn; }

export function uploadsTable() {
  return h("table", { id: "uploads", hidden: uploadsBody.children.length === 0 },
    h("caption", { text: "This session's uploads" }),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col", text: "File" }), h("th", { scope: "col", class: "num", text: "Size" }),
      h("th", { scope: "col", text: "Progress" }), h("th", { scope: "col", text: "Answer" }))),
    uploadsBody);
}

function contentDisposition(name) {
  const encoded = encodeURIComponent(name).replace(/['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const plain = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${plain}"; filename*=UTF-8''${encoded}`;
}

/* PUT one file as a raw body; resolves {status, body} (never rejects). XMLHttpRequest, not
 * fetch: only it reports the upload's progress. */
function putSlide(file, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", "/v1/slides");
    xhr.setRequestHeader("X-API-Key", key() || "");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    // Header values must be ISO-8859-1 in browsers: the UTF-8 name goes percent-encoded
    // (RFC 8187), which the server prefers to the plain filename.
    xhr.setRequestHeader("Content-Disposition", contentDisposition(file.name));
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.upload.onload = () => onProgress(file.size, file.size);
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => resolve({ status: 0, body: { detail: "the connection failed" } });
    xhr.onabort = () => resolve({ status: 0, body: { detail: "cancelled" } });
    xhr.send(file);
  });
}

function answered(item, outcome) {
  const body = outcome.body || {};
  item.row.dataset.status = String(outcome.status);
  if (outcome.status === 201 || outcome.status === 200) {
    item.bar.value = 1;
    item.barText.textContent = "100 %";
    const size = `${body.width} × ${body.height} px, ` +
      (body.mpp === null ? "no µm/px stated" : `${body.mpp} µm/px`);
    item.answer.textContent = outcome.status === 201
      ? `New slide: ${body.label} (${size})`
      : `Already uploaded (same contents): ${body.label}`;
    item.answer.className = "answer ok";
    chosen.add(body.id);
    return true;
  }
  item.barText.textContent = outcome.status ? "refused" : "failed";
  const why = body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail))
    : `HTTP ${outcome.status}`;
  item.answer.textContent = outcome.status === 401 ? "Refused: your key is no longer accepted"
    : outcome.status ? `Refused (${outcome.status}): ${why}` : `Not sent: ${why}`;
  item.answer.className = "answer err";
  return false;
}

/* Upload the files one after another, a row each; an accepted slide is ticked for scoring. */
export async function uploadFiles(files) {
  const rows = files.map((file) => {
    const bar = h("progress", { max: 1, value: 0, "aria-label": `Upload of ${file.name}` });
    const barText = h("span", { class: "progress-text", text: "waiting" });
    const answer = h("td", { class: "answer", text: "" });
    const row = h("tr", { class: "upload" },
      h("td", { text: file.name }), h("td", { class: "num", text: bytes(file.size) }),
      h("td", {}, bar, barText), answer);
    uploadsBody.append(row);
    return { file, bar, barText, answer, row };
  });
  let added = 0;
  for (const item of rows) {
    item.barText.textContent = "0 %";
    const outcome = await putSlide(item.file, (loaded, total) => {
      const fraction = total ? loaded / total : 1;
      item.bar.value = fraction;
      item.barText.textContent = fraction >= 1 ? "100 %, checking the slide" : `${Math.floor(fraction * 100)} %`;
    });
    if (answered(item, outcome)) {
      added += 1;
      if (slidesChanged) slidesChanged();
    }
  }
  announce(`${added} of ${rows.length} uploads accepted`);
}
