// The X6 canvas: node cards, ports, edges, plugins, and conversion to/from the draft graph.
//
// A cell's id is the workflow node's id. Each node cell keeps the node's JSON (minus
// `position`, which X6 owns) in `data.raw`, so keys the canvas does not understand
// (`inputs`, `retry`, UI keys…) round-trip untouched. Edges keep theirs the same way.
// Sticky notes (notes.js) are nodes of their own shape, saved in `graph.notes`: every step
// operation here (badges, redraws, the copilot's changes, the saved `nodes`) skips them.

import { CARD_ICON_STYLE, iconHref } from "../js/icons.js";
import { ellipsize, textWidth, wrapTitle } from "../js/cardtext.js";
import { format, gettext } from "../js/i18n.js";
import { NOTE_MAX_SIZE, NOTE_MIN_SIZE, isNote, mountNotes } from "./notes.js";
import { cssColours, onThemeChange } from "../js/theme.js";

const X6 = window.X6;

export const NODE_WIDTH = 232;
export const NODE_HEIGHT = 64;
const NODE_SHAPE = "automate-node";
const EDGE_SHAPE = "automate-edge";

// The canvas colours: custom properties of css/studio.css (light or dark after the system
// setting), read again when the setting changes (see `retheme` below).
const COLOUR_NAMES = [
  "--canvas-bg", "--canvas-grid", "--node-bg", "--node-border", "--node-shadow", "--text", "--muted", "--icon-ink",
  "--edge", "--accent", "--node-problem", "--node-warn", "--branch-true", "--branch-false", "--st-failed",
  "--tint-trigger", "--tint-action", "--tint-condition", "--tint-delay", "--tint-transform", "--tint-merge", "--tint-unknown",
];
const FALLBACK = { "--node-bg": "#ffffff", "--text": "#1d2330", "--muted": "#6b7383", "--edge": "#9aa3b2" };
/** The canvas colours now: `{"--node-bg": "#ffffff", …}` (also for the copilot's preview). */
export const COLOURS = {};
export function readColours() {
  const read = cssColours(Object.fromEntries(COLOUR_NAMES.map((n) => [n, n])));
  for (const name of COLOUR_NAMES) COLOURS[name] = read[name] || FALLBACK[name] || "#9aa3b2";
  return COLOURS;
}
readColours();

const TYPE_LOOK = {
  trigger: { icon: "zap", tint: "--tint-trigger", subtitle: gettext("Trigger") },
  action: { icon: "cog", tint: "--tint-action", subtitle: gettext("Action") },
  condition: { icon: "split", tint: "--tint-condition", subtitle: gettext("Condition") },
  delay: { icon: "timer", tint: "--tint-delay", subtitle: gettext("Delay") },
  transform: { icon: "square-function", tint: "--tint-transform", subtitle: gettext("Transform") },
  merge: { icon: "merge", tint: "--tint-merge", subtitle: gettext("Merge") },
};

// Ports are filled by CSS (.x6-port-body in editor.css), so they follow the theme by themselves.
const PORT_CIRCLE = {
  r: 6,
  magnet: true,
  stroke: COLOURS["--edge"],
  strokeWidth: 1.5,
  fill: COLOURS["--node-bg"],
};

/** A card's colours (fill, text, icon), in the current theme: part of every card's attrs. */
export function cardColours() {
  return {
    body: { fill: COLOURS["--node-bg"] },
    label: { fill: COLOURS["--text"] },
    subtitle: { fill: COLOURS["--muted"] },
    icon: { stroke: COLOURS["--icon-ink"] },
  };
}

/** A step's card, as the canvas and the copilot's preview draw it: the parts… */
export const CARD_MARKUP = [
  { tagName: "rect", selector: "body" },
  { tagName: "rect", selector: "iconBox" },
  { tagName: "use", selector: "icon" },
  { tagName: "text", selector: "label" },
  { tagName: "text", selector: "subtitle" },
];

