/* Sign in: the lab's key, tried on the API before it is kept for this tab. */
import { api } from "../api.js";
import { h } from "../dom.js";
import { page } from "../frame.js";
import { keepKey, takeFlash, takeNext } from "../session.js";

export function signInPage() {
  const input = h("input", {
    id: "key", name: "key", type: "password", autocomplete: "off", spellcheck: "false",
    required: true, "aria-describedby": "key-hint",
  });
  const error = h("p", { id: "signin-error", class: "message error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary", text: "Sign in" });
  const form = h("form", { id: "signin-form", class: "narrow" },
    h("div", { class: "field" },
      h("label", { for: "key", text: "Lab API key" }),
      input,
      h("p", { id: "key-hint", class: "hint", text: "The key your lab was given " +
        "(tps keys create --lab NAME). It is kept in this browser tab only, until you sign " +
        "out or close the tab." })),
    button, error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const typed = input.value.trim();
    error.textContent = "";
    if (!typed) { error.textContent = "Type or paste your lab's API key."; return; }
    button.disabled = true;
    try {
      await api("/v1/jobs?limit=1", { key: typed });
      keepKey(typed);
      const next = takeNext();
      location.hash = next && next !== "#/signin" ? next : "#/jobs";
    } catch (failed) {
      error.textContent = failed.status === 401
        ? "This key is not valid. Check it and try again, or ask for a new one."
        : `Could not sign in: ${failed.detail || failed}`;
      input.focus();
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  page("Sign in", null, h("h1", { text: "Sign in" }), takeFlash(), form);
  input.focus();
}
