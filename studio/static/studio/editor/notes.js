// Sticky notes on the canvas: Markdown for the people reading the workflow, never run.
//
// A note is an X6 HTML node (shape "automate-note") whose cell id is the note's id and whose
// data is `{ note: { text, color } }`; X6 owns its position and size. The draft keeps notes in
// `graph.notes` (docs/reference/workflow-format.md#sticky-notes), apart from the steps.
//
// The text is Markdown rendered by the server (studio/views/notes.py: Markdown, then bleach).
// Only HTML the server answered is ever inserted; until it arrives a note shows its text as
// plain text (textContent).

import { icon } from "../js/icons.js";
import { format, gettext } from "../js/i18n.js";
import { csrfToken } from "./autosave.js";

const X6 = window.X6;

export const NOTE_SHAPE = "automate-note";
/** The colour presets (automate.workflows.notes.NOTE_COLORS); notes.css draws each. */
export const NOTE_COLORS = ["yellow", "blue", "green", "pink", "purple", "gray"];
const COLOR_LABELS = {
  yellow: gettext("Yellow"),
  blue: gettext("Blue"),
  green: gettext("Green"),
  pink: gettext("Pink"),
  purple: gettext("Purple"),
  gray: gettext("Gray"),
};
export const NOTE_SIZE = { width: 280, height: 200 };
export const NOTE_MIN_SIZE = 80;
export const NOTE_MAX_SIZE = 4000;
export const MAX_NOTE_CHARS = 10000;
export const MAX_NOTES = 100;
export const DEFAULT_NOTE_TEXT = gettext(
  "## Sticky note\nDouble-click to edit. Notes are **Markdown**: headings, *emphasis*, lists, `code` and [links](https://example.com).\n\nNotes are for people: they never run.",
);

/** Whether an X6 cell is a sticky note (not a step). */
export const isNote = (cell) => Boolean(cell && cell.shape === NOTE_SHAPE);

/** The server's rendering of note texts, remembered by text (the same text renders alike). */
class NoteRenderer {
  constructor(url) {
    this.url = url;
    this.cache = new Map();
    this.pending = new Map();
  }

  /** Remember the HTML the draft came with (`notes_html`, by note id). */
  seed(notes, htmlById) {
    for (const note of notes || []) {
      const html = htmlById?.[note?.id];
      if (typeof html === "string" && typeof note.text === "string") this.cache.set(note.text, html);
    }
  }

  /** The sanitized HTML of `text`, or undefined when the server has not answered yet. */
  known(text) {
    return this.cache.get(text);
  }

  /** Ask the server once per text; resolves to the HTML, or null when it refused. */
  request(text) {
    if (this.cache.has(text)) return Promise.resolve(this.cache.get(text));
    if (this.pending.has(text)) return this.pending.get(text);
    const sent = fetch(this.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify({ text }),
    })
      .then(async (response) => {
        if (!response.ok) return null;
        const body = await response.json();
        if (typeof body.html !== "string") return null;
        this.cache.set(text, body.html);
        return body.html;
      })
      .catch(() => null)
      .finally(() => this.pending.delete(text));
    this.pending.set(text, sent);
    return sent;
  }
}

const shownText = new WeakMap(); // a note's element -> the text it shows

function noteOf(cell) {
  const note = cell.getData()?.note || {};
  return { text: typeof note.text === "string" ? note.text : "", color: NOTE_COLORS.includes(note.color) ? note.color : "yellow" };
}

/** Fill a note's content box with the server's HTML for `text`, or the text itself. */
function fillContent(content, text, html) {
  content.classList.toggle("sn-empty", !text.trim());
  if (!text.trim()) {
    content.textContent = gettext("Double-click to write a note.");
    return;
  }
  if (typeof html === "string") {
    content.classList.remove("sn-plain");
    content.innerHTML = html; // sanitized by the server (automate.workflows.note_html)
  } else {
    content.classList.add("sn-plain");
    content.textContent = text;
  }
}

