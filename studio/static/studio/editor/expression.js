// The expression editor of the node panel: every template field ([data-expr]) gets
//
// * variables that insert themselves: a click on a chip of "Variables you can use here"
//   puts `{{ path }}` at the cursor of the field last used;
// * autocomplete inside `{{ … }}`: a small list under the field, filtered as you type
//   (arrows move, Enter or Tab insert, Escape closes);
// * a live preview under the field: the value rendered on the server through the same
//   sandbox and limits as a run (studio/views/expressions.py), against the sample event
//   and the last outputs of earlier steps (pinned data first), saying which it used.
//   Errors show there, with their message.
//
// Inserting text fires an `input` event, so the panel's autosave sees it like typing.

import { csrfToken } from "./autosave.js";
import { format, gettext } from "../js/i18n.js";

export const PREVIEW_DELAY_MS = 350;
const MAX_SUGGESTIONS = 8;
const MARKERS = ["{{", "{%", "$secret", "$env"];
let uid = 0;
let lastField = null;

/** Where the cursor sits in an open `{{ …` (no `}}` yet), and the word typed there. */
export function openExpression(text, cursor) {
  const before = text.slice(0, cursor);
  const start = before.lastIndexOf("{{");
  if (start < 0 || before.indexOf("}}", start) >= 0) return null;
  const inside = before.slice(start + 2);
  const word = inside.match(/[A-Za-z0-9_.]*$/)[0];
  // Suggest while a name is being typed, or right after `{{ ` (not after `{{ a.b `).
  if (!word && inside.trim()) return null;
  return { start, word, from: cursor - word.length };
}

/** The variables matching `word`: those starting with it first, then those containing it. */
export function suggestions(items, word) {
  const wanted = word.toLowerCase();
  const starts = [];
  const contains = [];
  for (const item of items) {
    const path = item.path.toLowerCase();
    if (path === wanted) continue;
    if (path.startsWith(wanted)) starts.push(item);
    else if (wanted && path.includes(wanted)) contains.push(item);
  }
  return starts.concat(contains).slice(0, MAX_SUGGESTIONS);
}

function shown(value) {
  if (typeof value === "string") return value;
  return JSON.stringify(value, null, 2);
}

/** One template field of the panel, its suggestion list and its preview. */
class ExpressionField {
  constructor(field, { url, items }) {
    this.field = field;
    this.url = url;
    this.items = items;
    this.kind = field.dataset.expr;
    this.timer = null;
    this.sequence = 0;
    this.matches = [];
    this.active = 0;
    field.dataset.exprMounted = "on";

    this.list = document.createElement("ul");
    this.list.className = "pn-ac";
    this.list.id = `pn-ac-${++uid}`;
    this.list.setAttribute("role", "listbox");
    this.list.setAttribute("aria-label", gettext("Variables"));
    this.list.hidden = true;
    this.preview = document.createElement("div");
    this.preview.className = "pn-expr-preview";
    this.preview.dataset.previewFor = field.name;
    this.preview.setAttribute("aria-live", "polite");
    this.preview.hidden = true;
    // After the field's label when the field sits inside one (clicks stay off the field).
    const anchor = field.closest("label") || field;
    anchor.after(this.list, this.preview);

    field.setAttribute("aria-autocomplete", "list");
    field.setAttribute("aria-controls", this.list.id);
    field.setAttribute("aria-expanded", "false");
    field.addEventListener("focus", () => (lastField = this));
    field.addEventListener("input", () => {
      this.suggest();
      this.schedule();
    });
    field.addEventListener("click", () => this.suggest());
    field.addEventListener("keydown", (event) => this.onKey(event));
    field.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    this.list.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus
    this.list.addEventListener("click", (event) => {
      const option = event.target.closest("[data-index]");
      if (option) this.accept(Number(option.dataset.index));
    });
    if (this.hasTemplate()) this.refresh();
  }

  hasTemplate() {
    return MARKERS.some((marker) => this.field.value.includes(marker));
  }

  // --- autocomplete ---------------------------------------------------------------------

  suggest() {
    const open = openExpression(this.field.value, this.field.selectionStart ?? 0);
    this.matches = open ? suggestions(this.items, open.word) : [];
    if (!this.matches.length) return this.close();
    this.active = 0;
    this.list.replaceChildren(
      ...this.matches.map((item, index) => {
        const li = document.createElement("li");
        li.id = `${this.list.id}-${index}`;
        li.setAttribute("role", "option");
        li.dataset.index = String(index);
        const code = document.createElement("code");
        code.textContent = item.path;
        li.append(code);
        if (item.hint) {
          const hint = document.createElement("span");
          hint.className = "pn-ac-hint";
          hint.textContent = item.hint;
          li.append(hint);
        }
        return li;
      }),
    );
    const box = this.field.getBoundingClientRect();
    this.list.style.left = `${box.left}px`;
    this.list.style.top = `${box.bottom + 2}px`;
    this.list.style.width = `${box.width}px`;
    this.list.hidden = false;
    this.field.setAttribute("aria-expanded", "true");
    this.highlight();
  }

  highlight() {
    for (const li of this.list.children) li.setAttribute("aria-selected", String(Number(li.dataset.index) === this.active));
    this.field.setAttribute("aria-activedescendant", `${this.list.id}-${this.active}`);
    this.list.children[this.active]?.scrollIntoView({ block: "nearest" });
  }

