// The Rules tab's rule saves itself, like a node panel (autosave_base.js has the
// mechanics): debounced while typing, at once when the field is left or "Save rule" is
// pressed, before anything replaces the tab (another tab, a node's panel) and (keepalive)
// when the page unloads (unless a save is under way then: the browser asks).
// Each save takes its turn with the canvas autosave and carries the same draft revision
// (studio/views/rules.py answers), so another tab's change is a conflict, not an overwrite.
//
// An invalid rule is not saved: the reason shows next to "Save rule", the text stays as
// typed, and the tab is not replaced until the rule is fixed or the change discarded.

import { PartAutosave, mountPartAutosave, noticeText } from "./autosave_base.js";
import { format, gettext } from "../js/i18n.js";

/** The rule field of the open Rules tab and its save state. */
class RuleEditor extends PartAutosave {
  constructor(field, shared) {
    super({
      ...shared,
      url: field.dataset.autosaveUrl,
      status: field.form.querySelector("#rule-save-result"),
      discardButton: field.form.querySelector("#btn-discard-rule"),
    });
    this.field = field;
    this.sent = field.value; // the text of the last save (or as loaded)
    this.setState("clean");
  }

  get reloadUrl() {
    return this.field.form.dataset.tabUrl;
  }

  owns(element) {
    return element === this.field;
  }

  collect() {
    return this.field.value;
  }

  body(text, revision) {
    return new URLSearchParams({ rule_spec: text, revision: String(revision) });
  }

  /** The same rule again keeps the revision: nothing for the canvas to take then. */
  reloads(answer, revision) {
    return answer.revision !== revision;
  }

  render(state, message) {
    this.field.classList.toggle("pn-invalid", state === "refused");
    if (!this.status) return;
    this.status.dataset.state = state;
    if (state === "clean") return this.status.replaceChildren();
    const note = document.createElement("span");
    note.className = "small muted";
    if (state === "saved") {
      note.className = "pn-valid small";
      note.textContent = format(gettext("Saved to the draft · revision %(revision)s"), { revision: message });
    } else {
      note.textContent = noticeText(state, message);
      if (state !== "dirty" && state !== "saving") {
        note.className = "pn-error small";
        note.setAttribute("role", "alert");
      }
    }
    this.status.replaceChildren(note);
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

  /** A rule refused, or typed and known to be refused: no save can keep it. */
  get losesUnsent() {
    return !this.stale && (this.refused || (this.pending && this.knownInvalid));
  }

  get sendableOnUnload() {
    return !this.knownInvalid;
  }

  /** The field left: save now, unless that text was already sent (refused text stays
   * refused; its Discard button must stay where the user is about to click). */
  left() {
    if (this.pending || this.field.value !== this.sent) this.changed({ now: true });
  }

  focusHeld() {
    this.field.focus();
  }
}

/**
 * Wire the rule autosave into the panel container. `reloadDraft({keepLocal})` is the
 * editor's reload of draft.json, `autosaver` the canvas's Autosaver, `onHeld()` runs when
 * leaving the Rules tab is held back by a rule that is not saved (the tab is shown again).
 * Returns `{editor, whenSaved(proceed)}`: `proceed` runs once the rule is saved, and is held
 * while the rule is refused.
 */
export function mountRuleAutosave({ panelBody, autosaver, reloadDraft, notify, onHeld }) {
  const saves = mountPartAutosave({
    panelBody,
    notify,
    onHeld,
    attach() {
      const field = panelBody.querySelector("#rule-spec[data-autosave-url]");
      return field ? new RuleEditor(field, { autosaver, reloadDraft, notify }) : null;
    },
    discardSelector: "#btn-discard-rule",
    // "Save rule" saves now, through the autosave (with the revision check).
    isOwnSave: (elt, editor) => elt?.id === "btn-save-rule" && elt.form === editor.field.form,
    heldMessage: gettext("The rule is not saved: fix it, or discard your change."),
  });
  return {
    get editor() {
      return saves.current;
    },
    whenSaved: saves.whenSaved,
  };
}