function swatches(current, onPick) {
  const row = document.createElement("div");
  row.className = "sn-swatches";
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", gettext("Note colour"));
  for (const color of NOTE_COLORS) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `sn-swatch sn-swatch-${color}`;
    button.dataset.color = color;
    button.title = format(gettext("Colour: %(colour)s"), { colour: COLOR_LABELS[color] });
    button.setAttribute("aria-label", button.title);
    button.setAttribute("aria-pressed", String(color === current));
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      onPick(color);
    });
    row.append(button);
  }
  return row;
}

/** Keep pointer and wheel events inside `element` away from the canvas (no drag, no zoom). */
function keepFromCanvas(element, events = ["mousedown", "pointerdown", "dblclick", "wheel", "keydown"]) {
  for (const name of events) element.addEventListener(name, (event) => event.stopPropagation());
}

/**
 * Register the note shape and return the notes' part of the canvas API. `graph` is the
 * main canvas (the minimap draws the same cells read-only); `renderUrl` answers renders.
 */
export function mountNotes({ graph, renderUrl }) {
  const renderer = new NoteRenderer(renderUrl);
  let editingId = null;

  function elementsOf(id) {
    return [...document.querySelectorAll(".sn")].filter((el) => el.dataset.noteId === id);
  }

  function draw(cell) {
    const { text, color } = noteOf(cell);
    const root = document.createElement("div");
    root.className = `sn sn-${color}`;
    root.dataset.noteId = cell.id;
    const bar = document.createElement("div");
    bar.className = "sn-bar";
    const edit = document.createElement("button");
    edit.type = "button";
    edit.className = "sn-btn sn-edit";
    edit.title = gettext("Edit the note (or double-click it)");
    edit.setAttribute("aria-label", gettext("Edit the note"));
    edit.append(icon("pencil"));
    edit.addEventListener("click", (event) => {
      event.stopPropagation();
      startEditing(cell);
    });
    bar.append(swatches(color, (picked) => setNote(cell, { color: picked })), edit);
    keepFromCanvas(bar);
    const content = document.createElement("div");
    content.className = "sn-content";
    // A note whose text is longer than it is tall scrolls under the wheel instead of zooming.
    content.addEventListener("wheel", (event) => {
      if (content.scrollHeight > content.clientHeight + 1 && !event.ctrlKey) event.stopPropagation();
    });
    // A link opens (in a new tab) without starting a drag of the note.
    content.addEventListener("mousedown", (event) => {
      if (event.target.closest?.("a")) event.stopPropagation();
    });
    const html = renderer.known(text);
    fillContent(content, text, html);
    shownText.set(root, text);
    if (html === undefined && text.trim()) {
      renderer.request(text).then((answer) => {
        if (answer === null) return;
        for (const el of elementsOf(cell.id)) {
          const box = el.querySelector(".sn-content");
          if (box && shownText.get(el) === text) fillContent(box, text, answer);
        }
      });
    }
    root.append(bar, content);
    return root;
  }

  X6.Shape.HTML.register({
    shape: NOTE_SHAPE,
    width: NOTE_SIZE.width,
    height: NOTE_SIZE.height,
    effect: ["data"],
    html: draw,
  });

  /** Change a note's text and/or colour as one user edit (undoable, saved). */
  function setNote(cell, changes) {
    const current = noteOf(cell);
    const next = { ...current, ...changes };
    if (next.text === current.text && next.color === current.color) return;
    cell.setData({ ...(cell.getData() || {}), note: next }, { overwrite: true });
  }

  /** Show the Markdown source in a textarea inside the note; leaving it saves the text. */
  function startEditing(cell) {
    const view = graph.findViewByCell(cell);
    const root = view?.container?.querySelector(".sn");
    if (!root || root.classList.contains("sn-editing")) return;
    editingId = cell.id;
    const { text, color } = noteOf(cell);
    let chosen = color;
    root.classList.add("sn-editing");
    const source = document.createElement("textarea");
    source.className = "sn-source";
    source.maxLength = MAX_NOTE_CHARS;
    source.value = text;
    source.setAttribute("aria-label", gettext("Note text (Markdown)"));
    const done = document.createElement("button");
    done.type = "button";
    done.className = "btn btn-small sn-done";
    done.textContent = gettext("Done");
    const bar = document.createElement("div");
    bar.className = "sn-editbar";
    const picker = swatches(color, (picked) => {
      chosen = picked;
      for (const c of NOTE_COLORS) root.classList.toggle(`sn-${c}`, c === picked);
      for (const b of picker.querySelectorAll(".sn-swatch")) b.setAttribute("aria-pressed", String(b.dataset.color === picked));
      source.focus();
    });
    const count = document.createElement("span");
    count.className = "sn-count";
    const showCount = () => {
      count.textContent = source.value.length > MAX_NOTE_CHARS * 0.9 ? `${source.value.length}/${MAX_NOTE_CHARS}` : "";
    };
    showCount();
    source.addEventListener("input", showCount);
    bar.append(picker, count, done);
    // Buttons keep the focus in the textarea, so picking a colour does not end editing.
    for (const button of bar.querySelectorAll("button")) button.addEventListener("mousedown", (event) => event.preventDefault());
    keepFromCanvas(source);
    keepFromCanvas(bar);
    root.querySelector(".sn-content").hidden = true;
    root.querySelector(".sn-bar").hidden = true;
    root.append(source, bar);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      editingId = null;
      source.remove();
      bar.remove();
      root.classList.remove("sn-editing");
      root.querySelector(".sn-content").hidden = false;
      root.querySelector(".sn-bar").hidden = false;
      if (graph.getCellById(cell.id)) setNote(cell, { text: source.value.slice(0, MAX_NOTE_CHARS), color: chosen });
    };
    source.addEventListener("blur", finish);
    done.addEventListener("click", (event) => {
      event.stopPropagation();
      finish();
    });
    source.addEventListener("keydown", (event) => {
      if (event.key === "Escape" || (event.key === "Enter" && (event.ctrlKey || event.metaKey))) {
        event.preventDefault();
        finish();
      }
    });
    source.focus();
    source.setSelectionRange(source.value.length, source.value.length);
  }

  graph.on("node:dblclick", ({ node }) => {
    if (isNote(node)) startEditing(node);
  });

  return {
    renderer,
    startEditing,
    isEditing: () => editingId !== null,

    /** The X6 metadata of a note from its draft JSON. */
    meta(raw) {
      const size = raw.size || {};
      const clamp = (value, fallback) => Math.min(NOTE_MAX_SIZE, Math.max(NOTE_MIN_SIZE, Number(value) || fallback));
      return {
        id: raw.id,
        shape: NOTE_SHAPE,
        x: Number(raw.position?.x) || 0,
        y: Number(raw.position?.y) || 0,
        width: clamp(size.width, NOTE_SIZE.width),
        height: clamp(size.height, NOTE_SIZE.height),
        zIndex: -1, // behind the steps and their connections
        data: { note: { text: typeof raw.text === "string" ? raw.text : "", color: NOTE_COLORS.includes(raw.color) ? raw.color : "yellow" } },
      };
    },

    /** A note's draft JSON as the canvas would save it (the keys in `serialise`'s order). */
    normalise(raw) {
      const meta = this.meta(raw);
      return {
        id: raw.id,
        text: meta.data.note.text,
        position: { x: Math.round(meta.x), y: Math.round(meta.y) },
        size: { width: Math.round(meta.width), height: Math.round(meta.height) },
        color: meta.data.note.color,
      };
    },

    /** A note cell as the draft stores it. */
    serialise(cell) {
      const { x, y } = cell.position();
      const { width, height } = cell.size();
      const { text, color } = noteOf(cell);
      return {
        id: cell.id,
        text,
        position: { x: Math.round(x), y: Math.round(y) },
        size: { width: Math.round(width), height: Math.round(height) },
        color,
      };
    },

    /** Split a draft's notes into those the canvas draws and those it keeps as they are
     *  (not an object, no usable id, an id taken by a step or another note). */
    drawable(draftGraph, takenIds) {
      const notes = [];
      const unusable = [];
      const seen = new Set(takenIds);
      for (const note of Array.isArray(draftGraph?.notes) ? draftGraph.notes : []) {
        if (note && typeof note === "object" && typeof note.id === "string" && note.id && !seen.has(note.id)) {
          seen.add(note.id);
          notes.push(note);
        } else {
          unusable.push(note);
        }
      }
      return { notes, unusable };
    },
  };
}
