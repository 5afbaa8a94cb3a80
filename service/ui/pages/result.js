/* One job's result: TPS with its interval and category, flags, cells, fragments, how it was
 * scored, the downloads and the heatmap. A job still running gets result_waiting.js instead. */
import { apiJson, blobUrl, downloadLink } from "../api.js";
import { h } from "../dom.js";
import { fileStem, pct } from "../format.js";
import { notFound, page } from "../frame.js";
import { alive, onLeave, pageToken } from "../lifecycle.js";
import { countTable, flagList, fragmentTable, scoringFacts } from "./result_tables.js";
import { waitingPage } from "./result_waiting.js";

function figure(name, value, extra, id) {
  return h("div", { class: "figure" },
    h("span", { class: "name", text: name }),
    h("span", { class: "big", id, text: value }),
    extra ? h("span", { class: "ci", text: extra }) : null);
}

function downloads(jobId, stem) {
  return h("ul", { class: "downloads" },
    h("li", {}, downloadLink(`/v1/jobs/${jobId}/result`, `${stem}-result.json`, "result.json")),
    h("li", {}, downloadLink(`/v1/jobs/${jobId}/cells.geojson`, `${stem}-cells.geojson`, "cells.geojson (QuPath)")),
    h("li", {}, downloadLink(`/v1/jobs/${jobId}/overlay.png`, `${stem}-overlay.png`, "overlay.png")),
    h("li", {}, downloadLink(`/v1/jobs/${jobId}/report.pdf`, `${stem}-report.pdf`, "report.pdf")));
}

export async function resultPage(jobId) {
  const token = pageToken();
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
    waitingPage(job, label, crumbs, token);
    return;
  }

  const result = await apiJson(`/v1/jobs/${jobId}/result`);
  if (!alive(token)) return;
  const flags = result.flags || {};
  let tpsText;
  if (result.tps !== null && result.tps !== undefined) tpsText = pct(result.tps);
  else tpsText = flags.not_ihc ? "withheld" : "undefined";
  const ci = result.tps_ci95 ? `95 % CI ${result.tps_ci95[0].toFixed(1)}–${result.tps_ci95[1].toFixed(1)} %` : null;
  const cutoffs = (result.cutoffs || []).map((c) => `${c} %`).join(", ");

  const heatmap = h("img", { id: "heatmap", class: "heatmap",
    alt: "Heatmap: the TPS of each square tile of tissue, blue for 0 % through yellow to red for 100 %; grey tiles hold no tumour cells." });
  const heatmapBox = h("div", {}, h("p", { class: "hint", text: "Loading the heatmap…" }));

  page(`${label}: TPS ${tpsText}`, "jobs",
    crumbs,
    h("h1", { text: label }),
    h("section", { class: "score", "aria-label": "Score" },
      figure("TPS", tpsText, ci, "tps"),
      figure("Category", result.category || (flags.not_ihc ? "withheld" : "none"), cutoffs ? `cutoffs ${cutoffs}` : null, "category")),
    h("section", { "aria-labelledby": "flags-title" }, h("h2", { id: "flags-title", text: "Flags" }), flagList(flags)),
    h("p", {},
      h("a", { class: "button primary", href: `#/jobs/${jobId}/view`, id: "open-viewer", text: "Open in the slide viewer" })),
    h("div", { class: "columns" },
      h("section", { "aria-labelledby": "counts-title" }, h("h2", { id: "counts-title", text: "Cells" }), countTable(result)),
      h("section", { "aria-labelledby": "model-title" }, h("h2", { id: "model-title", text: "How it was scored" }),
        scoringFacts(result, job, slide, cutoffs))),
    h("section", { "aria-labelledby": "fragments-title" },
      h("h2", { id: "fragments-title", text: "Tissue fragments" }), fragmentTable(result.fragments || [])),
    h("section", { "aria-labelledby": "downloads-title" },
      h("h2", { id: "downloads-title", text: "Downloads" }), downloads(jobId, fileStem(label))),
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
