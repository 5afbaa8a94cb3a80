/* The lab's key, kept for this tab only (sessionStorage: gone when the tab closes), the page to
 * go on to after signing in, sign out, and the one-time message the next page shows. */
import { h } from "./dom.js";
import { showAgain } from "./lifecycle.js";

const KEY_ITEM = "tps.key";
const NEXT_ITEM = "tps.next";

let flash = null;

export const key = () => sessionStorage.getItem(KEY_ITEM);

export function keepKey(typed) { sessionStorage.setItem(KEY_ITEM, typed); }

/* Remember where a signed-out visitor was going, to go there once signed in. */
export function goAfterSignIn(hash) { sessionStorage.setItem(NEXT_ITEM, hash); }

export function takeNext() {
  const next = sessionStorage.getItem(NEXT_ITEM);
  sessionStorage.removeItem(NEXT_ITEM);
  return next;
}

export function signOut(message) {
  sessionStorage.removeItem(KEY_ITEM);
  sessionStorage.removeItem(NEXT_ITEM);
  setFlash(message, "info");
  if (location.hash === "#/signin") showAgain();
  else location.hash = "#/signin";
}

/* A message for the next page drawn (kind: ok, info or error); none when text is empty. */
export function setFlash(text, kind) {
  flash = text ? { text, kind } : null;
}

export function takeFlash() {
  const message = flash;
  flash = null;
  return message ? h("p", { class: `message ${message.kind}`, role: "status", text: message.text }) : null;
}
