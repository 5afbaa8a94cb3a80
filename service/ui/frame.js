/* The frame every page is drawn in: its title, the navigation's current page, the focus on its
 * heading; and the two pages any route may end on, "not found" and "something went wrong". */
import { h, main } from "./dom.js";

export function page(title, navPage, ...children) {
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

/* `what` (job, slide) the lab has not got; no such page when null. */
export function notFound(what) {
  page("Not found", null,
    h("h1", { text: "Not found" }),
    h("p", { text: what ? `Your lab has no such ${what}. Its address may be mistyped, or it ` +
      "belongs to another lab." : "There is no such page." }),
    h("p", {}, h("a", { href: "#/jobs", text: "Back to the jobs" })));
}

export function failure(error) {
  if (error && error.status === 401) return;  // signed out already
  page("Problem", null,
    h("h1", { text: "Something went wrong" }),
    h("p", { class: "message error", role: "alert", text: (error && error.detail) || String(error) }),
    h("p", {}, h("a", { href: "#/jobs", text: "Back to the jobs" })));
}
