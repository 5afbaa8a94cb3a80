/* Upload and score: send slides (uploads.js), see the lab's slides, tick some and start a job
 * for each with the assay chosen. */
import { apiJson } from "../api.js";
import { $, h } from "../dom.js";
import { bytes, when } from "../format.js";
import { page } from "../frame.js";
import { alive, onLeave, pageToken } from "../lifecycle.js";
import { setFlash, takeFlash } from "../session.js";
import { chosen, uploadFiles, uploadsTable, whenSlidesChange } from "./uploads.js";

const ASSAYS = ["22C3", "28-8", "SP263"];

export async function uploadPage() {
  const token = pageToken();
  let slides = [];

  const fileInput = h("input", { id: "files", type: "file", multiple: true, "aria-describedby": "files-hint" });
  const uploadButton = h("button", { type: "submit", class: "primary", text: "Upload" });
  const uploads = uploadsTable();
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
    h("h1", { text: "Upload and score" }), takeFlash(), drop, uploads, scoreForm);

  function refreshButton() {
    scoreButton.disabled = chosen.size === 0;
    scoreButton.textContent = chosen.size === 1 ? "Score the ticked slide"
      : `Score the ${chosen.size || ""} ticked slides`.replace("  ", " ");
    selectAll.checked = slides.length > 0 && slides.every((s) => chosen.has(s.id));
  }

  function slideRow(slide) {
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
  }

  function drawSlides() {
    noSlides.hidden = slides.length > 0;
    slidesTable.hidden = slides.length === 0;
    slidesBody.replaceChildren(...slides.map(slideRow));
    refreshButton();
  }

  async function loadSlides() {
    const list = await apiJson("/v1/slides");
    if (!alive(token)) return;
    slides = list.slice().reverse();
    drawSlides();
  }
  whenSlidesChange(() => { loadSlides().catch(() => {}); });
  onLeave(() => { whenSlidesChange(null); });

  selectAll.addEventListener("change", () => {
    for (const slide of slides) {
      if (selectAll.checked) chosen.add(slide.id); else chosen.delete(slide.id);
    }
    drawSlides();
  });

  function send(files) {
    if (!files.length) return;
    uploads.hidden = false;
    fileInput.value = "";
    uploadButton.textContent = "Upload";
    uploadFiles(files);
  }

  $("#upload-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send(Array.from(fileInput.files || []));
  });
  fileInput.addEventListener("change", () => {
    uploadButton.textContent = fileInput.files.length > 1 ? `Upload ${fileInput.files.length} files` : "Upload";
  });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    send(Array.from(event.dataTransfer.files || []));
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
      setFlash(`Started ${started} job${started === 1 ? "" : "s"} (${assay.value}).`, "ok");
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
