/* The parts of a job's result in tables and lists: flags in words, cells by class, TPS per
 * tissue fragment, and how it was scored. */
import { className, classRgb, swatch } from "../classes.js";
import { h } from "../dom.js";
import { pct, when } from "../format.js";

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

function tumourCells(counts) {
  return (counts.tumor_pos || 0) + (counts.tumor_neg || 0);
}

export function flagList(flags) {
  const words = FLAG_WORDS.filter(([name]) => flags && flags[name]).map(([, text]) => text);
  return h("ul", { class: "flags", id: "flags" },
    words.length ? words.map((w) => h("li", { text: w })) : h("li", { class: "none", text: "No flags." }));
}

export function countTable(result) {
  const counts = result.counts || {};
  const rows = Object.entries(counts).map(([name, n], i) => h("tr", {},
    h("th", { scope: "row" }, swatch(classRgb(name, i)), className(name)),
    h("td", { class: "num", text: n.toLocaleString() })));
  rows.push(h("tr", {}, h("th", { scope: "row", text: "All tumour cells" }),
    h("td", { class: "num", text: (result.tumor_cells ?? tumourCells(counts)).toLocaleString() })));
  return h("table", { id: "counts" },
    h("caption", { text: "Cells found, by class" }),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Class" }), h("th", { scope: "col", class: "num", text: "Cells" }))),
    h("tbody", {}, rows));
}

export function fragmentTable(fragments) {
  if (!fragments.length) return h("p", { text: "No tissue fragments were found." });
  return h("table", { id: "fragments" },
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
      h("td", { text: Object.keys(FLAG_SHORT).filter((n) => f.flags && f.flags[n]).map((n) => FLAG_SHORT[n]).join("; ") })))));
}

function crossCheck(cross) {
  if (!cross || cross.stain_positive_share === null || cross.stain_positive_share === undefined) return null;
  return [
    h("dt", { text: "Stain cross-check" }),
    h("dd", { text: `the stain calls ${pct(cross.stain_positive_share)} of the model's tumour cells positive` +
      (cross.difference === null ? "" : Math.abs(cross.difference) < 0.05 ? " (the same as the TPS)"
        : ` (the TPS is ${Math.abs(cross.difference).toFixed(1)} points ${cross.difference > 0 ? "higher" : "lower"})`) +
      (cross.disagrees ? ": they disagree" : "") }),
  ];
}

/* How it was scored: model, assay and cutoffs, tissue, the stain's cross-check, slide, times. */
export function scoringFacts(result, job, slide, cutoffs) {
  const model = result.model || {};
  const params = result.params || {};
  return h("dl", { class: "facts", id: "model" },
    h("dt", { text: "Model" }), h("dd", { text: `${model.name || "?"} version ${model.version || "?"}` }),
    h("dt", { text: "Model sha256" }), h("dd", {}, h("code", { text: model.sha256 || "" })),
    h("dt", { text: "Assay" }), h("dd", { text: `${params.assay || job.params.assay || ""}${cutoffs ? `, cutoffs ${cutoffs}` : ""}` }),
    h("dt", { text: "Tissue" }), h("dd", { text: result.tissue_area_mm2 !== undefined ? `${result.tissue_area_mm2.toFixed(2)} mm²` : "" }),
    crossCheck(result.cross_check),
    h("dt", { text: "Slide" }), h("dd", { text: slide ? `${slide.width} × ${slide.height} px at ${result.slide ? result.slide.mpp : slide.mpp} µm/px` : "" }),
    h("dt", { text: "Scored" }), h("dd", { text: `${when(job.started_at)} to ${when(job.finished_at)}` }));
}