  close() {
    this.matches = [];
    this.list.hidden = true;
    this.field.setAttribute("aria-expanded", "false");
    this.field.removeAttribute("aria-activedescendant");
  }

  onKey(event) {
    if (this.list.hidden || !this.matches.length) return;
    const count = this.matches.length;
    if (event.key === "ArrowDown") this.active = (this.active + 1) % count;
    else if (event.key === "ArrowUp") this.active = (this.active + count - 1) % count;
    else if (event.key === "Enter" || event.key === "Tab") this.accept(this.active);
    else if (event.key === "Escape") this.close();
    else return;
    event.preventDefault();
    event.stopPropagation(); // Escape must not also close the panel or clear the canvas
    if (!this.list.hidden) this.highlight();
  }

  accept(index) {
    const item = this.matches[index];
    const text = this.field.value;
    const cursor = this.field.selectionStart ?? text.length;
    const open = openExpression(text, cursor);
    if (!item || !open) return this.close();
    const lead = text[open.from - 1] === "{" ? " " : "";
    const rest = text.slice(cursor);
    const close = rest.indexOf("}}");
    const next = rest.indexOf("{{");
    const closed = close >= 0 && (next < 0 || close < next);
    this.replace(open.from, cursor, `${lead}${item.path}${closed ? "" : " }}"}`);
    this.close();
  }

  /** Replace text[from:to] with `insert` and put the cursor after it. */
  replace(from, to, insert) {
    const text = this.field.value;
    this.field.value = text.slice(0, from) + insert + text.slice(to);
    const caret = from + insert.length;
    this.field.focus();
    this.field.setSelectionRange(caret, caret);
    this.field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  insertVariable(path) {
    const from = this.field.selectionStart ?? this.field.value.length;
    const to = this.field.selectionEnd ?? from;
    this.replace(from, to, `{{ ${path} }}`);
    this.close();
  }

  // --- preview --------------------------------------------------------------------------

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), PREVIEW_DELAY_MS);
  }

  async refresh() {
    if (!this.hasTemplate()) {
      this.preview.hidden = true;
      return;
    }
    const sequence = ++this.sequence;
    const body = new URLSearchParams(); // urlencoded: the input guard reads the raw body
    body.set("template", this.field.value);
    body.set("kind", this.kind);
    body.set("field", this.field.name);
    this.show({ pending: true });
    let answer;
    try {
      const response = await fetch(this.url, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      });
      answer = await response.json().catch(() => ({}));
      if (!response.ok) answer = { error: answer.message || format(gettext("The preview failed (HTTP %(status)s)."), { status: response.status }), warnings: [] };
    } catch (_) {
      answer = { error: gettext("The preview could not reach the server."), warnings: [] };
    }
    if (sequence === this.sequence) this.show(answer);
  }

  show({ pending = false, value = null, error = "", warnings = [], source = "", sources = [] }) {
    this.preview.hidden = false;
    this.preview.classList.toggle("is-error", Boolean(error));
    this.preview.classList.toggle("is-pending", pending);
    if (pending) return;
    const label = document.createElement("span");
    label.className = "pn-expr-label";
    label.textContent = error ? gettext("Error") : gettext("Preview");
    if (source) {
      // Where the data came from: "pinned data", "sample event", "last run"…
      const from = document.createElement("span");
      from.className = "pn-expr-source muted";
      from.dataset.source = [...new Set(sources.map((s) => s.from))].join(" ");
      from.textContent = format(gettext("with %(source)s"), { source });
      label.append(from);
    }
    const out = document.createElement(error ? "p" : "pre");
    out.className = error ? "pn-expr-error" : "pn-expr-value";
    if (error) out.setAttribute("role", "alert");
    out.textContent = error || shown(value);
    const notes = warnings.map((warning) => {
      const p = document.createElement("p");
      p.className = "pn-warning small";
      p.textContent = warning;
      return p;
    });
    this.preview.replaceChildren(label, out, ...notes);
  }
}

function variablesOf(panel) {
  const data = panel.querySelector("#node-variables-data");
  try {
    return data ? JSON.parse(data.textContent) : [];
  } catch (_) {
    return [];
  }
}

/** Give each template field of the open panel its expression editor (once). */
export function mountExpressions(root = document) {
  const panel = root.querySelector?.("#node-panel") || document.getElementById("node-panel");
  const vars = panel?.querySelector("[data-preview-url]");
  if (!panel || !vars) return;
  const form = panel.querySelector("#node-settings");
  if (!form || form.hasAttribute("data-readonly")) return;
  const items = variablesOf(panel);
  for (const field of form.querySelectorAll("[data-expr]:not([data-expr-mounted])")) {
    field.expression = new ExpressionField(field, { url: vars.dataset.previewUrl, items });
  }
}

document.addEventListener("click", (event) => {
  const chip = event.target.closest?.("#node-variables [data-insert]");
  if (!chip) return;
  const panel = chip.closest("#node-panel");
  const fields = [...(panel?.querySelectorAll("[data-expr][data-expr-mounted]") || [])];
  const target = lastField && fields.includes(lastField.field) ? lastField : fields[0]?.expression;
  if (target) target.insertVariable(chip.dataset.insert);
});
document.addEventListener("htmx:afterSettle", () => mountExpressions());
mountExpressions();
