/* The page on show: a token that changes whenever a page is drawn (so late answers meant for
 * the page before are dropped), the clean-ups to run when it goes, and a way to draw it again. */

let current = { token: 0, cleanup: [] };
let draw = () => {};

/* Leave the page on show (its clean-ups run) and start the next; returns the new token. */
export function begin() {
  for (const fn of current.cleanup) {
    try { fn(); } catch (_) { /* leaving anyway */ }
  }
  current = { token: current.token + 1, cleanup: [] };
  return current.token;
}

export function pageToken() { return current.token; }

export function onLeave(fn) { current.cleanup.push(fn); }

export function alive(token) { return token === current.token; }

/* The router says how a page is drawn (set once, at start); a page may ask to be drawn anew. */
export function drawPagesWith(fn) { draw = fn; }

export function showAgain() { draw(); }
