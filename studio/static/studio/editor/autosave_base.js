// What a part of the draft edited in the side panel (a node panel's form, the Rules tab's
// rule) does to save itself, like the canvas: debounced while typing, at once when a field
// is left, before anything replaces the side panel, and (keepalive) when the page unloads,
// unless a save is under way then (the browser asks). Each save takes its turn with the
// canvas autosave (Autosaver.exclusive) and carries the same draft revision, so another
// tab's change is a conflict, not an overwrite.
//
// `PartAutosave` is one open part and its save state; `mountPartAutosave` wires one kind of
// part into the side panel. panel_autosave.js and rule_autosave.js give the differences:
// what is posted, where the notice is and what it says, what a saved or refused answer
// changes in the part.

import { csrfToken } from "./autosave.js";
import { format, gettext } from "../js/i18n.js";

/** How long typing must pause before the part is saved (ms). */
export const PART_SAVE_DELAY_MS = 600;
const RETRY_DELAY_MS = 3000;
const UNREACHED = { status: 0, answer: {} };

const LABELS = {
  saved: gettext("Saved"),
  dirty: gettext("Unsaved changes"),
  saving: gettext("Saving…"),
};

/**
 * The text of a save notice: "Saved", "Unsaved changes", "Saving…" for those states, else
 * "Not saved: <reason>".
 */
export function noticeText(state, reason) {
  return LABELS[state] ?? format(gettext("Not saved: %(reason)s"), { reason });
}

/**
 * One open part and its save state (`state`: "dirty", "saving", "saved", "refused" by the
 * server, "stale" after a 409, "error" while retrying; a kind may add its own, such as the
 * rule's "clean"). A kind extends it with:
 *
 * - `collect()`: what to save, read from the page now;
 * - `body(payload, revision)`: the URLSearchParams to POST;
 * - `render(state, message)`: show the state in the notice (`message`: the saved revision
 *   for "saved", the reason for "refused", "stale" and "error");
 * - `owns(element)`: an input event of `element` is an edit of this part;
 * - `reloadUrl`: what Discard loads into the side panel;
 * - optionally `reloads(answer, revision)`, `applySaved(answer)`, `applyRefused(answer)`,
 *   `losesUnsent`, `sendableOnUnload`, `left()`, `saveAtOnce()`, `focusHeld()` (see each
 *   below).
 */
export class PartAutosave {
  /**
   * `url`: where saves are POSTed; `autosaver`: the canvas's Autosaver; `reloadDraft(
   * {keepLocal})`: the editor's reload of draft.json; `notify(text, kind)`: a toast;
   * `status`, `discardButton`: the part's notice and its "Discard" button (or null).
   */
  constructor({ url, autosaver, reloadDraft, notify, status, discardButton }) {
    this.url = url;
    this.autosaver = autosaver;
    this.reloadDraft = reloadDraft;
    this.notify = notify;
    this.status = status;
    this.discardButton = discardButton;
    this.timer = null;
    this.sending = null;
    this.pending = false; // changed since the last save was sent
    this.refused = false; // the last answer refused what the part holds now
    this.stale = false;
    this.sent = null; // the payload of the last save
  }

  get unsaved() {
    return this.pending || Boolean(this.sending) || this.refused;
  }

  setState(state, message = "") {
    this.state = state;
    if (this.discardButton) this.discardButton.hidden = !["refused", "stale"].includes(state);
    this.render(state, message);
  }

  changed({ now = false } = {}) {
    if (this.stale) return;
    this.pending = true;
    this.refused = false;
    if (this.state !== "saving") this.setState("dirty");
    clearTimeout(this.timer);
    if (now) this.flush();
    else this.timer = setTimeout(() => this.flush(), PART_SAVE_DELAY_MS);
  }

  /** Save what the part holds now (after a save under way); true when all of it is saved. */
  async flush() {
    clearTimeout(this.timer);
    while (this.sending) await this.sending;
    if (this.pending && !this.stale) {
      this.pending = false;
      this.sent = this.collect(); // what is typed now
      this.sending = this.send(this.sent).finally(() => {
        this.sending = null;
      });
      await this.sending;
      if (this.pending) {
        // Typed while that save was under way: save again now. Not reached: again after a
        // pause (at once would send request after request while the server is away).
        if (this.state === "error") await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
        return this.flush();
      }
    }
    return !this.pending && !this.refused && !this.stale;
  }

  async send(payload) {
    this.setState("saving");
    let outcome;
    try {
      outcome = await this.autosaver.exclusive((revision) => this.post(payload, revision));
    } catch (_) {
      outcome = UNREACHED;
    }
    this.show(outcome);
  }

  /** POST `payload` at `revision`; `{status, answer}`. The canvas takes what was saved. */
  async post(payload, revision, { keepalive = false } = {}) {
    const response = await fetch(this.url, {
      method: "POST",
      credentials: "same-origin",
      keepalive,
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: this.body(payload, revision),
    });
    const answer = await response.json().catch(() => ({}));
    // The canvas takes the saved part (and the new revision) before its next save.
    if (response.ok && this.reloads(answer, revision)) {
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

  /** Whether a 2xx `answer` to a save at `revision` means the canvas must reload the draft. */
  reloads(_answer, _revision) {
    return true;
  }

  show({ status, answer }) {
    if (status === 200) {
      this.refused = false;
      this.applySaved(answer);
      this.setState(this.pending ? "dirty" : "saved", answer.revision);
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
      this.applyRefused(answer);
      this.setState("refused", answer.message || gettext("the server refused this input"));
      return;
    }
    // Not reached, or a server error: keep the edit and try again.
    this.pending = true;
    this.setState("error", gettext("the server could not be reached; trying again"));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), RETRY_DELAY_MS);
  }

