/* A job's state and progress as the jobs list and the result page show them. */
import { h } from "../dom.js";

export const POLL_MS = 2000;  // how often a page showing jobs asks again

export function stateBadge(state) {
  return h("span", { class: `state state-${state}`, text: state });
}

/* A progress bar of the tiles scored, and the same in words. */
export function progressCell(job) {
  const total = job.progress.total;
  const done = job.progress.done;
  if (job.state === "failed" && !total) return [h("span", { class: "progress-text", text: "no tiles read" })];
  const bar = h("progress", { max: Math.max(total, 1), value: total ? done : (job.state === "succeeded" ? 1 : 0),
    "aria-label": "Tiles scored" });
  const text = total ? `${done} / ${total} tiles` : (job.state === "queued" ? "waiting" : "");
  return [bar, h("span", { class: "progress-text", text })];
}

export function jobProblem(job) {
  if (job.state === "failed") return job.error || "failed without a reason";
  if (job.error && job.state !== "succeeded") return `retrying after: ${job.error}`;
  return "";
}
