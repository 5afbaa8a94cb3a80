/* The /v1 API with the lab's key: every call carries it as X-API-Key, a refused key signs the
 * tab out, errors come back as ApiError with the server's reason, and files are fetched with
 * the key and saved or shown from memory (a Blob), never by a plain link. */
import { announce, h } from "./dom.js";
import { key, signOut } from "./session.js";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail || `HTTP ${status}`;
  }
}

async function detailOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") return body.detail;
    if (body && body.detail) return JSON.stringify(body.detail);
  } catch (_) { /* not JSON */ }
  return `${response.status} ${response.statusText}`.trim();
}

/* options: method, json (a body to send as JSON), headers, signal, and key (try this key
 * instead of the tab's: signing in). */
export async function api(path, options) {
  const opts = options || {};
  const headers = Object.assign({ "X-API-Key": opts.key || key() || "" }, opts.headers || {});
  let body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  }
  let response;
  try {
    response = await fetch(path, {
      method: opts.method || "GET", headers, body, signal: opts.signal, cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "the service did not answer; is it running?");
  }
  if (response.status === 401 && !opts.key && key()) {
    signOut("Your key is no longer accepted. Sign in again.");
    throw new ApiError(401, "signed out");
  }
  if (!response.ok) throw new ApiError(response.status, await detailOf(response));
  return response;
}

export async function apiJson(path, options) {
  return (await api(path, options)).json();
}

/* An API file as a blob: URL for an <img> or a viewer layer; the caller revokes it. */
export async function blobUrl(path) {
  const blob = await (await api(path)).blob();
  return URL.createObjectURL(blob);
}

async function download(path, filename, button) {
  if (button) button.setAttribute("aria-busy", "true");
  try {
    const blob = await (await api(path)).blob();
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60000);
    announce(`Downloaded ${filename}`);
  } catch (error) {
    if (error.status !== 401) window.alert(`Could not download ${filename}: ${error.detail || error}`);
  } finally {
    if (button) button.removeAttribute("aria-busy");
  }
}

/* A link to an API file: a real link (keyboard, its address in view) whose click fetches the
 * file with the key and saves it. */
export function downloadLink(path, filename, text) {
  const link = h("a", { href: path, download: filename, class: "button", text });
  link.addEventListener("click", (event) => {
    event.preventDefault();
    download(path, filename, link);
  });
  return link;
}
