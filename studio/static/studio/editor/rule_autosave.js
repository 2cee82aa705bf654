// The Rules tab's rule saves itself, like a node panel (panel_autosave.js): debounced while
// typing, at once when the field is left or "Save rule" is pressed, before anything
// replaces the tab (another tab, a node's panel) and (keepalive) when the page unloads
// (unless a save is under way then: the browser asks).
// Each save takes its turn with the canvas autosave and carries the same draft revision
// (studio/views/rules.py answers), so another tab's change is a conflict, not an overwrite.
//
// An invalid rule is not saved: the reason shows next to "Save rule", the text stays as
// typed, and the tab is not replaced until the rule is fixed or the change discarded.

import { csrfToken } from "./autosave.js";
import { format, gettext } from "../js/i18n.js";

export const RULE_SAVE_DELAY_MS = 600;
const RETRY_DELAY_MS = 3000;

/** The rule field of the open Rules tab and its save state. */
class RuleEditor {
  constructor(field, { autosaver, reloadDraft, notify }) {
    this.field = field;
    this.url = field.dataset.autosaveUrl;
    this.autosaver = autosaver;
    this.reloadDraft = reloadDraft;
    this.notify = notify;
    this.status = field.form.querySelector("#rule-save-result");
    this.discardButton = field.form.querySelector("#btn-discard-rule");
    this.timer = null;
    this.sending = null;
    this.pending = false; // changed since the last save was sent
    this.refused = false; // the last answer refused the text the field holds now
    this.stale = false;
    this.sent = field.value; // the text of the last save (or as loaded)
    this.setState("clean");
  }

  get unsaved() {
    return this.pending || Boolean(this.sending) || this.refused;
  }

  setState(state, message = "") {
    this.state = state;
    this.field.classList.toggle("pn-invalid", state === "refused");
    if (this.discardButton) this.discardButton.hidden = !["refused", "stale"].includes(state);
    if (!this.status) return;
    this.status.dataset.state = state;
    if (state === "clean") return this.status.replaceChildren();
    const note = document.createElement("span");
    note.className = "small muted";
    if (state === "saved") {
      note.className = "pn-valid small";
      note.textContent = format(gettext("Saved to the draft · revision %(revision)s"), { revision: message });
    } else if (state === "dirty") note.textContent = gettext("Unsaved changes");
    else if (state === "saving") note.textContent = gettext("Saving…");
    else {
      note.className = "pn-error small";
      note.setAttribute("role", "alert");
      note.textContent = format(gettext("Not saved: %(reason)s"), { reason: message });
    }
    this.status.replaceChildren(note);
  }

  changed({ now = false } = {}) {
    if (this.stale) return;
    this.pending = true;
    this.refused = false;
    if (this.state !== "saving") this.setState("dirty");
    clearTimeout(this.timer);
    if (now) this.flush();
    else this.timer = setTimeout(() => this.flush(), RULE_SAVE_DELAY_MS);
  }

  /** Save the text as it is now (after a save under way); true when all of it is saved. */
  async flush() {
    clearTimeout(this.timer);
    while (this.sending) await this.sending;
    if (this.pending && !this.stale) {
      this.pending = false;
      this.sent = this.field.value;
      this.sending = this.send(this.sent).finally(() => {
        this.sending = null;
      });
      await this.sending;
      if (this.pending) return this.flush(); // typed while that save was under way
    }
    return !this.pending && !this.refused && !this.stale;
  }

  async send(text) {
    this.setState("saving");
    let outcome;
    try {
      outcome = await this.autosaver.exclusive((revision) => this.post(text, revision));
    } catch (_) {
      outcome = { status: 0, answer: {} };
    }
    this.show(outcome);
  }

  /** POST the rule `text` at `revision`; `{status, answer}`. The canvas takes the rule. */
  async post(text, revision, { keepalive = false } = {}) {
    const response = await fetch(this.url, {
      method: "POST",
      credentials: "same-origin",
      keepalive,
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: new URLSearchParams({ rule_spec: text, revision: String(revision) }),
    });
    const answer = await response.json().catch(() => ({}));
    // The canvas takes the new revision (and rule) before its next save.
    if (response.ok && answer.revision !== revision) {
      try {
        await this.reloadDraft({ keepLocal: this.autosaver.pending });
      } catch (error) {
        this.autosaver.revision = answer.revision;
        this.notify(String(error), "error");
      }
    }
    return { status: response.status, answer };
  }

