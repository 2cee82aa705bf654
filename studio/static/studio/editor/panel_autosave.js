// The node panel saves itself, like the canvas: debounced while typing, at once when a
// field is left, before another panel replaces it, before "Test this step" runs, and
// (keepalive) when the page unloads, unless a save is under way then (the browser asks). Each save takes its turn with the canvas autosave
// and carries the same draft revision, so another tab's change is a conflict, not an
// overwrite (studio/views/panel_autosave.py answers; docs/howto/studio.md describes it).
//
// Refused input (bad JSON, a value the guard refuses) is not saved: its reason shows on
// the field and in the panel's save notice, the text stays as typed, and the panel is not
// replaced until the user fixes it or discards it.

import { csrfToken } from "./autosave.js";
import { format, gettext } from "../js/i18n.js";
import { icon } from "../js/icons.js";

export const PANEL_SAVE_DELAY_MS = 600;
const RETRY_DELAY_MS = 3000;

const LABELS = {
  saved: gettext("Saved"),
  dirty: gettext("Unsaved changes"),
  saving: gettext("Saving…"),
};

function notSaved(reason) {
  return format(gettext("Not saved: %(reason)s"), { reason });
}

function paragraphs(messages, className) {
  return messages.map((message) => {
    const p = document.createElement("p");
    p.className = `${className} small`;
    if (className === "pn-error") p.setAttribute("role", "alert");
    p.textContent = message;
    return p;
  });
}

/** One open panel form and its save state. */
class PanelForm {
  constructor(form, { autosaver, reloadDraft, notify }) {
    this.form = form;
    this.url = form.dataset.autosaveUrl;
    this.autosaver = autosaver;
    this.reloadDraft = reloadDraft;
    this.notify = notify;
    this.status = form.querySelector("#panel-save-state");
    this.discardButton = form.querySelector("#btn-discard-node");
    this.timer = null;
    this.sending = null;
    this.pending = false; // changed since the last save was sent
    this.refused = false; // the last answer refused what the form holds now
    this.stale = false;
    form.dataset.autosave = "on";
    this.setState("saved");
  }

  get unsaved() {
    return this.pending || Boolean(this.sending) || this.refused;
  }

  setState(state, reason = "") {
    this.state = state;
    if (!this.status) return;
    this.status.dataset.state = state;
    this.status.textContent = reason ? notSaved(reason) : LABELS[state];
    if (state === "saved") this.status.prepend(icon("check"), " ");
    if (this.discardButton) this.discardButton.hidden = !["refused", "stale"].includes(state);
    // The banners of an earlier save ("Saved to the draft · revision 3") are history now.
    for (const banner of this.form.parentElement?.querySelectorAll("[data-save-banner]") || []) banner.remove();
  }

  changed({ now = false } = {}) {
    if (this.stale) return;
    this.pending = true;
    this.refused = false;
    if (this.state !== "saving") this.setState("dirty");
    clearTimeout(this.timer);
    if (now) this.flush();
    else this.timer = setTimeout(() => this.flush(), PANEL_SAVE_DELAY_MS);
  }

  /** Save what the form holds now (after a save under way); true when all of it is saved. */
  async flush() {
    clearTimeout(this.timer);
    while (this.sending) await this.sending;
    if (this.pending && !this.stale) {
      this.pending = false;
      const body = new URLSearchParams(new FormData(this.form)); // what is typed now
      this.sending = this.send(body).finally(() => {
        this.sending = null;
      });
      await this.sending;
      if (this.pending) return this.flush(); // typed while that save was under way
    }
    return !this.pending && !this.refused && !this.stale;
  }

  async send(body) {
    this.setState("saving");
    let outcome;
    try {
      outcome = await this.autosaver.exclusive((revision) => this.post(body, revision));
    } catch (_) {
      outcome = { status: 0, answer: {} };
    }
    this.show(outcome);
  }