  /** A save was answered 200 (before the notice says so). */
  applySaved(_answer) {}

  /** A save was refused (400, 403, 413; before the notice says why). */
  applyRefused(_answer) {}

  /** Leaving now would lose an edit that no save can keep (refused input). */
  get losesUnsent() {
    return this.refused && !this.pending;
  }

  /**
   * Leaving now could lose an edit silently: one no save can keep, or one that cannot be
   * sent on unload because a save is under way or the canvas has changes of its own (its
   * revision could be one the server is already past).
   */
  get leavingLoses() {
    if (this.losesUnsent) return true;
    return this.unsaved && !this.stale && (Boolean(this.sending) || this.autosaver.busy);
  }

  /** What the part holds could be saved by a keepalive request on unload. */
  get sendableOnUnload() {
    return true;
  }

  /**
   * The page is going away (pagehide, so not when the user chose to stay): send what is not
   * saved yet with keepalive, in turn with the canvas (nothing is sent while another write
   * is under way: beforeunload asked the browser to warn). The answer is read like any
   * save's, should the page come back.
   */
  sendOnUnload() {
    if (!this.pending || this.stale || this.sending || !this.sendableOnUnload) return;
    const payload = this.collect();
    const run = this.autosaver.writeOnUnload((revision) => this.post(payload, revision, { keepalive: true }));
    if (!run) return;
    clearTimeout(this.timer);
    this.pending = false;
    this.sent = payload;
    this.sending = run
      .catch(() => UNREACHED)
      .then((outcome) => this.show(outcome))
      .finally(() => {
        this.sending = null;
      });
  }

  /** A field was left (its change event): save now. */
  left() {
    this.changed({ now: true });
  }

  /** The part's own Save button was pressed: save now. */
  saveAtOnce() {
    this.changed({ now: true });
  }

  /** Show the user what holds the part back (after a held request). */
  focusHeld() {}
}

/**
 * Wire one kind of part into the side panel `panelBody` (a container htmx swaps):
 *
 * - `attach()`: the part now in the panel (a PartAutosave) or null, after each swap;
 * - `discardSelector`: the part's Discard button;
 * - `isOwnSave(elt, part)`: the htmx request `elt` is the part's own save (it is saved
 *   through the autosave instead);
 * - `waitsFor(elt, target)`: beyond requests that replace `panelBody`, one that waits for
 *   the part's save (the node panel's "Test this step");
 * - `heldMessage`: the toast when a request is held by a part that is not saved;
 * - `onHeld()`: runs (after the click) when a request is held.
 *
 * Returns `{current, whenSaved(proceed)}`: `whenSaved` runs `proceed` once the part is
 * saved, and holds it while the part is refused (until it is fixed or discarded).
 */
export function mountPartAutosave({ panelBody, attach: find, discardSelector, isOwnSave, waitsFor = () => false, heldMessage, notify, onHeld }) {
  let current = null;
  let blocked = null; // what waits for the part to be fixed or discarded

  function attach() {
    current = find();
    blocked = null;
  }
  panelBody.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail?.target === panelBody) attach();
  });
  attach();

  panelBody.addEventListener("input", (event) => {
    if (current?.owns(event.target)) current.changed();
  });
  panelBody.addEventListener("change", (event) => {
    if (current?.owns(event.target)) current.left();
  });

  /** Run `proceed` once the part is saved; hold it (unless `hold` is false) while it is not. */
  function whenSaved(proceed, { hold = true } = {}) {
    const part = current;
    if (!part?.unsaved) return proceed();
    part.flush().then((saved) => {
      if (part !== current) return;
      if (saved) return proceed();
      if (part.stale) return;
      blocked = hold ? proceed : null;
      // After the click that asked to leave has been handled in full (it selects its tab).
      if (onHeld) setTimeout(() => onHeld());
      notify(heldMessage, "error");
      part.focusHeld();
    });
  }

  function discard() {
    const next = blocked;
    const url = current?.reloadUrl;
    current = null;
    blocked = null;
    if (next) next();
    else if (url) window.htmx.ajax("GET", url, { source: "#panel-body", target: "#panel-body", swap: "innerHTML" });
  }
  panelBody.addEventListener("click", (event) => {
    if (event.target.closest?.(discardSelector)) discard();
  });
  // "Reload" on the conflict banner: the panel shows the draft as it now is.
  document.getElementById("reload-draft")?.addEventListener("click", () => {
    if (!current) return;
    current.pending = false;
    discard();
  });

  // Anything that replaces the panel (and what `waitsFor`) waits for the part's save;
  // refused input holds it until it is fixed or discarded. The part's own Save saves now,
  // through the autosave (with the revision check).
  document.addEventListener("htmx:confirm", (event) => {
    const part = current;
    if (!part) return;
    const { elt, target } = event.detail;
    if (isOwnSave(elt, part)) {
      event.preventDefault();
      part.saveAtOnce();
      return;
    }
    const replaces = target === panelBody;
    if ((!replaces && !waitsFor(elt, target)) || !part.unsaved) return;
    event.preventDefault();
    whenSaved(() => event.detail.issueRequest(true), { hold: replaces });
  });

  // Before leaving: the browser asks when the edit could be lost. Only once the page is
  // really going (pagehide: no "Stay" any more) is the edit sent, so a user who stays
  // never has a save the canvas does not know about (no conflict with their own save).
  window.addEventListener("beforeunload", (event) => {
    if (!current?.leavingLoses) return;
    event.preventDefault();
    event.returnValue = "";
  });
  window.addEventListener("pagehide", () => current?.sendOnUnload());

  return {
    get current() {
      return current;
    },
    whenSaved,
  };
}
