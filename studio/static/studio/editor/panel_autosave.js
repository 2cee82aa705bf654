// The node panel saves itself, like the canvas (autosave_base.js has the mechanics):
// debounced while typing, at once when a field is left, before another panel replaces it,
// before "Test this step" runs, and (keepalive) when the page unloads, unless a save is
// under way then (the browser asks). Each save takes its turn with the canvas autosave and
// carries the same draft revision, so another tab's change is a conflict, not an overwrite
// (studio/views/panel_autosave.py answers; docs/howto/studio.md describes it).
//
// Refused input (bad JSON, a value the guard refuses) is not saved: its reason shows on
// the field and in the panel's save notice, the text stays as typed, and the panel is not
// replaced until the user fixes it or discards it.

import { PartAutosave, mountPartAutosave, noticeText } from "./autosave_base.js";
import { gettext } from "../js/i18n.js";
import { icon } from "../js/icons.js";

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
class PanelForm extends PartAutosave {
  constructor(form, shared) {
    super({
      ...shared,
      url: form.dataset.autosaveUrl,
      status: form.querySelector("#panel-save-state"),
      discardButton: form.querySelector("#btn-discard-node"),
    });
    this.form = form;
    form.dataset.autosave = "on";
    this.setState("saved");
  }

  get reloadUrl() {
    return this.url;
  }

  owns(element) {
    return element.form === this.form;
  }

  collect() {
    return new URLSearchParams(new FormData(this.form));
  }

  body(payload, revision) {
    payload.set("revision", String(revision));
    return payload;
  }

  render(state, reason) {
    if (!this.status) return;
    this.status.dataset.state = state;
    this.status.textContent = noticeText(state, reason);
    if (state === "saved") this.status.prepend(icon("check"), " ");
    // The banners of an earlier save ("Saved to the draft · revision 3") are history now.
    for (const banner of this.form.parentElement?.querySelectorAll("[data-save-banner]") || []) banner.remove();
  }

  applySaved(answer) {
    this.showMessages({}, answer.warnings || {});
    this.showProblems(answer.problems || []);
    this.markTestResultStale();
  }

  applyRefused(answer) {
    this.showMessages(answer.details?.fields || {}, {});
  }

  /** The Save button: save what the form holds now, even a refused input again. */
  saveAtOnce() {
    this.pending = true;
    this.flush();
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

  /** The field the server refused (or the notice), in view and focused. */
  focusHeld() {
    const field = this.form.querySelector(".pn-invalid");
    (field || this.status)?.scrollIntoView({ block: "center" });
    field?.focus();
  }
}

/**
 * Wire the autosave into the panel container. `reloadDraft({keepLocal})` is the editor's
 * reload of draft.json into the canvas; `autosaver` the canvas's Autosaver. Anything that
 * replaces the panel, the Save button, and "Test this step" wait for the panel's save;
 * refused input holds them until it is fixed or discarded.
 */
export function mountPanelAutosave({ panelBody, autosaver, reloadDraft, notify }) {
  const saves = mountPartAutosave({
    panelBody,
    notify,
    attach() {
      const form = panelBody.querySelector("#node-settings[data-autosave-url]");
      return form && !form.hasAttribute("data-readonly") ? new PanelForm(form, { autosaver, reloadDraft, notify }) : null;
    },
    discardSelector: "#btn-discard-node",
    isOwnSave: (elt, panel) => elt === panel.form,
    waitsFor: (elt) => Boolean(elt?.closest?.("#step-test")),
    heldMessage: gettext("This step's settings are not saved: fix the marked field, or discard your changes."),
  });
  return {
    get panel() {
      return saves.current;
    },
  };
}