/** …and where they sit (each drawing adds its own colours and parts). */
export const CARD_LAYOUT = {
  body: { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 10, ry: 10 },
  iconBox: { x: 12, y: 12, width: 40, height: 40, rx: 8, ry: 8 },
  icon: { x: 22, y: 22, width: 20, height: 20, ...CARD_ICON_STYLE },
  label: { x: 64, y: 26, fontSize: 13.5, fontWeight: 600, fill: COLOURS["--text"], textVerticalAnchor: "middle" },
  subtitle: { x: 64, y: 45, fontSize: 11.5, fill: COLOURS["--muted"], textVerticalAnchor: "middle" },
};

/** Where a branch's name sits: inside the card, next to its out port. */
export const BRANCH_LABEL = { position: { name: "left", args: { x: -12, y: 0 } } };

/** The graph keys the canvas draws and writes itself; any other key is kept as it was. */
const OWN_KEYS = new Set(["nodes", "edges", "notes"]);

function registerShapes() {
  X6.Graph.registerNode(
    NODE_SHAPE,
    {
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      markup: [
        ...CARD_MARKUP,
        { tagName: "circle", selector: "badge" },
        { tagName: "text", selector: "badgeText" },
      ],
      attrs: {
        body: {
          ...CARD_LAYOUT.body,
          fill: COLOURS["--node-bg"],
          stroke: COLOURS["--node-border"],
          strokeWidth: 1.2,
          filter: { name: "dropShadow", args: { dx: 0, dy: 1, blur: 2, color: COLOURS["--node-shadow"], opacity: 0.08 } },
        },
        iconBox: { ...CARD_LAYOUT.iconBox, fill: COLOURS["--tint-action"] },
        icon: { ...CARD_LAYOUT.icon, href: "" },
        label: { ...CARD_LAYOUT.label, textAnchor: "start", text: "" },
        subtitle: { ...CARD_LAYOUT.subtitle, textAnchor: "start", text: "" },
        badge: { cx: 2, cy: 2, r: 10, fill: COLOURS["--st-failed"], stroke: COLOURS["--node-bg"], strokeWidth: 2, display: "none" },
        badgeText: {
          x: 2,
          y: 2,
          fontSize: 11,
          fontWeight: 700,
          fill: COLOURS["--node-bg"],
          textAnchor: "middle",
          textVerticalAnchor: "middle",
          display: "none",
          text: "",
        },
      },
      ports: {
        groups: {
          in: {
            position: "left",
            attrs: { circle: { ...PORT_CIRCLE, magnet: "passive" } },
          },
          out: {
            position: "right",
            attrs: { circle: { ...PORT_CIRCLE } },
            label: BRANCH_LABEL,
          },
        },
      },
    },
    true,
  );
  X6.Graph.registerEdge(
    EDGE_SHAPE,
    {
      inherit: "edge",
      connector: { name: "smooth" },
      attrs: {
        line: {
          stroke: COLOURS["--edge"],
          strokeWidth: 2,
          targetMarker: { name: "block", width: 8, height: 6 },
        },
      },
      zIndex: 0,
    },
    true,
  );
}

export function portsFor(type) {
  const items = [];
  if (type !== "trigger") items.push({ id: "in", group: "in" });
  if (type === "condition") {
    for (const [branch, colour] of [
      ["true", COLOURS["--branch-true"]],
      ["false", COLOURS["--branch-false"]],
    ]) {
      items.push({
        id: branch,
        group: "out",
        attrs: {
          circle: { stroke: colour },
          text: { text: branch, fill: colour, fontSize: 10.5, fontWeight: 700 },
        },
      });
    }
  } else {
    items.push({ id: "out", group: "out" });
  }
  return items;
}

/** The text shown on a node card, from its JSON and the palette's catalogue. */
export function describeNode(raw, catalogue) {
  const look = TYPE_LOOK[raw.type] || { icon: "shapes", tint: "--tint-unknown", subtitle: raw.type || gettext("Unknown") };
  let icon = look.icon;
  let subtitle = look.subtitle;
  if (raw.type === "action") {
    const connector = catalogue.connectors.get(raw.connector);
    const action = catalogue.actions.get(`${raw.connector}.${raw.action}`);
    icon = connector?.icon || "plug"; // a Lucide name (the server maps anything else to "plug")
    subtitle = `${connector?.name || raw.connector || "?"} · ${action?.label || raw.action || "?"}`;
  } else if (raw.type === "delay" && typeof raw.seconds === "number") {
    subtitle = format(gettext("Delay · %(seconds)ss"), { seconds: raw.seconds });
  }
  return { icon, tint: COLOURS[look.tint], label: raw.label || raw.id, subtitle };
}

