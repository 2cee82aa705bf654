// Autosave: a debounced PUT of the whole draft with the revision it was based on.
//
// The server compares the revision; a 409 means someone else saved first, and we stop
// saving (no silent overwrite) until the user reloads.

import { gettext } from "../js/i18n.js";

export const SAVE_DELAY_MS = 800;

const LABELS = {
  saved: gettext("Saved"),
  saving: gettext("Saving…"),
  dirty: gettext("Unsaved changes"),
  stale: gettext("Someone else changed this workflow — Reload"),
  error: gettext("Not saved — retrying"),
  forbidden: gettext("Not saved — you need the “Can change workflow” permission"),
};

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch (_) {
    return "";
  }
}

/**
 * `collect()` returns the body fields to save (graph, name…); `onSaved({revision, problems})`
 * runs after each successful save; `onStale()` after a 409.
 */
export class Autosaver {
  constructor({ url, revision, collect, indicator, onSaved, onStale }) {
    this.url = url;
    this.revision = revision;
    this.collect = collect;
    this.indicator = indicator;
    this.onSaved = onSaved;
    this.onStale = onStale;
    this.timer = null;
    this.inFlight = null;
    this.pending = false;
    this.stale = false;
    this.setState("saved");
    window.addEventListener("beforeunload", (event) => {
      if (this.busy) {
        event.preventDefault();
        event.returnValue = ""; // older browsers ask only with this
      }
    });
  }

  setState(state) {
    this.state = state;
    if (!this.indicator) return;
    this.indicator.dataset.state = state;
    this.indicator.textContent = LABELS[state];
  }

  /** Something changed: save in SAVE_DELAY_MS unless something else changes first. */
  schedule() {
    if (this.stale) return;
    this.pending = true;
    this.setState("dirty");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
  }

  /** Save now (waits for a save already under way, then saves again if needed). */
  async flush() {
    clearTimeout(this.timer);
    // A panel's write may hold the turn too (exclusive): wait until no write is running.
    while (this.inFlight) await this.inFlight;
    if (this.stale || !this.pending) return;
    this.pending = false;
    this.inFlight = this.put().finally(() => {
      this.inFlight = null;
    });
    await this.inFlight;
  }

  async put() {
    this.setState("saving");
    let response;
    try {
      response = await fetch(this.url, {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: JSON.stringify({ revision: this.revision, ...this.collect() }),
      });
    } catch (_) {
      return this.retryLater();
    }
    if (response.status === 409) {
      this.stale = true;
      this.setState("stale");
      this.onStale?.();
      return;
    }
    if (response.status === 403) {
      // Missing automate.change_workflow: retrying cannot help; stop saving.
      this.stale = true;
      this.pending = false;
      this.setState("forbidden");
      return;
    }
    if (!response.ok) return this.retryLater();
    const body = await response.json();
    this.revision = body.revision;
    this.setState(this.pending ? "dirty" : "saved");
    this.onSaved?.(body);
    // Other parts of the page (the "unpublished changes" badge) follow saves too.
    document.dispatchEvent(new CustomEvent("automate:draft-saved", { detail: body }));
    if (this.pending) this.schedule();
  }

  retryLater() {
    this.pending = true;
    this.setState("error");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), SAVE_DELAY_MS * 4);
  }

  /**
   * Run another write of this draft (a node panel's autosave) in turn with the canvas
   * saves: the canvas's own changes are saved first, no canvas save runs while
   * `write(revision)` does, and the write gets the revision the canvas is at. `write`
   * adopts the new revision itself (it reloads the draft). Returns what `write` returns.
   */
  async exclusive(write) {
    await this.flush();
    while (this.inFlight) await this.inFlight;
    return this.holdTurn(write(this.revision));
  }

  /** Hold the turn until the write `run` (a promise) settles; returns `run`. */
  holdTurn(run) {
    const held = run.then(
      () => {},
      () => {},
    );
    this.inFlight = held;
    held.then(() => {
      if (this.inFlight === held) this.inFlight = null;
    });
    return run;
  }

  /**
   * A write of this draft is under way (a canvas save, a panel's) or the canvas has changes
   * not saved yet: a write sent now, without waiting its turn, could carry a revision the
   * server is already past (a 409: the user's own change taken for someone else's).
   */
  get busy() {
    return Boolean(this.inFlight) || this.pending;
  }

  /**
   * The page is going away (pagehide): start `write(revision)` (a keepalive request) now,
   * holding the turn like `exclusive` until it is answered (a page that comes back from the
   * back-forward cache saves after it). Not started while `busy` or stale: returns null;
   * beforeunload asked the browser to warn instead.
   */
  writeOnUnload(write) {
    if (this.busy || this.stale) return null;
    return this.holdTurn(write(this.revision));
  }

  /** Another write of this draft answered 409: stop saving, as after our own 409. */
  markStale() {
    clearTimeout(this.timer);
    this.stale = true;
    this.setState("stale");
    this.onStale?.();
  }

  /** After a reload from the server: adopt its revision and forget local changes. */
  reset(revision) {
    clearTimeout(this.timer);
    this.revision = revision;
    this.pending = false;
    this.stale = false;
    this.setState("saved");
  }
}