  /** POST `body` at `revision`; `{status, answer}`. The canvas takes the saved node. */
  async post(body, revision, { keepalive = false } = {}) {
    body.set("revision", String(revision));
    const response = await fetch(this.url, {
      method: "POST",
      credentials: "same-origin",
      keepalive,
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      body,
    });
    const answer = await response.json().catch(() => ({}));
    // The canvas takes the saved node (and the new revision) before its next save.
    if (response.ok) {
      try {
        await this.reloadDraft({ keepLocal: this.autosaver.pending });
      } catch (error) {
        // Saved, but the canvas could not fetch it: at least do not conflict with ourselves.
        this.autosaver.revision = answer.revision;
        this.notify(String(error), "error");
      }
    }
    return { status: response.status, answer };
  }

  /**
   * Leaving now could lose an edit silently: refused input, or an edit that cannot be sent
   * on unload because a save is under way or the canvas has changes of its own (its
   * revision could be one the server is already past).
   */
  get leavingLoses() {
    if (this.refused && !this.pending) return true;
    return this.unsaved && !this.stale && (Boolean(this.sending) || this.autosaver.busy);
  }

  show({ status, answer }) {
    if (status === 200) {
      this.refused = false;
      this.showMessages({}, answer.warnings || {});
      this.showProblems(answer.problems || []);
      this.markTestResultStale();
      this.setState(this.pending ? "dirty" : "saved");
      return;
    }
    if (status === 409) {
      this.stale = true;
      this.autosaver.markStale();
      this.setState("stale", gettext("someone else changed this workflow. Reload to see it; your text stays here until then."));
      return;
    }
    if (status === 400 || status === 413 || status === 403) {
      this.refused = true;
      const fields = answer.details?.fields || {};
      this.showMessages(fields, {});
      this.setState("refused", answer.message || gettext("the server refused this input"));
      return;
    }
    // Not reached, or a server error: keep the edit and try again.
    this.pending = true;
    this.setState("error", gettext("the server could not be reached; trying again"));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), RETRY_DELAY_MS);
  }

  /** Errors and warnings by form field name; every earlier message goes. */
  showMessages(errors, warnings) {
    const form = this.form;
    for (const box of form.querySelectorAll("[data-msgs-for], [data-warns-for]")) box.replaceChildren();
    for (const marked of form.querySelectorAll(".pn-invalid")) marked.classList.remove("pn-invalid");
    for (const marked of form.querySelectorAll(".pn-field-error")) marked.classList.remove("pn-field-error");
    const boxFor = (kind, name) => [...form.querySelectorAll(`[data-${kind}-for]`)].find((box) => box.getAttribute(`data-${kind}-for`) === name);
    for (const [name, messages] of Object.entries(errors)) {
      const box = boxFor("msgs", name);
      if (box) box.replaceChildren(...paragraphs(messages, "pn-error"));
      for (const input of form.elements) {
        if (input.name !== name) continue;
        input.classList.add("pn-invalid");
        input.closest(".pn-field")?.classList.add("pn-field-error");
        const details = input.closest("details");
        if (details) details.open = true;
      }
    }
    for (const [name, messages] of Object.entries(warnings)) {
      const box = boxFor("warns", name) || boxFor("msgs", name);
      if (box) box.replaceChildren(...paragraphs(messages, "pn-warning"));
    }
  }

  showProblems(problems) {
    const holder = this.form.parentElement?.querySelector("#node-problems");
    if (!holder) return;
    holder.querySelector("ul")?.replaceChildren(
      ...problems.map((message) => {
        const li = document.createElement("li");
        li.textContent = message;
        return li;
      }),
    );
    holder.hidden = problems.length === 0;
  }

  /** A "Test this step" result shown now was made with the settings before this save. */
  markTestResultStale() {
    const output = this.form.parentElement?.querySelector("#step-test-output");
    if (!output || output.classList.contains("pn-result-stale")) return;
    const note = document.createElement("p");
    note.className = "pn-stale-note muted small";
    note.textContent = gettext("Tested with earlier settings of this step: run the test again.");
    output.classList.add("pn-result-stale");
    output.prepend(note);
  }

  /**
   * The page is going away (pagehide, so not when the user chose to stay): send what is not
   * saved yet with keepalive, in turn with the canvas (nothing is sent while another write
   * is under way: beforeunload asked the browser to warn). The answer is read like any
   * save's, should the page come back.
   */
  sendOnUnload() {
    if (!this.pending || this.stale || this.sending) return;
    const body = new URLSearchParams(new FormData(this.form));
    const run = this.autosaver.writeOnUnload((revision) => this.post(body, revision, { keepalive: true }));
    if (!run) return;
    clearTimeout(this.timer);
    this.pending = false;
    this.sending = run
      .catch(() => ({ status: 0, answer: {} }))
      .then((outcome) => this.show(outcome))
      .finally(() => {
        this.sending = null;
      });
  }

  focusRefused() {
    const field = this.form.querySelector(".pn-invalid");
    (field || this.status)?.scrollIntoView({ block: "center" });
    field?.focus();
  }
}