// Card text is measured (../js/cardtext.js), so a long title wraps to a second line (or
// ends in "…" past it) instead of being cut after a fixed number of letters.
export const TEXT_LEFT = CARD_LAYOUT.label.x;
export const TEXT_RIGHT_MARGIN = 14;
const BRANCH_ROOM = 34; // a condition's "true"/"false" labels sit inside the card, right
/** A card's title attributes: one line when it fits, else two smaller lines (then "…"). */
export function titleAttrs(label, width) {
  if (textWidth(label, "600 13.5px") <= width) {
    return { label: { text: label, fontSize: 13.5, y: CARD_LAYOUT.label.y, title: label }, subtitleY: CARD_LAYOUT.subtitle.y };
  }
  const lines = wrapTitle(label, width, "600 12.5px");
  return { label: { text: lines.join("\n"), fontSize: 12.5, lineHeight: "1.15em", y: lines.length > 1 ? 23 : CARD_LAYOUT.label.y, title: label }, subtitleY: lines.length > 1 ? 49 : CARD_LAYOUT.subtitle.y };
}

function nodeAttrs(raw, catalogue, problems, warnings = []) {
  const look = describeNode(raw, catalogue);
  const count = problems.length;
  const warned = !count && warnings.length > 0;
  const width = NODE_WIDTH - TEXT_LEFT - TEXT_RIGHT_MARGIN - (raw.type === "condition" ? BRANCH_ROOM : 0);
  const title = titleAttrs(String(look.label), width);
  const lines = [...problems, ...warnings.map((w) => format(gettext("Warning: %(message)s"), { message: w }))];
  const colours = cardColours();
  return {
    body: {
      ...colours.body,
      stroke: count ? COLOURS["--node-problem"] : warned ? COLOURS["--node-warn"] : COLOURS["--node-border"],
      title: lines.length ? lines.join("\n") : look.label,
    },
    iconBox: { fill: look.tint },
    icon: { ...colours.icon, href: iconHref(look.icon) },
    label: { ...colours.label, ...title.label },
    subtitle: { ...colours.subtitle, text: ellipsize(String(look.subtitle), width, "11.5px"), y: title.subtitleY, title: look.subtitle },
    badge: { display: count || warned ? "block" : "none", fill: warned ? COLOURS["--node-warn"] : COLOURS["--st-failed"], stroke: COLOURS["--node-bg"] },
    badgeText: { fill: COLOURS["--node-bg"], display: count || warned ? "block" : "none", text: warned ? "!" : count > 9 ? "9+" : String(count) },
  };
}

function nodeMeta(raw, catalogue, problems = [], warnings = []) {
  const { position, ...rest } = raw;
  return {
    id: raw.id,
    shape: NODE_SHAPE,
    x: Number(position?.x) || 0,
    y: Number(position?.y) || 0,
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    data: { raw: rest, problems, warnings },
    attrs: nodeAttrs(raw, catalogue, problems, warnings),
    ports: { items: portsFor(raw.type) },
  };
}

function edgeMeta(raw, types) {
  const { source, target, ...rest } = raw;
  const fromCondition = types.get(source) === "condition";
  // After a condition the port is the branch; elsewhere `branch` stays as the draft had it.
  if (fromCondition) delete rest.branch;
  const meta = {
    shape: EDGE_SHAPE,
    source: { cell: source, port: fromCondition ? raw.branch : "out" },
    target: { cell: target, port: "in" },
    data: { raw: rest },
  };
  if (fromCondition) meta.labels = [branchLabel(raw.branch)];
  return meta;
}

/** Whether the canvas can draw an edge: both ends are drawn nodes, and an edge leaving a
 *  condition names one of its ports. Others are kept aside, unchanged, when saving. */
