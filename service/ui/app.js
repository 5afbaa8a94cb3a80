/* PD-L1 TPS pages: a client of the public /v1 API and nothing else.
 *
 * One page with hash routes (router.js), each page its own module in pages/. The lab's API key
 * is kept for this tab only (session.js) and goes with every call as X-API-Key
 * (api.js); downloads are fetched with it and saved from memory. Everything shown that came
 * from the server is set as text, never parsed as HTML (dom.js).
 *
 * This module only starts the pages: loaded as a module, it runs once the document is parsed.
 */
import { drawPagesWith } from "./lifecycle.js";
import { route } from "./router.js";
import { signOut } from "./session.js";

drawPagesWith(route);
document.getElementById("signout").addEventListener("click", () => signOut("Signed out. The key is gone from this tab."));
window.addEventListener("hashchange", route);
route();