/**
 * Wire the autosave into the panel container. `reloadDraft({keepLocal})` is the editor's
 * reload of draft.json into the canvas; `autosaver` the canvas's Autosaver.
 */
export function mountPanelAutosave({ panelBody, autosaver, reloadDraft, notify }) {
  let current = null;
  let blocked = null; // a request that waits for the panel to be fixed or discarded

  function attach() {
    const form = panelBody.querySelector("#node-settings[data-autosave-url]");
    current = form && !form.hasAttribute("data-readonly") ? new PanelForm(form, { autosaver, reloadDraft, notify }) : null;
    blocked = null;
  }
  panelBody.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail?.target === panelBody) attach();
  });
  attach();

  panelBody.addEventListener("input", (event) => {
    if (current && event.target.form === current.form) current.changed();
  });
  panelBody.addEventListener("change", (event) => {
    // A text field left, a select or a checkbox changed: save now.
    if (current && event.target.form === current.form) current.changed({ now: true });
  });

  function discard() {
    const next = blocked;
    const url = current?.url;
    current = null;
    blocked = null;
    if (next) next(true);
    else if (url) window.htmx.ajax("GET", url, { source: "#panel-body", target: "#panel-body", swap: "innerHTML" });
  }
  panelBody.addEventListener("click", (event) => {
    if (event.target.closest?.("#btn-discard-node")) discard();
  });
  // "Reload" on the conflict banner: the panel shows the draft as it now is.
  document.getElementById("reload-draft")?.addEventListener("click", () => {
    if (current) {
      current.pending = false;
      discard();
    }
  });

  // Anything that replaces the panel, the Save button, and "Test this step" wait for the
  // panel's save; refused input holds them until it is fixed or discarded.
  document.addEventListener("htmx:confirm", (event) => {
    const panel = current;
    if (!panel) return;
    const { elt, target } = event.detail;
    const ownSubmit = elt === panel.form;
    const replaces = target === panelBody;
    const testsStep = Boolean(elt?.closest?.("#step-test"));
    if (!ownSubmit && !replaces && !testsStep) return;
    if (ownSubmit) {
      event.preventDefault();
      panel.pending = true;
      panel.flush();
      return;
    }
    if (!panel.unsaved) return;
    event.preventDefault();
    panel.flush().then((saved) => {
      if (panel !== current) return;
      if (saved) {
        event.detail.issueRequest(true);
        return;
      }
      if (panel.stale) return;
      blocked = replaces ? event.detail.issueRequest : null;
      notify(gettext("This step's settings are not saved: fix the marked field, or discard your changes."), "error");
      panel.focusRefused();
    });
  });

  // Before leaving: the browser asks when the edit could be lost. Only once the page is
  // really going (pagehide: no "Stay" any more) is the edit sent, so a user who stays
  // never has a save the canvas does not know about.
  window.addEventListener("beforeunload", (event) => {
    if (!current?.leavingLoses) return;
    event.preventDefault();
    event.returnValue = "";
  });
  window.addEventListener("pagehide", () => current?.sendOnUnload());

  return {
    get panel() {
      return current;
    },
  };
}
