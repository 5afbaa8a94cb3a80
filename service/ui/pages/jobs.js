/* Jobs: the lab's jobs, newest first, updated every 2 seconds without redrawing rows that did
 * not change; filter by state; select jobs for a batch report (jobs_batch.js). */
import { apiJson } from "../api.js";
import { h } from "../dom.js";
import { when } from "../format.js";
import { page } from "../frame.js";
import { alive, onLeave, pageToken } from "../lifecycle.js";
import { takeFlash } from "../session.js";
import { POLL_MS, jobProblem, progressCell, stateBadge } from "./job_state.js";
import { batchPanel, makeBatch } from "./jobs_batch.js";

const jobsSelection = new Set();  // kept while moving between pages

function makeRow(job, onPick) {
  const box = h("input", { type: "checkbox", class: "pick" });
  const parts = {
    box, slide: h("td", { class: "label" }), assay: h("td"), state: h("td", { class: "job-state" }),
    progress: h("td", { class: "job-progress" }), attempts: h("td", { class: "num" }),
    queued: h("td"), problem: h("td", { class: "err" }), open: h("td"),
  };
  const tr = h("tr", { "data-job": job.id }, h("td", {}, box), parts.slide, parts.assay,
    parts.state, parts.progress, parts.attempts, parts.queued, parts.problem, parts.open);
  box.addEventListener("change", () => {
    if (box.checked) jobsSelection.add(job.id); else jobsSelection.delete(job.id);
    tr.classList.toggle("selected", box.checked);
    onPick();
  });
  return { tr, parts, key: "" };
}

function fillRow(row, job, label) {
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

export async function jobsPage() {
  const token = pageToken();
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
  const batch = batchPanel();
  const batchForm = h("form", { id: "batch-form" },
    h("div", { class: "toolbar" },
      h("label", { for: "state-filter", text: "Show" }), filter, updated),
    table, empty,
    h("div", { class: "toolbar" }, batchButton,
      h("span", { class: "muted", text: "A batch gathers the selected jobs into one CSV, JSON or PDF report." })),
    batchMessage);

  page("Jobs", "jobs", h("h1", { text: "Jobs" }), takeFlash(), batchForm, batch);

  const rows = new Map();  // job id -> {tr, parts, key}

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

  function draw() {
    const shown = visible();
    for (const [id, row] of rows) {
      if (!jobs.some((job) => job.id === id)) { row.tr.remove(); rows.delete(id); }
    }
    const order = [];
    for (const job of shown) {
      let row = rows.get(job.id);
      if (!row) { row = makeRow(job, refreshSelection); rows.set(job.id, row); }
      fillRow(row, job, labels.get(job.slide_id) || job.slide_id.slice(0, 8));
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

  batchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = jobs.filter((job) => jobsSelection.has(job.id)).map((job) => job.id);
    if (!ids.length) return;
    batchButton.disabled = true;
    await makeBatch(ids, batch, batchMessage, token);
    refreshSelection();
  });

  await poll();
}
