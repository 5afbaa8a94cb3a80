/* PD-L1 TPS pages: a client of the public /v1 API and nothing else.
 *
 * One page with hash routes. The lab's API key lives in sessionStorage (this tab only) and
 * goes with every call as X-API-Key; downloads are fetched with it and saved from memory.
 * Everything shown that came from the server is set as text, never parsed as HTML.
 */
"use strict";

(function () {
  const KEY_ITEM = "tps.key";
  const NEXT_ITEM = "tps.next";
  const POLL_MS = 2000;
  const ASSAYS = ["22C3", "28-8", "SP263"];
  const CLASS_NAMES = {
    tumor_pos: "Tumour, PD-L1 positive",
    tumor_neg: "Tumour, PD-L1 negative",
    nontumor_pos: "Non-tumour, PD-L1 positive",
    nontumor_neg: "Non-tumour, PD-L1 negative",
  };
  const CLASS_RGB = {
    tumor_pos: [220, 40, 40],
    tumor_neg: [40, 90, 220],
    nontumor_pos: [240, 160, 30],
    nontumor_neg: [120, 200, 120],
  };
  const FALLBACK_RGB = [[160, 60, 200], [0, 170, 170], [120, 80, 40], [90, 90, 90]];
  // Flags in words, in the order a reader should see them.
  const FLAG_WORDS = [
    ["not_ihc", "not IHC (H&E?): the tissue holds eosin, so the TPS and category are withheld"],
    ["no_tumor_cells", "no tumour cells: the TPS is undefined"],
    ["inadequate", "fewer than 100 tumour cells"],
    ["near_cutoff", "near a cutoff: the 95 % interval straddles a category cutoff"],
    ["stain_disagrees", "the stain disagrees with the model: look twice"],
  ];
  const FLAG_SHORT = {
    not_ihc: "not IHC (H&E?)", no_tumor_cells: "no tumour cells",
    inadequate: "fewer than 100 tumour cells", near_cutoff: "near a cutoff",
    stain_disagrees: "the stain disagrees with the model",
  };

  // ---------------------------------------------------------------- small helpers

  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (typeof value !== "string" && name in node) node[name] = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const $ = (selector, root) => (root || document).querySelector(selector);
  const main = () => document.getElementById("main");

  function announce(text) {
    const region = document.getElementById("announce");
    region.textContent = "";
    window.setTimeout(() => { region.textContent = text; }, 50);
  }

  /* A moment in the browser's time zone: the time alone when it is today. */
  function when(iso) {
    if (!iso) return "";
    const moment = new Date(iso);
    if (isNaN(moment)) return iso;
    const today = moment.toDateString() === new Date().toDateString();
    return today ? moment.toLocaleTimeString() : moment.toLocaleString();
  }

  function bytes(n) {
    if (n < 1024) return `${n} B`;
    const units = ["KB", "MB", "GB", "TB"];
    let value = n / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
  }

  function pct(value, digits) {
    return value === null || value === undefined ? "" : `${value.toFixed(digits ?? 1)} %`;
  }

  function className(name) { return CLASS_NAMES[name] || name.replace(/_/g, " "); }

  function classRgb(name, index) {
    return CLASS_RGB[name] || FALLBACK_RGB[index % FALLBACK_RGB.length];
  }

  function fileStem(label) {
    const stem = (label || "slide").replace(/\.[^.]*$/, "").replace(/[\\/:*?"<>|\s]+/g, "_");
    return stem || "slide";
  }

  // ---------------------------------------------------------------- the key and the API

  const key = () => sessionStorage.getItem(KEY_ITEM);

  class ApiError extends Error {
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

  async function api(path, options) {
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

  async function apiJson(path, options) {
    return (await api(path, options)).json();
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
  function downloadLink(path, filename, text) {
    const link = h("a", { href: path, download: filename, class: "button", text });
    link.addEventListener("click", (event) => {
      event.preventDefault();
      download(path, filename, link);
    });
    return link;
  }

  async function blobUrl(path) {
    const blob = await (await api(path)).blob();
    return URL.createObjectURL(blob);
  }

  // ---------------------------------------------------------------- routing

  let current = { token: 0, cleanup: [] };

  function onLeave(fn) { current.cleanup.push(fn); }

  function alive(token) { return token === current.token; }

  function signOut(message) {
    sessionStorage.removeItem(KEY_ITEM);
    sessionStorage.removeItem(NEXT_ITEM);
    flash = message ? { text: message, kind: "info" } : null;
    if (location.hash === "#/signin") route();
    else location.hash = "#/signin";
  }

  let flash = null;

  function takeFlash() {
    const message = flash;
    flash = null;
    return message ? h("p", { class: `message ${message.kind}`, role: "status", text: message.text }) : null;
  }

  function page(title, navPage, ...children) {
    document.title = `${title} - PD-L1 TPS`;
    const root = main();
    root.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    for (const link of document.querySelectorAll("#nav a")) {
      if (link.dataset.page === navPage) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    const heading = root.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }

  function notFound(what) {
    page("Not found", null,
      h("h1", { text: "Not found" }),
      h("p", { text: what ? `Your lab has no such ${what}. Its address may be mistyped, or it ` +
        "belongs to another lab." : "There is no such page." }),
      h("p", {}, h("a", { href: "#/jobs", text: "Back to the jobs" })));
  }

  function failure(error) {
    if (error && error.status === 401) return;  // signed out already
    page("Problem", null,
      h("h1", { text: "Something went wrong" }),
      h("p", { class: "message error", role: "alert", text: (error && error.detail) || String(error) }),
      h("p", {}, h("a", { href: "#/jobs", text: "Back to the jobs" })));
  }

  const ROUTES = [
    [/^#\/signin$/, () => signInPage(), false],
    [/^#\/upload$/, () => uploadPage(), true],
    [/^#\/jobs$/, () => jobsPage(), true],
    [/^#\/jobs\/([\w-]+)$/, (m) => resultPage(m[1]), true],
    [/^#\/jobs\/([\w-]+)\/view$/, (m) => viewerPage({ jobId: m[1] }), true],
    [/^#\/slides\/([\w-]+)\/view$/, (m) => viewerPage({ slideId: m[1] }), true],
  ];

  /* Go to another page in place of this one, now (no history entry, no hashchange wait). */
  function redirect(hash) {
    history.replaceState(null, "", hash);
    route();
  }

  function route() {
    for (const fn of current.cleanup) {
      try { fn(); } catch (_) { /* leaving anyway */ }
    }
    current = { token: current.token + 1, cleanup: [] };
    const hash = location.hash || "";
    const signedIn = Boolean(key());
    document.getElementById("nav").hidden = !signedIn;
    document.getElementById("signout").hidden = !signedIn;
    if (hash === "" || hash === "#" || hash === "#/") {
      redirect(signedIn ? "#/jobs" : "#/signin");
      return;
    }
    for (const [pattern, render, needsKey] of ROUTES) {
      const match = hash.match(pattern);
      if (!match) continue;
      if (needsKey && !signedIn) {
        sessionStorage.setItem(NEXT_ITEM, hash);
        redirect("#/signin");
        return;
      }
      Promise.resolve().then(() => render(match)).catch(failure);
      return;
    }
    notFound(null);
  }

  // ---------------------------------------------------------------- sign in

  function signInPage() {
    const input = h("input", {
      id: "key", name: "key", type: "password", autocomplete: "off", spellcheck: "false",
      required: true, "aria-describedby": "key-hint",
    });
    const error = h("p", { id: "signin-error", class: "message error", role: "alert" });
    const button = h("button", { type: "submit", class: "primary", text: "Sign in" });
    const form = h("form", { id: "signin-form", class: "narrow" },
      h("div", { class: "field" },
        h("label", { for: "key", text: "Lab API key" }),
        input,
        h("p", { id: "key-hint", class: "hint", text: "The key your lab was given " +
          "(tps keys create --lab NAME). It is kept in this browser tab only, until you sign " +
          "out or close the tab." })),
      button, error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const typed = input.value.trim();
      error.textContent = "";
      if (!typed) { error.textContent = "Type or paste your lab's API key."; return; }
      button.disabled = true;
      try {
        await api("/v1/jobs?limit=1", { key: typed });
        sessionStorage.setItem(KEY_ITEM, typed);
        const next = sessionStorage.getItem(NEXT_ITEM);
        sessionStorage.removeItem(NEXT_ITEM);
        location.hash = next && next !== "#/signin" ? next : "#/jobs";
      } catch (failed) {
        error.textContent = failed.status === 401
          ? "This key is not valid. Check it and try again, or ask for a new one."
          : `Could not sign in: ${failed.detail || failed}`;
        input.focus();
        input.select();
      } finally {
        button.disabled = false;
      }
    });
    page("Sign in", null, h("h1", { text: "Sign in" }), takeFlash(), form);
    input.focus();
  }

  // ---------------------------------------------------------------- upload and score

  function contentDisposition(name) {
    const encoded = encodeURIComponent(name).replace(/['()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const plain = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
    return `attachment; filename="${plain}"; filename*=UTF-8''${encoded}`;
  }

  /* PUT one file as a raw body; resolves {status, body} (never rejects). */
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

  // Kept while moving between pages: the slides ticked for scoring, and this tab's uploads
  // (an upload goes on while another page is shown; its row is here when you come back).
  const chosen = new Set();
  const uploadsBody = document.createElement("tbody");
  let slidesChanged = null;

  async function uploadPage() {
    const token = current.token;
    let slides = [];

    const fileInput = h("input", { id: "files", type: "file", multiple: true, "aria-describedby": "files-hint" });
    const uploadButton = h("button", { type: "submit", class: "primary", text: "Upload" });
    const uploadsTable = h("table", { id: "uploads", hidden: uploadsBody.children.length === 0 },
      h("caption", { text: "This session's uploads" }),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col", text: "File" }), h("th", { scope: "col", class: "num", text: "Size" }),
        h("th", { scope: "col", text: "Progress" }), h("th", { scope: "col", text: "Answer" }))),
      uploadsBody);
    const drop = h("div", { class: "drop" },
      h("form", { id: "upload-form" },
        h("label", { for: "files", text: "Slides to upload" }),
        h("div", { class: "row inline" }, fileInput, uploadButton),
        h("p", { id: "files-hint", class: "hint", text: "One or several: SVS, NDPI, SCN, BIF, " +
          "tiled TIFF or DICOM. You can also drop files on this box. A file this lab already " +
          "uploaded is recognised by its contents and not stored twice." })));

    const slidesBody = h("tbody");
    const selectAll = h("input", { type: "checkbox", id: "slides-all", "aria-label": "Select every slide" });
    const slidesTable = h("table", { id: "slides" },
      h("caption", { text: "Your lab's slides, newest first. Tick the ones to score." }),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, selectAll),
        h("th", { scope: "col", text: "Slide" }), h("th", { scope: "col", class: "num", text: "Size" }),
        h("th", { scope: "col", class: "num", text: "Pixels" }),
        h("th", { scope: "col", class: "num", text: "µm/px" }),
        h("th", { scope: "col", text: "Uploaded" }), h("th", { scope: "col", text: "Look" }))),
      slidesBody);
    const noSlides = h("p", { class: "hint", hidden: true, text: "No slides yet: upload one above." });

    const assay = h("select", { id: "assay", name: "assay" },
      ASSAYS.map((name) => h("option", { value: name, text: name })));
    const mpp = h("input", { id: "mpp", name: "mpp", type: "number", step: "any", min: "0.05",
      max: "20", placeholder: "from the slide", "aria-describedby": "mpp-hint" });
    const scoreButton = h("button", { type: "submit", class: "primary", id: "score", text: "Score the ticked slides" });
    const scoreMessage = h("div", { id: "score-message", class: "message", role: "status" });
    const scoreForm = h("form", { id: "score-form", class: "panel" },
      h("h2", { text: "Score" }),
      slidesTable, noSlides,
      h("div", { class: "row" },
        h("div", { class: "field" }, h("label", { for: "assay", text: "Assay" }), assay),
        h("div", { class: "field" },
          h("label", { for: "mpp", text: "Microns per pixel (only for slides that state none)" }),
          mpp),
        h("div", { class: "field" }, scoreButton)),
      h("p", { id: "mpp-hint", class: "hint", text: "The assay sets the category cutoffs; each " +
        "result states the ones it used. A slide that states its microns per pixel is scored " +
        "at that scale whatever is typed here." }),
      scoreMessage);

    page("Upload and score", "upload",
      h("h1", { text: "Upload and score" }), takeFlash(), drop, uploadsTable, scoreForm);

    function refreshButton() {
      scoreButton.disabled = chosen.size === 0;
      scoreButton.textContent = chosen.size === 1 ? "Score the ticked slide"
        : `Score the ${chosen.size || ""} ticked slides`.replace("  ", " ");
      selectAll.checked = slides.length > 0 && slides.every((s) => chosen.has(s.id));
    }

    function drawSlides() {
      noSlides.hidden = slides.length > 0;
      slidesTable.hidden = slides.length === 0;
      slidesBody.replaceChildren(...slides.map((slide) => {
        const box = h("input", { type: "checkbox", checked: chosen.has(slide.id),
          "aria-label": `Score ${slide.label}` });
        box.addEventListener("change", () => {
          if (box.checked) chosen.add(slide.id); else chosen.delete(slide.id);
          refreshButton();
        });
        return h("tr", { "data-slide": slide.id },
          h("td", {}, box),
          h("td", { text: slide.label }),
          h("td", { class: "num", text: bytes(slide.size_bytes) }),
          h("td", { class: "num", text: `${slide.width} × ${slide.height}` }),
          h("td", { class: "num", text: slide.mpp === null ? "not stated" : slide.mpp.toFixed(3) }),
          h("td", { text: when(slide.created_at) }),
          h("td", {}, h("a", { href: `#/slides/${slide.id}/view`, text: "View",
            "aria-label": `View ${slide.label}` })));
      }));
      refreshButton();
    }

    async function loadSlides() {
      const list = await apiJson("/v1/slides");
      if (!alive(token)) return;
      slides = list.slice().reverse();
      drawSlides();
    }
    slidesChanged = () => { loadSlides().catch(() => {}); };
    onLeave(() => { slidesChanged = null; });

    selectAll.addEventListener("change", () => {
      for (const slide of slides) {
        if (selectAll.checked) chosen.add(slide.id); else chosen.delete(slide.id);
      }
      drawSlides();
    });

    async function uploadFiles(files) {
      if (!files.length) return;
      uploadsTable.hidden = false;
      fileInput.value = "";
      uploadButton.textContent = "Upload";
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
        const body = outcome.body || {};
        if (outcome.status === 201 || outcome.status === 200) {
          item.bar.value = 1;
          item.barText.textContent = "100 %";
          const size = `${body.width} × ${body.height} px, ` +
            (body.mpp === null ? "no µm/px stated" : `${body.mpp} µm/px`);
          item.answer.textContent = outcome.status === 201
            ? `New slide: ${body.label} (${size})`
            : `Already uploaded (same contents): ${body.label}`;
          item.answer.className = "answer ok";
          item.row.dataset.status = String(outcome.status);
          chosen.add(body.id);
          added += 1;
          if (slidesChanged) slidesChanged();
        } else {
          item.barText.textContent = outcome.status ? "refused" : "failed";
          const why = body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail))
            : `HTTP ${outcome.status}`;
          item.answer.textContent = outcome.status === 401 ? "Refused: your key is no longer accepted"
            : outcome.status ? `Refused (${outcome.status}): ${why}` : `Not sent: ${why}`;
          item.answer.className = "answer err";
          item.row.dataset.status = String(outcome.status);
        }
      }
      announce(`${added} of ${rows.length} uploads accepted`);
    }

    $("#upload-form").addEventListener("submit", (event) => {
      event.preventDefault();
      uploadFiles(Array.from(fileInput.files || []));
    });
    fileInput.addEventListener("change", () => {
      uploadButton.textContent = fileInput.files.length > 1 ? `Upload ${fileInput.files.length} files` : "Upload";
    });
    drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      uploadFiles(Array.from(event.dataTransfer.files || []));
    });

    scoreForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const ids = slides.filter((s) => chosen.has(s.id));
      if (!ids.length) return;
      scoreButton.disabled = true;
      scoreMessage.className = "message info";
      scoreMessage.textContent = "Starting…";
      const given = mpp.value.trim() === "" ? null : Number(mpp.value);
      const refused = [];
      let started = 0;
      for (const slide of ids) {
        const body = { slide_id: slide.id, assay: assay.value };
        if (given !== null && slide.mpp === null) body.mpp = given;
        try {
          await apiJson("/v1/jobs", { method: "POST", json: body });
          started += 1;
          chosen.delete(slide.id);
        } catch (error) {
          if (error.status === 401) return;
          refused.push(`${slide.label}: ${error.detail}`);
        }
      }
      if (!alive(token)) return;
      if (!refused.length) {
        flash = { text: `Started ${started} job${started === 1 ? "" : "s"} (${assay.value}).`, kind: "ok" };
        location.hash = "#/jobs";
        return;
      }
      drawSlides();
      scoreMessage.className = "message error";
      scoreMessage.replaceChildren(
        h("span", { text: `Started ${started} of ${ids.length}. Refused:` }),
        h("ul", {}, refused.map((line) => h("li", { text: line }))),
        started ? h("a", { href: "#/jobs", text: "See the started jobs" }) : null);
    });

    await loadSlides();
  }

  // ---------------------------------------------------------------- jobs

  let jobsSelection = new Set();  // kept while moving between pages
  let lastBatch = null;

  function stateBadge(state) {
    return h("span", { class: `state state-${state}`, text: state });
  }

  function progressCell(job) {
    const total = job.progress.total;
    const done = job.progress.done;
    if (job.state === "failed" && !total) return [h("span", { class: "progress-text", text: "no tiles read" })];
    const bar = h("progress", { max: Math.max(total, 1), value: total ? done : (job.state === "succeeded" ? 1 : 0),
      "aria-label": "Tiles scored" });
    const text = total ? `${done} / ${total} tiles` : (job.state === "queued" ? "waiting" : "");
    return [bar, h("span", { class: "progress-text", text })];
  }

  function jobProblem(job) {
    if (job.state === "failed") return job.error || "failed without a reason";
    if (job.error && job.state !== "succeeded") return `retrying after: ${job.error}`;
    return "";
  }

  async function jobsPage() {
    const token = current.token;
    const labels = new Map();
    let jobs = [];
    let slidesLoadedAt = 0;

    const filter = h("select", { id: "state-filter" },
      h("option", { value: "", text: "every state" }),
      ["queued", "running", "succeeded", "failed"].map((s) => h("option", { value: s, text: s })));
    const updated = h("span", { class: "muted", id: "jobs-updated" });
    const tbody = h("tbody");
    const selectAll = h("input", { type: "checkbox", id: "jobs-all", "aria-label": "Select every job shown" });
    const table = h("table", { id: "jobs" },
      h("caption", { text: "Your lab's jobs, newest first. This list updates itself every 2 seconds." }),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, selectAll),
        h("th", { scope: "col", text: "Slide" }), h("th", { scope: "col", text: "Assay" }),
        h("th", { scope: "col", text: "State" }), h("th", { scope: "col", text: "Progress" }),
        h("th", { scope: "col", class: "num", text: "Attempts" }),
        h("th", { scope: "col", text: "Queued" }), h("th", { scope: "col", text: "Problem" }),
        h("th", { scope: "col", text: "Open" }))),
      tbody);
    const empty = h("p", { id: "jobs-empty", hidden: true });
    const batchButton = h("button", { type: "submit", class: "primary", id: "make-batch", text: "Report on the selected jobs" });
    const batchMessage = h("div", { class: "message", role: "status" });
    const batchPanel = h("section", { id: "batch", class: "panel", hidden: true, "aria-labelledby": "batch-title" });
    const batchForm = h("form", { id: "batch-form" },
      h("div", { class: "toolbar" },
        h("label", { for: "state-filter", text: "Show" }), filter, updated),
      table, empty,
      h("div", { class: "toolbar" }, batchButton,
        h("span", { class: "muted", text: "A batch gathers the selected jobs into one CSV, JSON or PDF report." })),
      batchMessage);

    page("Jobs", "jobs", h("h1", { text: "Jobs" }), takeFlash(), batchForm, batchPanel);

    const rows = new Map();  // job id -> {tr, parts}

    function visible() {
      return jobs.filter((job) => !filter.value || job.state === filter.value);
    }

    function refreshSelection() {
      const shown = visible();
      selectAll.checked = shown.length > 0 && shown.every((job) => jobsSelection.has(job.id));
      const n = jobsSelection.size;
      batchButton.disabled = n === 0;
      batchButton.textContent = n ? `Report on the ${n} selected job${n === 1 ? "" : "s"}` : "Report on the selected jobs";
    }

    function makeRow(job) {
      const box = h("input", { type: "checkbox", class: "pick" });
      box.addEventListener("change", () => {
        if (box.checked) jobsSelection.add(job.id); else jobsSelection.delete(job.id);
        tr.classList.toggle("selected", box.checked);
        refreshSelection();
      });
      const parts = {
        box, slide: h("td", { class: "label" }), assay: h("td"), state: h("td", { class: "job-state" }),
        progress: h("td", { class: "job-progress" }), attempts: h("td", { class: "num" }),
        queued: h("td"), problem: h("td", { class: "err" }), open: h("td"),
      };
      const tr = h("tr", { "data-job": job.id }, h("td", {}, box), parts.slide, parts.assay,
        parts.state, parts.progress, parts.attempts, parts.queued, parts.problem, parts.open);
      return { tr, parts, key: "" };
    }

    function fillRow(row, job) {
      const label = labels.get(job.slide_id) || job.slide_id.slice(0, 8);
      const fingerprint = JSON.stringify([job.state, job.progress, job.attempts, job.error, label]);
      row.parts.box.checked = jobsSelection.has(job.id);
      row.parts.box.setAttribute("aria-label", `Select the job for ${label}`);
      row.tr.classList.toggle("selected", row.parts.box.checked);
      if (row.key === fingerprint) return;
      row.key = fingerprint;
      row.tr.dataset.state = job.state;
      row.parts.slide.textContent = label;
      row.parts.assay.textContent = (job.params && job.params.assay) || "";
      row.parts.state.replaceChildren(stateBadge(job.state));
      row.parts.progress.replaceChildren(...progressCell(job));
      row.parts.attempts.textContent = `${job.attempts} of ${job.max_attempts}`;
      row.parts.queued.textContent = when(job.queued_at);
      row.parts.problem.textContent = jobProblem(job);
      row.parts.open.replaceChildren(
        h("a", { href: `#/jobs/${job.id}`, text: job.state === "succeeded" ? "Result" : "Details",
          "aria-label": `${job.state === "succeeded" ? "Result" : "Details"} for ${label}` }));
    }

    function draw() {
      const shown = visible();
      for (const [id, row] of rows) {
        if (!jobs.some((job) => job.id === id)) { row.tr.remove(); rows.delete(id); }
      }
      const order = [];
      for (const job of shown) {
        let row = rows.get(job.id);
        if (!row) { row = makeRow(job); rows.set(job.id, row); }
        fillRow(row, job);
        order.push(row.tr);
      }
      // Re-append only when the order changed, so focus and selection stay where they are.
      const same = order.length === tbody.children.length && order.every((tr, i) => tbody.children[i] === tr);
      if (!same) tbody.replaceChildren(...order);
      table.hidden = jobs.length === 0;
      empty.hidden = shown.length > 0;
      empty.replaceChildren(jobs.length === 0
        ? h("span", {}, "No jobs yet. ", h("a", { href: "#/upload", text: "Upload and score a slide" }), ".")
        : h("span", { text: `No ${filter.value} jobs.` }));
      refreshSelection();
    }

    async function poll() {
      if (!alive(token)) return;
      try {
        const list = await apiJson("/v1/jobs?limit=500");
        if (!alive(token)) return;
        const unknown = list.some((job) => !labels.has(job.slide_id));
        if (unknown && Date.now() - slidesLoadedAt > 5000) {
          slidesLoadedAt = Date.now();
          for (const slide of await apiJson("/v1/slides")) labels.set(slide.id, slide.label);
          if (!alive(token)) return;
        }
        jobs = list;
        const ids = new Set(jobs.map((job) => job.id));
        for (const id of Array.from(jobsSelection)) if (!ids.has(id)) jobsSelection.delete(id);
        draw();
        updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      } catch (error) {
        if (error.status === 401) return;
        updated.textContent = `Could not update: ${error.detail || error}`;
      }
      if (alive(token)) {
        const timer = window.setTimeout(poll, POLL_MS);
        onLeave(() => window.clearTimeout(timer));
      }
    }

    filter.addEventListener("change", draw);
    selectAll.addEventListener("change", () => {
      for (const job of visible()) {
        if (selectAll.checked) jobsSelection.add(job.id); else jobsSelection.delete(job.id);
      }
      draw();
    });

    function showBatch(batch) {
      const counts = Object.entries(batch.by_state).filter(([, n]) => n > 0)
        .map(([state, n]) => `${n} ${state}`).join(", ");
      const stem = `batch-${batch.id.slice(0, 8)}`;
      batchPanel.hidden = false;
      batchPanel.replaceChildren(
        h("h2", { id: "batch-title", text: "Batch report" }),
        h("p", { text: `${batch.total} job${batch.total === 1 ? "" : "s"}: ${counts}. ` +
          "A report lists each job as it stands when you download it." }),
        h("ul", { class: "downloads" },
          h("li", {}, downloadLink(`/v1/batches/${batch.id}/report.csv`, `${stem}.csv`, "Report CSV")),
          h("li", {}, downloadLink(`/v1/batches/${batch.id}/report.json`, `${stem}.json`, "Report JSON")),
          h("li", {}, downloadLink(`/v1/batches/${batch.id}/report.pdf`, `${stem}.pdf`, "Report PDF"))));
    }

    batchForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const ids = jobs.filter((job) => jobsSelection.has(job.id)).map((job) => job.id);
      if (!ids.length) return;
      batchButton.disabled = true;
      batchMessage.className = "message";
      batchMessage.textContent = "";
      try {
        lastBatch = await apiJson("/v1/batches", { method: "POST", json: { job_ids: ids } });
        if (!alive(token)) return;
        showBatch(lastBatch);
        announce("The batch report is ready to download");
        const first = batchPanel.querySelector("a");
        if (first) first.focus();
      } catch (error) {
        if (error.status === 401) return;
        batchMessage.className = "message error";
        batchMessage.textContent = `No batch: ${error.detail}`;
      } finally {
        refreshSelection();
      }
    });

    if (lastBatch) showBatch(lastBatch);
    await poll();
  }

  // ---------------------------------------------------------------- one job's result

  function figure(name, value, extra, id) {
    return h("div", { class: "figure" },
      h("span", { class: "name", text: name }),
      h("span", { class: "big", id, text: value }),
      extra ? h("span", { class: "ci", text: extra }) : null);
  }

  function flagWords(flags) {
    return FLAG_WORDS.filter(([name]) => flags && flags[name]).map(([, words]) => words);
  }

  function tumourCells(counts) {
    return (counts.tumor_pos || 0) + (counts.tumor_neg || 0);
  }

  async function resultPage(jobId) {
    const token = current.token;
    let job;
    try {
      job = await apiJson(`/v1/jobs/${jobId}`);
    } catch (error) {
      if (error.status === 404) { notFound("job"); return; }
      throw error;
    }
    let slide = null;
    try { slide = await apiJson(`/v1/slides/${job.slide_id}`); } catch (_) { /* label only */ }
    if (!alive(token)) return;
    const label = slide ? slide.label : job.slide_id;
    const crumbs = h("p", { class: "crumbs" }, h("a", { href: "#/jobs", text: "Jobs" }), " › ", label);

    if (job.state !== "succeeded") {
      const status = h("div", { id: "job-status" });
      page(`${label}: ${job.state}`, "jobs", crumbs, h("h1", { text: label }), status,
        h("p", {}, h("a", { href: `#/jobs/${jobId}/view`, text: "Look at the slide" })));
      const show = (j) => {
        status.replaceChildren(
          h("p", {}, j.state === "failed" ? "This job " : "This job is ", stateBadge(j.state),
            j.state === "failed" ? "." : "; this page updates itself."),
          h("p", {}, ...progressCell(j)),
          h("p", { text: `Attempt ${j.attempts} of ${j.max_attempts}. Queued ${when(j.queued_at)}.` }),
          j.error ? h("p", { class: "message error", role: "alert", text: j.state === "failed"
            ? `It failed: ${j.error}` : `The last attempt stopped: ${j.error}` }) : null);
      };
      show(job);
      if (job.state === "failed") return;
      const wait = async () => {
        if (!alive(token)) return;
        try {
          const fresh = await apiJson(`/v1/jobs/${jobId}`);
          if (!alive(token)) return;
          if (fresh.state === "succeeded") { route(); return; }
          show(fresh);
          if (fresh.state === "failed") return;
        } catch (error) {
          if (error.status === 401) return;
        }
        const timer = window.setTimeout(wait, POLL_MS);
        onLeave(() => window.clearTimeout(timer));
      };
      const timer = window.setTimeout(wait, POLL_MS);
      onLeave(() => window.clearTimeout(timer));
      return;
    }

    const result = await apiJson(`/v1/jobs/${jobId}/result`);
    if (!alive(token)) return;
    const flags = result.flags || {};
    let tpsText;
    if (result.tps !== null && result.tps !== undefined) tpsText = pct(result.tps);
    else tpsText = flags.not_ihc ? "withheld" : "undefined";
    const ci = result.tps_ci95 ? `95 % CI ${result.tps_ci95[0].toFixed(1)}–${result.tps_ci95[1].toFixed(1)} %` : null;
    const params = result.params || {};
    const cutoffs = (result.cutoffs || []).map((c) => `${c} %`).join(", ");

    const words = flagWords(flags);
    const flagList = h("ul", { class: "flags", id: "flags" },
      words.length ? words.map((w) => h("li", { text: w })) : h("li", { class: "none", text: "No flags." }));

    const counts = result.counts || {};
    const countRows = Object.entries(counts).map(([name, n], i) => h("tr", {},
      h("th", { scope: "row" }, h("span", { class: "swatch", style: `background: rgb(${classRgb(name, i).join(",")})` }),
        className(name)),
      h("td", { class: "num", text: n.toLocaleString() })));
    countRows.push(h("tr", {}, h("th", { scope: "row", text: "All tumour cells" }),
      h("td", { class: "num", text: (result.tumor_cells ?? tumourCells(counts)).toLocaleString() })));
    const countTable = h("table", { id: "counts" },
      h("caption", { text: "Cells found, by class" }),
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Class" }), h("th", { scope: "col", class: "num", text: "Cells" }))),
      h("tbody", {}, countRows));

    const fragments = result.fragments || [];
    const fragmentTable = fragments.length ? h("table", { id: "fragments" },
      h("caption", { text: "TPS per piece of tissue" }),
      h("thead", {}, h("tr", {},
        ["Fragment", "Area (mm²)", "Tumour cells", "TPS", "95 % CI", "Category", "Flags"].map((t, i) =>
          h("th", { scope: "col", class: i >= 1 && i <= 3 ? "num" : null, text: t })))),
      h("tbody", {}, fragments.map((f) => h("tr", {},
        h("td", { text: String(f.id) }),
        h("td", { class: "num", text: f.area_mm2.toFixed(2) }),
        h("td", { class: "num", text: tumourCells(f.counts || {}).toLocaleString() }),
        h("td", { class: "num", text: f.tps === null ? "—" : pct(f.tps) }),
        h("td", { text: f.tps_ci95 ? `${f.tps_ci95[0].toFixed(1)}–${f.tps_ci95[1].toFixed(1)} %` : "—" }),
        h("td", { text: f.category || "—" }),
        h("td", { text: Object.keys(FLAG_SHORT).filter((n) => f.flags && f.flags[n]).map((n) => FLAG_SHORT[n]).join("; ") }))))
    ) : h("p", { text: "No tissue fragments were found." });

    const model = result.model || {};
    const cross = result.cross_check;
    const facts = h("dl", { class: "facts", id: "model" },
      h("dt", { text: "Model" }), h("dd", { text: `${model.name || "?"} version ${model.version || "?"}` }),
      h("dt", { text: "Model sha256" }), h("dd", {}, h("code", { text: model.sha256 || "" })),
      h("dt", { text: "Assay" }), h("dd", { text: `${params.assay || job.params.assay || ""}${cutoffs ? `, cutoffs ${cutoffs}` : ""}` }),
      h("dt", { text: "Tissue" }), h("dd", { text: result.tissue_area_mm2 !== undefined ? `${result.tissue_area_mm2.toFixed(2)} mm²` : "" }),
      cross && cross.stain_positive_share !== null && cross.stain_positive_share !== undefined ? [
        h("dt", { text: "Stain cross-check" }),
        h("dd", { text: `the stain calls ${pct(cross.stain_positive_share)} of the model's tumour cells positive` +
          (cross.difference === null ? "" : Math.abs(cross.difference) < 0.05 ? " (the same as the TPS)"
            : ` (the TPS is ${Math.abs(cross.difference).toFixed(1)} points ${cross.difference > 0 ? "higher" : "lower"})`) +
          (cross.disagrees ? ": they disagree" : "") }),
      ] : null,
      h("dt", { text: "Slide" }), h("dd", { text: slide ? `${slide.width} × ${slide.height} px at ${result.slide ? result.slide.mpp : slide.mpp} µm/px` : "" }),
      h("dt", { text: "Scored" }), h("dd", { text: `${when(job.started_at)} to ${when(job.finished_at)}` }));

    const stem = fileStem(label);
    const heatmap = h("img", { id: "heatmap", class: "heatmap",
      alt: "Heatmap: the TPS of each square tile of tissue, blue for 0 % through yellow to red for 100 %; grey tiles hold no tumour cells." });
    const heatmapBox = h("div", {}, h("p", { class: "hint", text: "Loading the heatmap…" }));

    page(`${label}: TPS ${tpsText}`, "jobs",
      crumbs,
      h("h1", { text: label }),
      h("section", { class: "score", "aria-label": "Score" },
        figure("TPS", tpsText, ci, "tps"),
        figure("Category", result.category || (flags.not_ihc ? "withheld" : "none"), cutoffs ? `cutoffs ${cutoffs}` : null, "category")),
      h("section", { "aria-labelledby": "flags-title" }, h("h2", { id: "flags-title", text: "Flags" }), flagList),
      h("p", {},
        h("a", { class: "button primary", href: `#/jobs/${jobId}/view`, id: "open-viewer", text: "Open in the slide viewer" })),
      h("div", { class: "columns" },
        h("section", { "aria-labelledby": "counts-title" }, h("h2", { id: "counts-title", text: "Cells" }), countTable),
        h("section", { "aria-labelledby": "model-title" }, h("h2", { id: "model-title", text: "How it was scored" }), facts)),
      h("section", { "aria-labelledby": "fragments-title" },
        h("h2", { id: "fragments-title", text: "Tissue fragments" }), fragmentTable),
      h("section", { "aria-labelledby": "downloads-title" },
        h("h2", { id: "downloads-title", text: "Downloads" }),
        h("ul", { class: "downloads" },
          h("li", {}, downloadLink(`/v1/jobs/${jobId}/result`, `${stem}-result.json`, "result.json")),
          h("li", {}, downloadLink(`/v1/jobs/${jobId}/cells.geojson`, `${stem}-cells.geojson`, "cells.geojson (QuPath)")),
          h("li", {}, downloadLink(`/v1/jobs/${jobId}/overlay.png`, `${stem}-overlay.png`, "overlay.png")),
          h("li", {}, downloadLink(`/v1/jobs/${jobId}/report.pdf`, `${stem}-report.pdf`, "report.pdf")))),
      h("section", { "aria-labelledby": "heatmap-title" },
        h("h2", { id: "heatmap-title", text: "Heatmap" }), heatmapBox));

    try {
      const url = await blobUrl(`/v1/jobs/${jobId}/heatmap.png`);
      onLeave(() => URL.revokeObjectURL(url));
      if (!alive(token)) return;
      heatmap.src = url;
      heatmapBox.replaceChildren(heatmap);
    } catch (error) {
      if (alive(token)) heatmapBox.replaceChildren(h("p", { class: "hint", text: `No heatmap: ${error.detail || error}` }));
    }
  }

  // ---------------------------------------------------------------- the slide viewer

  const LAYERS = [
    { id: "pos", label: "Tumour, PD-L1 positive", classes: ["tumor_pos"], rgb: CLASS_RGB.tumor_pos },
    { id: "neg", label: "Tumour, PD-L1 negative", classes: ["tumor_neg"], rgb: CLASS_RGB.tumor_neg },
    { id: "non", label: "Non-tumour", classes: null, rgb: CLASS_RGB.nontumor_pos },
  ];

  function layerOf(name) {
    for (const layer of LAYERS) if (layer.classes && layer.classes.includes(name)) return layer.id;
    return "non";
  }

  function niceLength(um) {
    const power = Math.pow(10, Math.floor(Math.log10(um)));
    for (const step of [5, 2, 1]) if (step * power <= um) return step * power;
    return power;
  }

  async function viewerPage(target) {
    const token = current.token;
    let job = null;
    let slideId = target.slideId;
    try {
      if (target.jobId) {
        job = await apiJson(`/v1/jobs/${target.jobId}`);
        slideId = job.slide_id;
      }
    } catch (error) {
      if (error.status === 404) { notFound("job"); return; }
      throw error;
    }
    let slide;
    let info;
    try {
      slide = await apiJson(`/v1/slides/${slideId}`);
      info = await apiJson(`/v1/slides/${slideId}/viewer.json`);
    } catch (error) {
      if (error.status === 404) { notFound("slide"); return; }
      throw error;
    }
    if (!alive(token)) return;
    if (typeof window.OpenSeadragon !== "function") {
      failure(new ApiError(0, "the viewer's script (OpenSeadragon) did not load"));
      return;
    }

    const on = { pos: true, neg: true, non: true, heatmap: false };
    const layerCounts = {};
    const layerBoxes = LAYERS.map((layer) => {
      const box = h("input", { type: "checkbox", id: `layer-${layer.id}`, checked: true, disabled: !job });
      box.addEventListener("change", () => { on[layer.id] = box.checked; drawCells(); });
      layerCounts[layer.id] = h("span", { class: "count", id: `count-${layer.id}` });
      const swatches = layer.id === "non"
        ? [h("span", { class: "swatch", style: `background: rgb(${CLASS_RGB.nontumor_pos.join(",")})` }),
          h("span", { class: "swatch", style: `background: rgb(${CLASS_RGB.nontumor_neg.join(",")})` })]
        : [h("span", { class: "swatch", style: `background: rgb(${layer.rgb.join(",")})` })];
      return h("div", { class: "layer" }, box,
        h("label", { for: `layer-${layer.id}` }, ...swatches, layer.label), layerCounts[layer.id]);
    });
    const heatBox = h("input", { type: "checkbox", id: "layer-heatmap", disabled: !job });
    heatBox.addEventListener("change", () => toggleHeatmap(heatBox.checked));
    const cellsNote = h("p", { class: "hint", id: "cells-note", "aria-live": "polite",
      text: job ? "Loading cells…" : "Open a job's viewer to see its cells." });
    const cellInfo = h("div", { class: "cell-info", id: "cell-info", "aria-live": "polite" },
      h("p", { class: "hint", text: job ? "Click a cell to see its class and probabilities." : "" }));
    const osd = h("div", { id: "osd" });
    const scalebar = h("div", { class: "scalebar", "aria-hidden": "true" }, h("span", { class: "label" }), h("div", { class: "bar" }));
    const overlay = h("canvas", { class: "cells-layer", "aria-hidden": "true" });
    const wrap = h("div", { class: "osd-wrap" }, osd);

    const crumbs = h("p", { class: "crumbs" }, h("a", { href: "#/jobs", text: "Jobs" }), " › ",
      job ? h("a", { href: `#/jobs/${job.id}`, text: slide.label }) : slide.label, " › viewer");
    page(`${slide.label}: viewer`, job ? "jobs" : "upload", crumbs,
      h("h1", { text: `${slide.label}` }),
      h("div", { class: "viewer-layout" }, wrap,
        h("aside", { class: "side", "aria-label": "Layers and cell details" },
          h("fieldset", {}, h("legend", { text: "Cells" }), layerBoxes, cellsNote),
          h("fieldset", {}, h("legend", { text: "Other layers" }),
            h("div", { class: "layer" }, heatBox, h("label", { for: "layer-heatmap", text: "Heatmap (TPS per tile)" })),
            h("p", { class: "hint", text: "Blue 0 %, yellow 50 %, red 100 %; grey: no tumour cells." })),
          h("fieldset", {}, h("legend", { text: "Selected cell" }), cellInfo),
          h("p", { class: "hint", text: `${info.width} × ${info.height} px` +
            (info.mpp ? ` at ${info.mpp} µm/px` : "") }))));

    const viewer = window.OpenSeadragon({
      element: osd,
      prefixUrl: "/ui/vendor/openseadragon/images/",
      tileSources: `/v1/slides/${slideId}/viewer.dzi`,
      loadTilesWithAjax: true,
      ajaxHeaders: { "X-API-Key": key() || "" },
      drawer: "canvas",
      showNavigator: true,
      navigatorPosition: "TOP_RIGHT",
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
      maxZoomPixelRatio: 4,
      visibilityRatio: 0.5,
      crossOriginPolicy: false,
    });
    onLeave(() => viewer.destroy());
    const container = viewer.canvas;  // OSD's own element inside #osd; ours go on top of it
    // OSD makes this element focusable and moves the view with the keyboard.
    container.setAttribute("role", "application");
    container.setAttribute("aria-label", `Slide ${slide.label}. Arrow keys pan, plus and minus ` +
      "zoom, 0 shows the whole slide. Click a cell to see its details.");
    container.append(overlay, scalebar);

    let cells = [];  // [x, y, classIndex, pObj, pClass]
    let classes = [];
    let selected = null;
    let fetchTimer = null;
    let inflight = null;
    let heatItem = null;
    let heatLoading = false;

    // The Deep Zoom image may show only the scanned area: its (0, 0) is level-0 `offset`.
    const [offX, offY] = info.offset || [0, 0];

    /* Level-0 px -> screen px: screen = o + k * level0. */
    function toScreen() {
      const origin = viewer.viewport.imageToViewerElementCoordinates(new window.OpenSeadragon.Point(-offX, -offY));
      const unit = viewer.viewport.imageToViewerElementCoordinates(new window.OpenSeadragon.Point(1000 - offX, -offY));
      return { ox: origin.x, oy: origin.y, k: (unit.x - origin.x) / 1000 };
    }

    function drawScale() {
      if (!info.mpp) { scalebar.hidden = true; return; }
      const { k } = toScreen();  // screen px per level-0 px
      if (!(k > 0)) return;
      const umPerScreenPx = info.mpp / k;
      const um = niceLength(umPerScreenPx * 140);
      scalebar.querySelector(".bar").style.width = `${um / umPerScreenPx}px`;
      scalebar.querySelector(".label").textContent = um >= 1000 ? `${um / 1000} mm` : `${um} µm`;
    }

    function drawCells() {
      const ratio = window.devicePixelRatio || 1;
      const width = container.clientWidth;
      const height = container.clientHeight;
      if (overlay.width !== Math.round(width * ratio) || overlay.height !== Math.round(height * ratio)) {
        overlay.width = Math.round(width * ratio);
        overlay.height = Math.round(height * ratio);
        overlay.style.width = `${width}px`;
        overlay.style.height = `${height}px`;
      }
      const ctx = overlay.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, width, height);
      drawScale();
      if (!cells.length) return;
      const { ox, oy, k } = toScreen();
      const radiusUm = 4;
      const r = Math.max(1.5, Math.min(10, (info.mpp ? radiusUm / info.mpp : 8) * k));
      const layers = classes.map((name) => layerOf(name));
      const colours = classes.map((name, i) => `rgb(${classRgb(name, i).join(",")})`);
      ctx.lineWidth = r > 4 ? 2 : 1.5;
      for (let c = 0; c < classes.length; c += 1) {
        if (!on[layers[c]]) continue;
        ctx.strokeStyle = colours[c];
        ctx.fillStyle = colours[c];
        ctx.beginPath();
        for (const cell of cells) {
          if (cell[2] !== c) continue;
          const x = ox + cell[0] * k;
          const y = oy + cell[1] * k;
          if (x < -r || y < -r || x > width + r || y > height + r) continue;
          ctx.moveTo(x + r, y);
          ctx.arc(x, y, r, 0, 2 * Math.PI);
        }
        if (r > 4) ctx.stroke(); else ctx.fill();
      }
      if (selected) {
        const x = ox + selected[0] * k;
        const y = oy + selected[1] * k;
        ctx.lineWidth = 3;
        ctx.strokeStyle = "#000";
        ctx.beginPath();
        ctx.arc(x, y, r + 5, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = 1.5;
        ctx.stroke();
      }
    }

    function noteCounts() {
      const per = { pos: 0, neg: 0, non: 0 };
      for (const cell of cells) per[layerOf(classes[cell[2]])] += 1;
      for (const layer of LAYERS) layerCounts[layer.id].textContent = cells.length ? per[layer.id].toLocaleString() : "";
    }

    async function fetchCells() {
      if (!job || !alive(token)) return;
      const bounds = viewer.viewport.viewportToImageRectangle(viewer.viewport.getBounds(true));
      const x = Math.max(0, Math.floor(bounds.x)) + offX;
      const y = Math.max(0, Math.floor(bounds.y)) + offY;
      const x1 = Math.min(info.width, Math.ceil(bounds.x + bounds.width)) + offX;
      const y1 = Math.min(info.height, Math.ceil(bounds.y + bounds.height)) + offY;
      if (x1 <= x || y1 <= y) { cells = []; drawCells(); noteCounts(); return; }
      if (inflight) inflight.abort();
      inflight = new AbortController();
      try {
        const answer = await apiJson(`/v1/jobs/${job.id}/cells?x=${x}&y=${y}&width=${x1 - x}&height=${y1 - y}&limit=5000`,
          { signal: inflight.signal });
        if (!alive(token)) return;
        classes = answer.classes;
        cells = answer.cells;
        cellsNote.textContent = answer.truncated
          ? `Showing ${cells.length.toLocaleString()} of ${answer.total_in_region.toLocaleString()} cells in view: zoom in to see them all.`
          : `${cells.length.toLocaleString()} cells in view.`;
        osd.dataset.cells = String(cells.length);
        noteCounts();
        drawCells();
      } catch (error) {
        if (error.name === "AbortError" || !alive(token)) return;
        cells = [];
        drawCells();
        noteCounts();
        cellsNote.textContent = error.status === 409 ? "Cells appear once the job has succeeded."
          : `No cells: ${error.detail || error}`;
      }
    }

    function scheduleFetch() {
      window.clearTimeout(fetchTimer);
      fetchTimer = window.setTimeout(fetchCells, 250);
    }
    onLeave(() => { window.clearTimeout(fetchTimer); if (inflight) inflight.abort(); });

    async function toggleHeatmap(show) {
      on.heatmap = show;
      if (heatItem) { heatItem.setOpacity(show ? 0.55 : 0); return; }
      if (!show || heatLoading) return;
      heatLoading = true;
      try {
        const blob = await (await api(`/v1/jobs/${job.id}/heatmap.png`)).blob();
        const picture = await createImageBitmap(blob);
        // heatmap.png is the whole slide (level 0) at overview scale with a legend band below
        // it: keep the slide's part only, and lay it over level 0 (the Deep Zoom image may
        // start at `offset`; viewport units are Deep Zoom image widths).
        const tall = Math.min(picture.height, Math.round(picture.width * slide.height / slide.width));
        const crop = document.createElement("canvas");
        crop.width = picture.width;
        crop.height = tall;
        crop.getContext("2d").drawImage(picture, 0, 0);
        const url = await new Promise((resolve) => crop.toBlob((b) => resolve(URL.createObjectURL(b)), "image/png"));
        onLeave(() => URL.revokeObjectURL(url));
        if (!alive(token)) return;
        viewer.addSimpleImage({
          url, x: -offX / info.width, y: -offY / info.width, width: slide.width / info.width, opacity: on.heatmap ? 0.55 : 0, loadTilesWithAjax: false,
          success: (event) => { heatItem = event.item; heatItem.setOpacity(on.heatmap ? 0.55 : 0); },
        });
      } catch (error) {
        if (!alive(token)) return;
        heatBox.checked = false;
        heatBox.disabled = true;
        cellsNote.textContent = `No heatmap: ${error.detail || error}`;
      } finally {
        heatLoading = false;
      }
    }

    viewer.addHandler("open", () => {
      if (viewer.drawer && viewer.drawer.canvas) viewer.drawer.canvas.classList.add("slide-pixels");
      osd.dataset.open = "1";
      drawCells();
      scheduleFetch();
    });
    viewer.addHandler("open-failed", (event) => {
      wrap.prepend(h("p", { class: "message error", role: "alert", text: `The slide did not open: ${event.message}` }));
    });
    viewer.addHandler("update-viewport", drawCells);
    viewer.addHandler("resize", () => { drawCells(); scheduleFetch(); });
    viewer.addHandler("animation-finish", scheduleFetch);
    viewer.addHandler("tile-loaded", () => { osd.dataset.tiles = String(Number(osd.dataset.tiles || 0) + 1); });
    viewer.addHandler("canvas-click", (event) => {
      if (!event.quick || !cells.length) return;
      const { ox, oy, k } = toScreen();
      let best = null;
      let bestDistance = 14 * 14;
      for (const cell of cells) {
        if (!on[layerOf(classes[cell[2]])]) continue;
        const dx = ox + cell[0] * k - event.position.x;
        const dy = oy + cell[1] * k - event.position.y;
        const distance = dx * dx + dy * dy;
        if (distance < bestDistance) { best = cell; bestDistance = distance; }
      }
      selected = best;
      drawCells();
      if (!best) {
        cellInfo.replaceChildren(h("p", { class: "hint", text: "No cell there. Click closer to a marked cell." }));
        return;
      }
      const name = classes[best[2]];
      cellInfo.replaceChildren(h("dl", { class: "facts" },
        h("dt", { text: "Class" }), h("dd", {}, h("span", { class: "swatch", style: `background: rgb(${classRgb(name, best[2]).join(",")})` }), className(name)),
        h("dt", { text: "p(cell)" }), h("dd", { text: best[3].toFixed(3) }),
        h("dt", { text: "p(class)" }), h("dd", { text: best[4].toFixed(3) }),
        h("dt", { text: "Position" }), h("dd", { text: `x ${Math.round(best[0])}, y ${Math.round(best[1])} px` })));
    });
    window.addEventListener("resize", drawCells);
    onLeave(() => window.removeEventListener("resize", drawCells));
  }

  // ---------------------------------------------------------------- start

  document.getElementById("signout").addEventListener("click", () => signOut("Signed out. The key is gone from this tab."));
  window.addEventListener("hashchange", route);
  route();
}());
