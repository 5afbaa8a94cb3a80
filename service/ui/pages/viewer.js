/* The slide viewer: the slide in OpenSeadragon (Deep Zoom tiles fetched with the key), and
 * over it, for a job, its cells by class (viewer_cells.js) and two picture layers, the tissue
 * outline (on at first) and the heatmap (viewer_layers.js); a scale bar and a side panel of
 * switches and the clicked cell's details. */
import { api, ApiError, apiJson } from "../api.js";
import { h } from "../dom.js";
import { failure, notFound, page } from "../frame.js";
import { alive, onLeave, pageToken } from "../lifecycle.js";
import { key } from "../session.js";
import { cellControls, cellsLayer } from "./viewer_cells.js";
import { scaleBar, slideGeometry } from "./viewer_geometry.js";
import { pictureLayer } from "./viewer_layers.js";

const HEATMAP_OPACITY = 0.55;

/* A switch for a picture layer, and what it says when the picture cannot be had. */
function layerSwitch(id, label, checked, job) {
  const box = h("input", { type: "checkbox", id, checked, disabled: !job });
  return { box, row: h("div", { class: "layer" }, box, h("label", { for: id, text: label })) };
}

function openViewer(osd, slideId, label) {
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
  // OSD makes its own element focusable and moves the view with the keyboard.
  viewer.canvas.setAttribute("role", "application");
  viewer.canvas.setAttribute("aria-label", `Slide ${label}. Arrow keys pan, plus and minus ` +
    "zoom, 0 shows the whole slide. Click a cell to see its details.");
  return viewer;
}

/* target: {jobId} (the job's slide with its cells and layers) or {slideId} (the slide alone). */
export async function viewerPage(target) {
  const token = pageToken();
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

  const controls = cellControls(job);
  const outline = layerSwitch("layer-outline", "Tissue outline", true, job);
  const heat = layerSwitch("layer-heatmap", "Heatmap (TPS per tile)", false, job);
  const layersNote = h("div", { id: "layers-note", "aria-live": "polite" });
  const osd = h("div", { id: "osd" });
  const wrap = h("div", { class: "osd-wrap" }, osd);
  const crumbs = h("p", { class: "crumbs" }, h("a", { href: "#/jobs", text: "Jobs" }), " › ",
    job ? h("a", { href: `#/jobs/${job.id}`, text: slide.label }) : slide.label, " › viewer");
  page(`${slide.label}: viewer`, job ? "jobs" : "upload", crumbs,
    h("h1", { text: `${slide.label}` }),
    h("div", { class: "viewer-layout" }, wrap,
      h("aside", { class: "side", "aria-label": "Layers and cell details" },
        h("fieldset", {}, h("legend", { text: "Cells" }), controls.boxes, controls.note),
        h("fieldset", {}, h("legend", { text: "Other layers" }), outline.row, heat.row,
          h("p", { class: "hint", text: "The outline marks the edge of the tissue analysed. " +
            "Heatmap: blue 0 %, yellow 50 %, red 100 %; grey: no tumour cells." }),
          layersNote),
        h("fieldset", {}, h("legend", { text: "Selected cell" }), controls.info),
        h("p", { class: "hint", text: `${info.width} × ${info.height} px` +
          (info.mpp ? ` at ${info.mpp} µm/px` : "") }))));

  const viewer = openViewer(osd, slideId, slide.label);
  onLeave(() => viewer.destroy());
  const geometry = slideGeometry(viewer, info);
  const scale = scaleBar(info, geometry);
  const cells = cellsLayer({ viewer, geometry, info, job, controls, osd, token });
  viewer.canvas.append(cells.canvas, scale.element);  // ours go on top of OSD's drawing
  const redraw = () => { scale.draw(); cells.draw(); };

  const pictures = [];
  function picture(what, name, layer, options) {
    const made = pictureLayer(viewer, { path: `/v1/jobs/${job.id}/${name}`, slide, info, token,
      ...options,
      onFail: (error) => {
        layer.box.checked = false;
        layer.box.disabled = true;
        layersNote.append(h("p", { class: "hint", text: error.status === 409
          ? `The ${what} appears once the job has succeeded.` : `No ${what}: ${error.detail || error.message || error}` }));
      } });
    layer.box.addEventListener("change", () => made.show(layer.box.checked));
    made.show(layer.box.checked);
    pictures.push(made);
  }
  if (job) {
    // The outline over the heatmap: the heatmap goes in just above the slide (index 1).
    picture("tissue outline", "tissue.png", outline, { opacity: 1,
      onReady: () => { osd.dataset.outline = "1"; } });
    // heatmap.png's legend can make it wider than the slide picture: take the picture's width
    // from tissue.png, drawn on the same canvas without a legend.
    let outlineWidth = null;
    const pictureWidth = () => outlineWidth || (outlineWidth = api(`/v1/jobs/${job.id}/tissue.png`)
      .then((r) => r.blob()).then(createImageBitmap).then((bitmap) => bitmap.width));
    picture("heatmap", "heatmap.png", heat, { opacity: HEATMAP_OPACITY, index: 1, pictureWidth });
  }

  viewer.addHandler("open", () => {
    if (viewer.drawer && viewer.drawer.canvas) viewer.drawer.canvas.classList.add("slide-pixels");
    geometry.opened();
    osd.dataset.open = "1";
    redraw();
    cells.scheduleFetch();
    for (const made of pictures) made.opened();
  });
  viewer.addHandler("open-failed", (event) => {
    wrap.prepend(h("p", { class: "message error", role: "alert", text: `The slide did not open: ${event.message}` }));
  });
  viewer.addHandler("update-viewport", redraw);
  viewer.addHandler("resize", () => { redraw(); cells.scheduleFetch(); });
  viewer.addHandler("animation-finish", cells.scheduleFetch);
  viewer.addHandler("tile-loaded", () => { osd.dataset.tiles = String(Number(osd.dataset.tiles || 0) + 1); });
  viewer.addHandler("canvas-click", cells.pick);
  window.addEventListener("resize", redraw);
  onLeave(() => window.removeEventListener("resize", redraw));
}