  show({ status, answer }) {
    if (status === 200) {
      this.refused = false;
      if (this.pending) this.setState("dirty");
      else this.setState("saved", answer.revision);
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
      this.setState("refused", answer.message || gettext("the server refused this input"));
      return;
    }
    // Not reached, or a server error: keep the edit and try again.
    this.pending = true;
    this.setState("error", gettext("the server could not be reached; trying again"));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), RETRY_DELAY_MS);
  }

  /** Known not to be saveable now: not JSON, or the as-you-type check says it is invalid. */
  get knownInvalid() {
    if (this.field.form.querySelector("#rule-validation .pn-error")) return true;
    const text = this.field.value.trim();
    if (!text) return false;
    try {
      JSON.parse(text);
      return false;
    } catch (_) {
      return true;
    }
  }

  /**
   * Leaving now could lose an edit silently: a rule that is not saveable, or one that cannot
   * be sent on unload because a save is under way or the canvas has changes of its own (its
   * revision could be one the server is already past).
   */
  get leavingLoses() {
    if (this.stale) return false;
    if (this.refused || (this.pending && this.knownInvalid)) return true;
    return this.unsaved && (Boolean(this.sending) || this.autosaver.busy);
  }

  /**
   * The page is going away (pagehide, so not when the user chose to stay): send the rule
   * not saved yet with keepalive, in turn with the canvas (nothing is sent while another
   * write is under way: beforeunload asked the browser to warn). The answer is read like
   * any save's, should the page come back.
   */
  sendOnUnload() {
    if (!this.pending || this.stale || this.sending || this.knownInvalid) return;
    const text = this.field.value;
    const run = this.autosaver.writeOnUnload((revision) => this.post(text, revision, { keepalive: true }));
    if (!run) return;
    clearTimeout(this.timer);
    this.pending = false;
    this.sent = text;
    this.sending = run
      .catch(() => ({ status: 0, answer: {} }))
      .then((outcome) => this.show(outcome))
      .finally(() => {
        this.sending = null;
      });
  }
}

/**
 * Wire the rule autosave into the panel container. `reloadDraft({keepLocal})` is the
 * editor's reload of draft.json, `autosaver` the canvas's Autosaver, `onHeld()` runs when
 * leaving the Rules tab is held back by a rule that is not saved (the tab is shown again).
 */
export function mountRuleAutosave({ panelBody, autosaver, reloadDraft, notify, onHeld }) {
  let current = null;
  let blocked = null; // what waits for the rule to be fixed or discarded

  function attach() {
    const field = panelBody.querySelector("#rule-spec[data-autosave-url]");
    current = field ? new RuleEditor(field, { autosaver, reloadDraft, notify }) : null;
    blocked = null;
  }
  panelBody.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail?.target === panelBody) attach();
  });
  attach();

  panelBody.addEventListener("input", (event) => {
    if (current && event.target === current.field) current.changed();
  });
  panelBody.addEventListener("change", (event) => {
    // The field left: save now, unless that text was already sent (refused text stays
    // refused; its Discard button must stay where the user is about to click).
    if (!current || event.target !== current.field) return;
    if (current.pending || current.field.value !== current.sent) current.changed({ now: true });
  });

  /** Run `proceed` once the rule is saved; hold it while the rule is refused. */
  function whenSaved(proceed) {
    const editor = current;
    if (!editor?.unsaved) return proceed();
    editor.flush().then((saved) => {
      if (editor !== current) return;
      if (saved) return proceed();
      if (editor.stale) return;
      blocked = proceed;
      // After the click that asked to leave has been handled in full (it selects its tab).
      setTimeout(() => onHeld?.());
      notify(gettext("The rule is not saved: fix it, or discard your change."), "error");
      editor.field.focus();
    });
  }

  function discard() {
    const next = blocked;
    const url = current?.field.form.dataset.tabUrl;
    current = null;
    blocked = null;
    if (next) next();
    else if (url) window.htmx.ajax("GET", url, { source: "#panel-body", target: "#panel-body", swap: "innerHTML" });
  }
  panelBody.addEventListener("click", (event) => {
    if (event.target.closest?.("#btn-discard-rule")) discard();
  });
  document.getElementById("reload-draft")?.addEventListener("click", () => {
    if (!current) return;
    current.pending = false;
    discard();
  });

  document.addEventListener("htmx:confirm", (event) => {
    const editor = current;
    if (!editor) return;
    const { elt, target } = event.detail;
    if (elt?.id === "btn-save-rule" && elt.form === editor.field.form) {
      // "Save rule" saves now, through the autosave (with the revision check).
      event.preventDefault();
      editor.changed({ now: true });
      return;
    }
    if (target !== panelBody || !editor.unsaved) return;
    event.preventDefault();
    whenSaved(() => event.detail.issueRequest(true));
  });

  // As for the node panel: the browser asks when the rule could be lost; it is sent only
  // once the page is really going (pagehide), so a user who stays never conflicts with
  // their own save.
  window.addEventListener("beforeunload", (event) => {
    if (!current?.leavingLoses) return;
    event.preventDefault();
    event.returnValue = "";
  });
  window.addEventListener("pagehide", () => current?.sendOnUnload());

  return {
    get editor() {
      return current;
    },
    whenSaved,
  };
}