function drawableEdge(edge, types) {
  if (!edge || typeof edge !== "object" || !types.has(edge.source) || !types.has(edge.target)) return false;
  if (types.get(edge.source) === "condition") return edge.branch === "true" || edge.branch === "false";
  return true;
}

export function branchLabel(branch) {
  const colour = branch === "false" ? COLOURS["--branch-false"] : COLOURS["--branch-true"];
  return {
    attrs: {
      label: { text: branch, fill: colour, fontSize: 11, fontWeight: 600 },
      body: { fill: COLOURS["--node-bg"], stroke: colour, strokeWidth: 1, rx: 4, ry: 4 },
    },
    position: 0.5,
  };
}

/**
 * Create the canvas. `onChange()` is called after every user edit (for autosave),
 * `onNodeOpen(id)` when a node is clicked.
 */
export function createCanvas({ container, minimap, catalogue, onChange, onNodeOpen, onHistory, noteRenderUrl }) {
  registerShapes();
  let silent = 0; // > 0 while loading: model events are not user edits

  const graph = new X6.Graph({
    container,
    autoResize: true,
    async: false,
    grid: { visible: true, size: 16, type: "dot", args: { color: COLOURS["--canvas-grid"], thickness: 1.2 } },
    background: { color: COLOURS["--canvas-bg"] },
    panning: { enabled: true, eventTypes: ["leftMouseDown"] },
    mousewheel: { enabled: true, factor: 1.1, minScale: 0.1, maxScale: 2.5, zoomAtMousePosition: true },
    scaling: { min: 0.1, max: 2.5 },
    connecting: {
      snap: { radius: 28 },
      allowBlank: false,
      allowLoop: false,
      allowNode: false,
      allowEdge: false,
      allowPort: true,
      allowMulti: "withPort",
      highlight: true,
      connector: { name: "smooth" },
      connectionPoint: "anchor",
      createEdge() {
        return this.createEdge({ shape: EDGE_SHAPE, data: { raw: {} } });
      },
      validateMagnet({ magnet }) {
        return magnet.getAttribute("port-group") === "out";
      },
      validateConnection({ edge, sourceCell, targetCell, sourcePort, targetPort, targetMagnet }) {
        return canConnect(graph, { edge, sourceCell, targetCell, sourcePort, targetPort, targetMagnet });
      },
    },
    highlighting: {
      magnetAvailable: { name: "stroke", args: { padding: 3, attrs: { stroke: COLOURS["--accent"], strokeWidth: 2 } } },
      magnetAdsorbed: { name: "stroke", args: { padding: 4, attrs: { stroke: COLOURS["--accent"], strokeWidth: 3 } } },
    },
  });

  const history = new X6.History({
      enabled: true,
      stackSize: 200,
      beforeAddCommand(event, args) {
        if (silent > 0) return false;
        if (args?.options?.ignoreHistory) return false;
        // Attribute changes (badges, labels redrawn from data) are not user edits.
        if (event === "cell:change:attrs" || event === "cell:change:tools") return false;
        return true;
      },
    });
  graph.use(history);
  const selection = new X6.Selection({
      enabled: true,
      multiple: true,
      rubberband: true,
      modifiers: "shift",
      movable: true,
      showNodeSelectionBox: true,
      pointerEvents: "none",
    });
  graph.use(selection);
  graph.use(new X6.Snapline({ enabled: true }));
  // Notes (only) can be resized with handles; the steps keep one size.
  graph.use(
    new X6.Transform({
      resizing: {
        enabled: (node) => isNote(node),
        minWidth: NOTE_MIN_SIZE,
        minHeight: NOTE_MIN_SIZE,
        maxWidth: NOTE_MAX_SIZE,
        maxHeight: NOTE_MAX_SIZE,
        orthogonal: false,
      },
    }),
  );
  const notes = mountNotes({ graph, renderUrl: noteRenderUrl });
  /** The workflow's steps on the canvas: every node but the sticky notes. */
  const stepNodes = () => graph.getNodes().filter((node) => !isNote(node));
  if (minimap) useMiniMap(graph, minimap);

  graph.on("edge:connected", ({ edge }) => {
    const source = edge.getSourceCell();
    if (source?.getData()?.raw?.type === "condition") {
      edge.setLabels([branchLabel(edge.getSourcePortId())], { ignoreHistory: true });
    }
    if (!silent) onChange();
  });
  // Attribute changes are not in the history: redraw the cards whose data an undo changed.
  history.on("undo", () => api.redraw());
  history.on("redo", () => api.redraw());
  graph.on("history:change", () => {
    onHistory?.(history.canUndo(), history.canRedo());
    if (!silent) onChange();
  });
  graph.on("node:click", ({ node }) => {
    if (!isNote(node)) onNodeOpen(node.id);
  });
  // Edges light up on hover and while selected, so it is clear which one Delete removes.
  const paintEdge = (edge, on) =>
    edge.attr("line/stroke", on ? COLOURS["--accent"] : COLOURS["--edge"], { ignoreHistory: true });
  graph.on("edge:mouseenter", ({ edge }) => paintEdge(edge, true));
  graph.on("edge:mouseleave", ({ edge }) => paintEdge(edge, selection.isSelected(edge)));
  graph.on("edge:selected", ({ edge }) => paintEdge(edge, true));
  graph.on("edge:unselected", ({ edge }) => paintEdge(edge, false));
  // Light or dark after the system setting: redraw what X6 drew with the old colours.
  onThemeChange(() => {
    readColours();
    registerShapes(); // new cards and edges start in the new colours
    graph.drawBackground({ color: COLOURS["--canvas-bg"] });
    graph.drawGrid({ type: "dot", args: { color: COLOURS["--canvas-grid"], thickness: 1.2 } });
    silent += 1;
    try {
      api.redraw();
      for (const edge of graph.getEdges()) {
        paintEdge(edge, selection.isSelected(edge));
        const source = edge.getSourceCell();
        if (source?.getData()?.raw?.type === "condition") edge.setLabels([branchLabel(edge.getSourcePortId())], { ignoreHistory: true });
      }
      for (const node of graph.getNodes()) {
        for (const port of portsFor(node.getData()?.raw?.type)) if (port.attrs) node.setPortProp(port.id, "attrs", port.attrs, { ignoreHistory: true });
      }
    } finally {
      silent -= 1;
    }
  });

  const api = {
    graph,
    history,
    selection,
    catalogue,

    /** Replace everything with `draftGraph` (first load or reload); `notesHtml` is the
     *  draft's `notes_html` (each note's sanitized HTML, by id). */
    load(draftGraph, problemsByNode = {}, notesHtml = {}) {
      silent += 1;
      try {
        const { nodes, unusable } = drawableNodes(draftGraph);
        api.orphanNodes = unusable;
        const types = new Map(nodes.map((n) => [n.id, n.type]));
        const allEdges = Array.isArray(draftGraph?.edges) ? draftGraph.edges : [];
        const edges = allEdges.filter((e) => drawableEdge(e, types));
        const drawn = notes.drawable(draftGraph, types.keys());
        api.orphanNotes = drawn.unusable;
        notes.renderer.seed(drawn.notes, notesHtml);
        graph.fromJSON({
          cells: [
            ...drawn.notes.map((n) => notes.meta(n)),
            ...nodes.map((n) => nodeMeta(n, catalogue, problemsByNode[n.id] || [])),
            ...edges.map((e) => edgeMeta(e, types)),
          ],
        });
        // Edges the draft has but the canvas cannot draw (unknown ends) are kept as is.
        api.orphanEdges = allEdges.filter((e) => !drawableEdge(e, types));
        api.extraKeys = Object.fromEntries(Object.entries(draftGraph || {}).filter(([k]) => !OWN_KEYS.has(k)));
        history.clean();
      } finally {
        silent -= 1;
      }
      onHistory?.(false, false);
    },

    /**
     * Update node data and labels from the server's draft without moving the viewport.
     * Adds and removes cells only where the server's graph differs.
     */
    refresh(draftGraph, problemsByNode = {}, notesHtml = {}) {
      silent += 1;
      try {
        graph.batchUpdate(() => {
          const { nodes, unusable } = drawableNodes(draftGraph);
          api.orphanNodes = unusable;
          const wanted = new Set(nodes.map((n) => n.id));
          for (const node of stepNodes()) if (!wanted.has(node.id)) graph.removeCell(node, { ignoreHistory: true });
          api.refreshNotes(draftGraph, wanted, notesHtml);
          for (const raw of nodes) {
            const cell = graph.getCellById(raw.id);
            const meta = nodeMeta(raw, catalogue, problemsByNode[raw.id] || []);
            if (!cell) {
              graph.addNode(meta, { ignoreHistory: true });
              continue;
            }
            const { position, ...rest } = raw;
            cell.setData({ raw: rest, problems: meta.data.problems }, { overwrite: true, ignoreHistory: true });
            cell.setAttrs(meta.attrs, { ignoreHistory: true });
            if (position && (position.x !== cell.position().x || position.y !== cell.position().y)) {
              cell.position(position.x, position.y, { ignoreHistory: true });
            }
          }
          const types = new Map(nodes.map((n) => [n.id, n.type]));
          const key = (e) => `${e.source}|${e.target}|${e.branch ?? ""}`;
          const allEdges = Array.isArray(draftGraph?.edges) ? draftGraph.edges : [];
          api.orphanEdges = allEdges.filter((e) => !drawableEdge(e, types));
          const wantedEdges = new Map(allEdges.filter((e) => drawableEdge(e, types)).map((e) => [key(e), e]));
          for (const edge of graph.getEdges()) {
            const current = serialiseEdge(edge);
            if (!current || !wantedEdges.has(key(current))) graph.removeCell(edge, { ignoreHistory: true });
            else wantedEdges.delete(key(current));
          }
          for (const raw of wantedEdges.values()) graph.addEdge(edgeMeta(raw, types), { ignoreHistory: true });
        });
      } finally {
        silent -= 1;
      }
    },

    /**
     * Make the canvas show `draftGraph` as user edits (recorded in the history, unlike
     * `refresh`): nodes and edges added, removed, changed and moved where they differ.
     * Wrap it in `graph.startBatch/stopBatch` to make it one undo step.
     */
    applyGraph(draftGraph) {
      const { nodes } = drawableNodes(draftGraph);
      const wanted = new Map(nodes.map((n) => [n.id, n]));
      for (const node of stepNodes()) {
        const next = wanted.get(node.id);
        // A node that changes type needs other ports: it is replaced.
        if (!next || next.type !== node.getData()?.raw?.type) graph.removeCell(node);
      }
      for (const raw of nodes) {
        const cell = graph.getCellById(raw.id);
        const problems = cell?.getData()?.problems || [];
        const meta = nodeMeta(raw, catalogue, problems);
        if (!cell) {
          graph.addNode(meta);
          continue;
        }
        const { position, ...rest } = raw;
        if (JSON.stringify(cell.getData()?.raw || {}) !== JSON.stringify(rest)) {
          cell.setData({ raw: rest, problems }, { overwrite: true });
          cell.setAttrs(meta.attrs, { ignoreHistory: true });
        }
        if (position && (position.x !== cell.position().x || position.y !== cell.position().y)) {
          cell.position(position.x, position.y);
        }
      }
      const types = new Map(nodes.map((n) => [n.id, n.type]));
      const key = (e) => `${e.source}|${e.target}|${e.branch ?? ""}`;
      const allEdges = Array.isArray(draftGraph?.edges) ? draftGraph.edges : [];
      const wantedEdges = new Map(allEdges.filter((e) => drawableEdge(e, types)).map((e) => [key(e), e]));
      for (const edge of graph.getEdges()) {
        const current = serialiseEdge(edge);
        if (!current || !wantedEdges.has(key(current))) graph.removeCell(edge);
        else wantedEdges.delete(key(current));
      }
      for (const raw of wantedEdges.values()) graph.addEdge(edgeMeta(raw, types));
    },

    /** Redraw every card from its data (after an undo or redo changed the data). */
    redraw() {
      for (const node of stepNodes()) {
        const data = node.getData() || {};
        node.setAttrs(nodeAttrs({ ...data.raw, id: node.id }, catalogue, data.problems || [], data.warnings || []), { ignoreHistory: true });
      }
    },

    /** Badge nodes: `{node_id: ["message", …]}` (red, publishing refuses them) and
     *  warnings the same way (amber, publishing goes ahead); nodes not named lose theirs. */
    setProblems(problemsByNode, warningsByNode = {}) {
      for (const node of stepNodes()) {
        const problems = problemsByNode[node.id] || [];
        const warnings = warningsByNode[node.id] || [];
        const data = node.getData() || {};
        if (JSON.stringify([data.problems || [], data.warnings || []]) === JSON.stringify([problems, warnings])) continue;
        node.setData({ ...data, problems, warnings }, { overwrite: true, ignoreHistory: true, silent: false });
        node.setAttrs(nodeAttrs({ ...data.raw, id: node.id }, catalogue, problems, warnings), { ignoreHistory: true });
      }
    },

    /** The draft graph as the server stores it, keeping every key the canvas does not own. */
    toDraftGraph() {
      const nodes = stepNodes().map((cell) => {
        const { x, y } = cell.position();
        return { ...(cell.getData()?.raw || {}), id: cell.id, position: { x: Math.round(x), y: Math.round(y) } };
      });
      const edges = graph.getEdges().map(serialiseEdge).filter(Boolean);
      const drawnNotes = graph.getNodes().filter(isNote).map((cell) => notes.serialise(cell));
      const out = {
        ...(api.extraKeys || {}),
        nodes: [...nodes, ...(api.orphanNodes || [])],
        edges: [...edges, ...(api.orphanEdges || [])],
      };
      const allNotes = [...drawnNotes, ...(api.orphanNotes || [])];
      if (allNotes.length) out.notes = allNotes;
      return out;
    },

    /** Make the note cells match the server's `draftGraph.notes` (not a user edit). */
    refreshNotes(draftGraph, stepIds, notesHtml = {}) {
      const drawn = notes.drawable(draftGraph, stepIds);
      api.orphanNotes = drawn.unusable;
      notes.renderer.seed(drawn.notes, notesHtml);
      const wanted = new Map(drawn.notes.map((n) => [n.id, n]));
      for (const cell of graph.getNodes().filter(isNote)) if (!wanted.has(cell.id)) graph.removeCell(cell, { ignoreHistory: true });
      for (const raw of wanted.values()) {
        const meta = notes.meta(raw);
        const cell = graph.getCellById(raw.id);
        if (!cell) {
          graph.addNode(meta, { ignoreHistory: true });
          continue;
        }
        if (!isNote(cell)) continue;
        if (JSON.stringify(notes.serialise(cell)) === JSON.stringify(notes.normalise(raw))) continue;
        cell.setData(meta.data, { overwrite: true, ignoreHistory: true });
        cell.position(meta.x, meta.y, { ignoreHistory: true });
        cell.resize(meta.width, meta.height, { ignoreHistory: true });
      }
    },

    /** Add a sticky note (draft JSON without `id`: one is made) as a user edit; returns the cell. */
    addNote(raw) {
      return graph.addNode(notes.meta({ ...raw, id: raw.id || uniqueId(graph, "note") }));
    },

    /** Add a node from a palette entry at a graph position; returns the cell. */
    addNode(raw) {
      return graph.addNode(nodeMeta(raw, catalogue));
    },

    nodeMeta: (raw) => nodeMeta(raw, catalogue),
    noteMeta: (raw) => notes.meta(raw),
    notes,
    stepNodes,
    isNote,
    uniqueId: (base) => uniqueId(graph, base),
    orphanNodes: [],
    orphanEdges: [],
    orphanNotes: [],
    extraKeys: {},
  };
  return api;
}

