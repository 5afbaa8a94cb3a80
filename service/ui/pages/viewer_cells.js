/* The cells over the slide: those of the region in view, asked for after each move, drawn by
 * class on a canvas of our own above OpenSeadragon's (only the layers switched on), and the
 * nearest drawn cell to a click told in words. */
import { apiJson } from "../api.js";
import { CLASS_RGB, className, classRgb, swatch } from "../classes.js";
import { h } from "../dom.js";
import { alive, onLeave } from "../lifecycle.js";

const LAYERS = [
  { id: "pos", label: "Tumour, PD-L1 positive", classes: ["tumor_pos"], rgb: CLASS_RGB.tumor_pos },
  { id: "neg", label: "Tumour, PD-L1 negative", classes: ["tumor_neg"], rgb: CLASS_RGB.tumor_neg },
  { id: "non", label: "Non-tumour", classes: null, rgb: CLASS_RGB.nontumor_pos },
];
const RADIUS_UM = 4;

function layerOf(name) {
  for (const layer of LAYERS) if (layer.classes && layer.classes.includes(name)) return layer.id;
  return "non";
}

/* The side panel's part: a switch per layer with its count, a note on the cells in view, and
 * the selected cell's details. Disabled without a job (a slide alone has no cells). */
export function cellControls(job) {
  const controls = { on: { pos: true, neg: true, non: true }, counts: {}, redraw: () => {} };
  controls.boxes = LAYERS.map((layer) => {
    const box = h("input", { type: "checkbox", id: `layer-${layer.id}`, checked: true, disabled: !job });
    box.addEventListener("change", () => { controls.on[layer.id] = box.checked; controls.redraw(); });
    controls.counts[layer.id] = h("span", { class: "count", id: `count-${layer.id}` });
    const swatches = layer.id === "non" ? [swatch(CLASS_RGB.nontumor_pos), swatch(CLASS_RGB.nontumor_neg)]
      : [swatch(layer.rgb)];
    return h("div", { class: "layer" }, box,
      h("label", { for: `layer-${layer.id}` }, ...swatches, layer.label), controls.counts[layer.id]);
  });
  controls.note = h("p", { class: "hint", id: "cells-note", "aria-live": "polite",
    text: job ? "Loading cells…" : "Open a job's viewer to see its cells." });
  controls.info = h("div", { class: "cell-info", id: "cell-info", "aria-live": "polite" },
    h("p", { class: "hint", text: job ? "Click a cell to see its class and probabilities." : "" }));
  return controls;
}

/* The layer itself: `canvas` goes over the viewer; draw() after every move, scheduleFetch()
 * when the view settles, pick(event) on a click. `osd` carries data-cells (the count shown). */
export function cellsLayer({ viewer, geometry, info, job, controls, osd, token }) {
  const canvas = h("canvas", { class: "cells-layer", "aria-hidden": "true" });
  const container = viewer.canvas;
  let cells = [];  // [x, y, classIndex, pObj, pClass]
  let classes = [];
  let selected = null;
  let fetchTimer = null;
  let inflight = null;

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = container.clientWidth;
    const height = container.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const at = geometry.toScreen();
    if (!cells.length || !at) return;
    const { ox, oy, k } = at;
    const r = Math.max(1.5, Math.min(10, (info.mpp ? RADIUS_UM / info.mpp : 8) * k));
    const layers = classes.map((name) => layerOf(name));
    const colours = classes.map((name, i) => `rgb(${classRgb(name, i).join(",")})`);
    ctx.lineWidth = r > 4 ? 2 : 1.5;
    for (let c = 0; c < classes.length; c += 1) {
      if (!controls.on[layers[c]]) continue;
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
      ctx.lineWidth = 3;
      ctx.strokeStyle = "#000";
      ctx.beginPath();
      ctx.arc(ox + selected[0] * k, oy + selected[1] * k, r + 5, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
  }
  controls.redraw = draw;

  function noteCounts() {
    const per = { pos: 0, neg: 0, non: 0 };
    for (const cell of cells) per[layerOf(classes[cell[2]])] += 1;
    for (const layer of LAYERS) controls.counts[layer.id].textContent = cells.length ? per[layer.id].toLocaleString() : "";
  }

  async function fetchCells() {
    const region = geometry.inView();
    if (!job || !alive(token) || !region) return;
    const [x, y, x1, y1] = region;
    if (x1 <= x || y1 <= y) { cells = []; draw(); noteCounts(); return; }
    if (inflight) inflight.abort();
    inflight = new AbortController();
    try {
      const answer = await apiJson(`/v1/jobs/${job.id}/cells?x=${x}&y=${y}&width=${x1 - x}&height=${y1 - y}&limit=5000`,
        { signal: inflight.signal });
      if (!alive(token)) return;
      classes = answer.classes;
      cells = answer.cells;
      controls.note.textContent = answer.truncated
        ? `Showing ${cells.length.toLocaleString()} of ${answer.total_in_region.toLocaleString()} cells in view: zoom in to see them all.`
        : `${cells.length.toLocaleString()} cells in view.`;
      osd.dataset.cells = String(cells.length);
      noteCounts();
      draw();
    } catch (error) {
      if (error.name === "AbortError" || !alive(token)) return;
      cells = [];
      draw();
      noteCounts();
      controls.note.textContent = error.status === 409 ? "Cells appear once the job has succeeded."
        : `No cells: ${error.detail || error}`;
    }
  }

  function scheduleFetch() {
    window.clearTimeout(fetchTimer);
    fetchTimer = window.setTimeout(fetchCells, 250);
  }
  onLeave(() => { window.clearTimeout(fetchTimer); if (inflight) inflight.abort(); });

  /* A click (OpenSeadragon's canvas-click event): the nearest shown cell within 14 px. */
  function pick(event) {
    const at = geometry.toScreen();
    if (!event.quick || !cells.length || !at) return;
    let best = null;
    let bestDistance = 14 * 14;
    for (const cell of cells) {
      if (!controls.on[layerOf(classes[cell[2]])]) continue;
      const dx = at.ox + cell[0] * at.k - event.position.x;
      const dy = at.oy + cell[1] * at.k - event.position.y;
      const distance = dx * dx + dy * dy;
      if (distance < bestDistance) { best = cell; bestDistance = distance; }
    }
    selected = best;
    draw();
    if (!best) {
      controls.info.replaceChildren(h("p", { class: "hint", text: "No cell there. Click closer to a marked cell." }));
      return;
    }
    const name = classes[best[2]];
    controls.info.replaceChildren(h("dl", { class: "facts" },
      h("dt", { text: "Class" }), h("dd", {}, swatch(classRgb(name, best[2])), className(name)),
      h("dt", { text: "p(cell)" }), h("dd", { text: best[3].toFixed(3) }),
      h("dt", { text: "p(class)" }), h("dd", { text: best[4].toFixed(3) }),
      h("dt", { text: "Position" }), h("dd", { text: `x ${Math.round(best[0])}, y ${Math.round(best[1])} px` })));
  }

  return { canvas, draw, scheduleFetch, pick };
}
