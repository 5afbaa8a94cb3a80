/* A job that has not succeeded: its state, progress and error, asked again every 2 seconds
 * until it succeeds (then the result page is drawn) or fails. */
import { apiJson } from "../api.js";
import { h } from "../dom.js";
import { when } from "../format.js";
import { page } from "../frame.js";
import { alive, onLeave, showAgain } from "../lifecycle.js";
import { POLL_MS, progressCell, stateBadge } from "./job_state.js";

export function waitingPage(job, label, crumbs, token) {
  const status = h("div", { id: "job-status" });
  page(`${label}: ${job.state}`, "jobs", crumbs, h("h1", { text: label }), status,
    h("p", {}, h("a", { href: `#/jobs/${job.id}/view`, text: "Look at the slide" })));
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
      const fresh = await apiJson(`/v1/jobs/${job.id}`);
      if (!alive(token)) return;
      if (fresh.state === "succeeded") { showAgain(); return; }
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
}