/**
 * The minimap: a thumbnail of every node with the visible part of the canvas outlined.
 * X6's own fit looks only at the rendered cells and only on a full reload, so nodes added
 * one by one (or not yet rendered) were missing and the outline could sit outside the
 * thumbnail. Here the thumbnail shows the union of every node's box and the visible
 * area, refitted after any change, so both always fit inside it.
 */
function useMiniMap(graph, container) {
  const minimap = new X6.MiniMap({
    container,
    // The box's inner size (editor.css .ed-minimap), so no edge of the thumbnail is clipped.
    width: container.clientWidth || 198,
    height: container.clientHeight || 138,
    padding: 8,
    // No background of its own: the box's (editor.css .ed-minimap) follows the theme.
    graphOptions: { async: false, virtual: false, grid: false },
  });
  let frame = 0;
  const fit = () => {
    const target = minimap.targetGraph;
    if (!target) return;
    const visible = graph.getGraphArea();
    const nodes = graph.getNodes();
    const area = nodes.length ? graph.getCellsBBox(nodes).union(visible) : visible;
    target.zoomToRect(area.inflate(Math.max(area.width, area.height) * 0.02), { minScale: 0.001, maxScale: 1 });
    minimap.updateViewport();
  };
  const refit = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      fit();
    });
  };
  // The plugin's own hooks refit the whole thumbnail instead of fitting the cells alone.
  const updatePaper = minimap.updatePaper;
  minimap.updatePaper = function (...args) {
    updatePaper.apply(this, args);
    fit();
    return this;
  };
  minimap.onModelUpdated = refit;
  // While the outline itself is dragged the thumbnail holds still (it refits on release).
  minimap.onTransform = () => (minimap.targetGraphTransforming ? minimap.updateViewport() : refit());
  const stopAction = minimap.stopAction;
  minimap.stopAction = function (...args) {
    stopAction.apply(this, args);
    refit();
  };
  graph.use(minimap);
  graph.on("cell:added", refit);
  graph.on("cell:removed", refit);
  graph.on("node:change:position", refit);
  graph.on("resize", refit);
  return minimap;
}

