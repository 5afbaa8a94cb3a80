/* Hash routes: which page each address draws, sign-in first for the pages that need the key,
 * and "not found" for any other address. */
import { failure, notFound } from "./frame.js";
import { begin } from "./lifecycle.js";
import { jobsPage } from "./pages/jobs.js";
import { resultPage } from "./pages/result.js";
import { signInPage } from "./pages/signin.js";
import { uploadPage } from "./pages/upload.js";
import { viewerPage } from "./pages/viewer.js";
import { goAfterSignIn, key } from "./session.js";

// [address, draw(match), needs the key]
const ROUTES = [
  [/^#\/signin$/, () => signInPage(), false],
  [/^#\/upload$/, () => uploadPage(), true],
  [/^#\/jobs$/, () => jobsPage(), true],
  [/^#\/jobs\/([\w-]+)$/, (m) => resultPage(m[1]), true],
  [/^#\/jobs\/([\w-]+)\/view$/, (m) => viewerPage({ jobId: m[1] }), true],
  [/^#\/slides\/([\w-]+)\/view$/, (m) => viewerPage({ slideId: m[1] }), true],
];

/* Go to another page in place of this one, now (no history entry, no hashchange wait). */
function redirect(hash) {
  history.replaceState(null, "", hash);
  route();
}

/* Draw the page the address names, leaving the one on show. */
export function route() {
  begin();
  const hash = location.hash || "";
  const signedIn = Boolean(key());
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
  if (hash === "" || hash === "#" || hash === "#/") {
    redirect(signedIn ? "#/jobs" : "#/signin");
    return;
  }
  for (const [pattern, render, needsKey] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    if (needsKey && !signedIn) {
      goAfterSignIn(hash);
      redirect("#/signin");
      return;
    }
    Promise.resolve().then(() => render(match)).catch(failure);
    return;
  }
  notFound(null);
}
