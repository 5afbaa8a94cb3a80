/* A batch of the selected jobs and its report downloads (CSV, JSON, PDF). The last batch made
 * is kept while moving between pages. */
import { apiJson, downloadLink } from "../api.js";
import { announce, h } from "../dom.js";
import { alive } from "../lifecycle.js";

let lastBatch = null;

function showBatch(panel, batch) {
  const counts = Object.entries(batch.by_state).filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`).join(", ");
  const stem = `batch-${batch.id.slice(0, 8)}`;
  panel.hidden = false;
  panel.replaceChildren(
    h("h2", { id: "batch-title", text: "Batch report" }),
    h("p", { text: `${batch.total} job${batch.total === 1 ? "" : "s"}: ${counts}. ` +
      "A report lists each job as it stands when you download it." }),
    h("ul", { class: "downloads" },
      h("li", {}, downloadLink(`/v1/batches/${batch.id}/report.csv`, `${stem}.csv`, "Report CSV")),
      h("li", {}, downloadLink(`/v1/batches/${batch.id}/report.json`, `${stem}.json`, "Report JSON")),
      h("li", {}, downloadLink(`/v1/batches/${batch.id}/report.pdf`, `${stem}.pdf`, "Report PDF"))));
}

/* The panel the batch's downloads appear in, showing the last batch if there is one. */
export function batchPanel() {
  const panel = h("section", { id: "batch", class: "panel", hidden: true, "aria-labelledby": "batch-title" });
  if (lastBatch) showBatch(panel, lastBatch);
  return panel;
}

/* Make a batch of the jobs `ids` and show it in `panel`; a refusal goes in `message`. */
export async function makeBatch(ids, panel, message, token) {
  message.className = "message";
  message.textContent = "";
  try {
    lastBatch = await apiJson("/v1/batches", { method: "POST", json: { job_ids: ids } });
    if (!alive(token)) return;
    showBatch(panel, lastBatch);
    announce("The batch report is ready to download");
    const first = panel.querySelector("a");
    if (first) first.focus();
  } catch (error) {
    if (error.status === 401) return;
    message.className = "message error";
    message.textContent = `No batch: ${error.detail}`;
  }
}
