// The palette: node kinds from palette.json, grouped and searchable, dragged onto the canvas.

import { icon as iconSvg } from "../js/icons.js";
import { format, gettext } from "../js/i18n.js";
import { DEFAULT_NOTE_TEXT, MAX_NOTES, NOTE_SIZE } from "./notes.js";

const X6 = window.X6;

/** The palette's sticky note: not a step (it never runs), drawn by notes.js. */
const NOTE_ENTRY = {
  kind: "note",
  type: "note",
  label: gettext("Sticky note"),
  description: gettext("A Markdown note for the people reading this workflow; it never runs."),
  icon: "sticky-note",
};

/** Index palette.json for the canvas: connectors and actions by code. */
export function buildCatalogue(palette) {
  const connectors = new Map();
  const actions = new Map();
  for (const group of palette.connectors || []) {
    connectors.set(group.code, group);
    for (const action of group.actions) actions.set(action.kind, action);
  }
  return { connectors, actions, palette };
}

/** The JSON of a new node made from a palette entry (without id and position). */
export function newNodeJson(entry) {
  if (entry.type === "action") {
    return {
      type: "action",
      connector: entry.connector,
      action: entry.action,
      label: entry.label,
      inputs: {},
    };
  }
  return { type: entry.type, label: entry.label, ...structuredClone(entry.defaults || {}) };
}

function idBase(entry) {
  return entry.type === "action" ? `${entry.connector}_${entry.action}` : entry.type;
}

function itemHtml(entry) {
  const item = document.createElement("div");
  item.className = "ed-item";
  item.dataset.kind = entry.kind;
  item.dataset.search = `${entry.label} ${entry.description || ""} ${entry.kind}`.toLowerCase();
  item.title = entry.description || entry.label;
  const icon = document.createElement("span");
  icon.className = "ed-item-icon";
  icon.append(iconSvg(entry.icon || "plug"));
  const text = document.createElement("span");
  text.className = "ed-item-text";
  const label = document.createElement("span");
  label.className = "ed-item-label";
  label.textContent = entry.label;
  text.appendChild(label);
  if (entry.description) {
    const description = document.createElement("span");
    description.className = "ed-item-desc";
    description.textContent = entry.description;
    text.appendChild(description);
  }
  item.append(icon, text);
  return item;
}

function groupHtml(title, entries) {
  const group = document.createElement("section");
  group.className = "ed-group";
  const heading = document.createElement("h3");
  heading.textContent = title;
  group.appendChild(heading);
  for (const entry of entries) group.appendChild(itemHtml(entry));
  return group;
}

/**
 * Render the palette into `list`, filter it with `search`, and start an X6 drag when an
 * item is pressed. Dropping adds a node with a fresh id; a second trigger is refused.
 */
export function mountPalette({ list, search, palette, canvas, notify }) {
  const entries = new Map();
  list.replaceChildren();
  const add = (title, items) => {
    if (!items.length) return;
    for (const entry of items) entries.set(entry.kind, entry);
    list.appendChild(groupHtml(title, items));
  };
  add(gettext("Triggers"), palette.triggers || []);
  add(gettext("Logic"), palette.logic || []);
  add(gettext("Notes"), [NOTE_ENTRY]);
  for (const group of palette.connectors || []) add(group.name, group.actions);
  if (!entries.size) list.innerHTML = `<p class="muted small">${gettext("No node kinds are available.")}</p>`;

  search.addEventListener("input", () => {
    const query = search.value.trim().toLowerCase();
    for (const group of list.querySelectorAll(".ed-group")) {
      let shown = 0;
      for (const item of group.querySelectorAll(".ed-item")) {
        const match = !query || item.dataset.search.includes(query);
        item.hidden = !match;
        if (match) shown += 1;
      }
      group.hidden = shown === 0;
    }
  });

  const graph = canvas.graph;
  const dnd = new X6.Dnd({
    target: graph,
    scaled: true,
    getDropNode(draggingNode) {
      const entry = entries.get(draggingNode.getData()?.kind);
      if (entry.kind === NOTE_ENTRY.kind) {
        const { x, y } = draggingNode.position();
        return graph.createNode(canvas.noteMeta({ id: canvas.uniqueId("note"), text: DEFAULT_NOTE_TEXT, position: { x, y }, size: NOTE_SIZE }));
      }
      const raw = { ...newNodeJson(entry), id: canvas.uniqueId(idBase(entry)) };
      const { x, y } = draggingNode.position();
      return graph.createNode(canvas.nodeMeta({ ...raw, position: { x, y } }));
    },
    validateNode(droppingNode) {
      if (canvas.isNote(droppingNode) && graph.getNodes().filter(canvas.isNote).length >= MAX_NOTES) {
        notify(format(gettext("A workflow holds at most %(count)s sticky notes."), { count: MAX_NOTES }), "error");
        return false;
      }
      const type = droppingNode.getData()?.raw?.type;
      if (type === "trigger" && graph.getNodes().some((n) => n.getData()?.raw?.type === "trigger")) {
        notify(gettext("A workflow has exactly one trigger."), "error");
        return false;
      }
      return true;
    },
  });

  list.addEventListener("mousedown", (event) => {
    const item = event.target.closest(".ed-item");
    if (!item || event.button !== 0) return;
    event.preventDefault();
    const entry = entries.get(item.dataset.kind);
    const meta =
      entry.kind === NOTE_ENTRY.kind
        ? canvas.noteMeta({ id: "preview", text: DEFAULT_NOTE_TEXT, size: NOTE_SIZE })
        : canvas.nodeMeta({ ...newNodeJson(entry), id: "preview" });
    delete meta.id; // X6 gives the drag preview its own id
    const preview = graph.createNode(meta);
    preview.setData({ ...preview.getData(), kind: entry.kind }, { overwrite: true });
    dnd.start(preview, event);
  });
  return { entries };
}