/** Split the draft's nodes into those the canvas can draw and those it keeps aside
 *  (no string id, or an id used twice) so that saving never drops them. */
function drawableNodes(draftGraph) {
  const nodes = [];
  const unusable = [];
  const seen = new Set();
  for (const node of Array.isArray(draftGraph?.nodes) ? draftGraph.nodes : []) {
    if (node && typeof node === "object" && typeof node.id === "string" && node.id && !seen.has(node.id)) {
      seen.add(node.id);
      nodes.push(node);
    } else {
      unusable.push(node);
    }
  }
  return { nodes, unusable };
}

function serialiseEdge(edge) {
  const source = edge.getSourceCellId();
  const target = edge.getTargetCellId();
  if (!source || !target) return null; // still being drawn
  const out = { ...(edge.getData()?.raw || {}), source, target };
  if (edge.getSourceCell()?.getData()?.raw?.type === "condition") out.branch = edge.getSourcePortId();
  return out;
}

function canConnect(graph, { edge, sourceCell, targetCell, sourcePort, targetPort, targetMagnet }) {
  if (!sourceCell || !targetCell || !targetMagnet) return false;
  if (sourceCell.id === targetCell.id) return false; // no self loops
  if (targetCell.getData()?.raw?.type === "trigger") return false; // nothing leads into the trigger
  if (targetMagnet.getAttribute("port-group") !== "in") return false;
  return !graph.getEdges().some(
    (other) =>
      other !== edge &&
      other.getSourceCellId() === sourceCell.id &&
      other.getSourcePortId() === sourcePort &&
      other.getTargetCellId() === targetCell.id &&
      (other.getTargetPortId() || "in") === (targetPort || "in"),
  );
}

/** A node id that is not taken: `http_post`, `http_post_2`, … (matches NODE_ID_PATTERN). */
export function uniqueId(graph, base) {
  let slug = String(base || "node")
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 60);
  if (!/^[a-z_]/.test(slug)) slug = `n_${slug}`;
  if (!graph.getCellById(slug)) return slug;
  for (let n = 2; ; n += 1) {
    const candidate = `${slug}_${n}`;
    if (!graph.getCellById(candidate)) return candidate;
  }
}
