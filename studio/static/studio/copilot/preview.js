// The proposal drawn over the canvas as a diff, in a read-only layer of its own: the
// draft's canvas underneath is not touched until the user accepts, so Reject only has to
// take this layer away. Added steps and connections are green, changed ones amber (with
// the changed keys), removed ones red, dashed and faded; each step's one-line
// explanation sits under its card.

import { BRANCH_LABEL, CARD_LAYOUT, CARD_MARKUP, NODE_HEIGHT, NODE_WIDTH, TEXT_LEFT, TEXT_RIGHT_MARGIN, branchLabel, cardColours, describeNode, portsFor, readColours, titleAttrs } from "../editor/graph.js";
import { ellipsize } from "../js/cardtext.js";
import { format, gettext } from "../js/i18n.js";
import { iconHref } from "../js/icons.js";
import { cssColours } from "../js/theme.js";

/** Room for a card's title and subtitle (the editor's cards, read-only here). */
const TEXT_WIDTH = NODE_WIDTH - TEXT_LEFT - TEXT_RIGHT_MARGIN;

const X6 = window.X6;
const SHAPE = "automate-preview-node";
// Each state's colours are custom properties of css/studio.css (light or dark), read when
// the preview is drawn.
const LOOK = {
  added: { stroke: "--st-succeeded", fill: "--ok-bg", tag: () => gettext("+ added"), tagFill: "--ok-text" },
  changed: { stroke: "--st-retrying", fill: "--warn-bg", tag: (keys) => format(gettext("~ changed: %(keys)s"), { keys }), tagFill: "--warn-text" },
  removed: { stroke: "--st-failed", fill: "--err-bg", tag: () => gettext("− removed"), tagFill: "--err-text" },
  same: { stroke: "--node-border", fill: "--node-bg", tag: () => "", tagFill: "--muted" },
};
const NAMES = ["--st-succeeded", "--st-retrying", "--st-failed", "--node-border", "--node-bg", "--muted", "--text",
  "--ok-bg", "--warn-bg", "--err-bg", "--ok-text", "--warn-text", "--err-text", "--edge", "--canvas-bg", "--canvas-grid"];

let registered = false;
function register() {
  if (registered) return;
  registered = true;
  X6.Graph.registerNode(
    SHAPE,
    {
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      markup: [...CARD_MARKUP, { tagName: "text", selector: "tag" }, { tagName: "text", selector: "caption" }],
      attrs: {
        ...structuredClone(CARD_LAYOUT),
        body: { ...CARD_LAYOUT.body, strokeWidth: 2 },
        tag: { x: NODE_WIDTH, y: -9, textAnchor: "end", fontSize: 11, fontWeight: 700 },
        caption: { x: 4, y: NODE_HEIGHT + 15, fontSize: 11.5, fontStyle: "italic" },
      },
      ports: {
        groups: {
          // Filled by CSS (.x6-port-body in editor.css), stroked with the edges' colour.
          in: { position: "left", attrs: { circle: { r: 5, stroke: "#9aa3b2", fill: "#fff", strokeWidth: 1.5 } } },
          out: { position: "right", attrs: { circle: { r: 5, stroke: "#9aa3b2", fill: "#fff", strokeWidth: 1.5 } }, label: BRANCH_LABEL },
        },
      },
    },
    true,
  );
}

const edgeKey = (e) => `${e.source}|${e.target}|${e.branch || ""}`;

/**
 * Positions for the proposal's nodes: a step already on the canvas stays where it is; a
 * new one goes to the right of the step before it, one card and a gap further (whatever
 * position the drafter gave it, so every drafter's steps are laid out alike).
 */
export function placeNodes(proposed, canvasPositions, added = new Set()) {
  const nodes = proposed.graph?.nodes || [];
  const edges = proposed.graph?.edges || [];
  const placed = new Map();
  for (const node of nodes) {
    const known = canvasPositions.get(node.id) || (added.has(node.id) ? null : node.position);
    if (known && Number.isFinite(known.x) && Number.isFinite(known.y)) placed.set(node.id, { x: known.x, y: known.y });
  }
  const children = new Map();
  let loose = 0;
  const placeChild = (node, parentEdge) => {
    const parent = placed.get(parentEdge.source);
    const count = children.get(parentEdge.source) || 0;
    children.set(parentEdge.source, count + 1);
    const x = parent.x + NODE_WIDTH + 60;
    const taken = (y) => [...placed.values()].some((p) => Math.abs(p.x - x) < NODE_WIDTH && Math.abs(p.y - y) < NODE_HEIGHT + 30);
    let y = parent.y + count * 110;
    while (taken(y)) y += 110;
    placed.set(node.id, { x, y });
  };
  const wanted = new Set(nodes.map((n) => n.id));
  while ([...wanted].some((id) => !placed.has(id))) {
    let progress = false;
    for (const node of nodes) {
      if (placed.has(node.id)) continue;
      const parentEdge = edges.find((e) => e.target === node.id && placed.has(e.source));
      if (!parentEdge) continue;
      placeChild(node, parentEdge);
      progress = true;
    }
    if (progress) continue;
    // Nothing hangs off a placed step: start a new row with a step nothing leads into.
    const unplaced = nodes.filter((n) => !placed.has(n.id));
    const root = unplaced.find((n) => !edges.some((e) => e.target === n.id)) || unplaced[0];
    placed.set(root.id, { x: 40 + 320 * loose, y: 120 + 200 * loose });
    loose += 1;
  }
  return placed;
}

/**
 * Draw `proposal` (with its `diff`) in `container`, over the canvas. `positions` comes
 * from `placeNodes`. Returns `{ graph, destroy() }`.
 */
export function showPreview({ container, proposal, positions, catalogue, viewport }) {
  register();
  const diff = proposal.diff || {};
  const added = new Set((diff.nodes_added || []).map((n) => n.id));
  const changed = new Map((diff.nodes_changed || []).filter((n) => !n.layout_only).map((n) => [n.id, n.keys || []]));
  const removed = (proposal.before?.graph?.nodes || []).filter((n) => (diff.nodes_removed || []).some((r) => r.id === n.id));
  const explain = proposal.explanations || {};
  readColours(); // the cards' colours (graph.js), as the system setting is now
  const C = cssColours(Object.fromEntries(NAMES.map((n) => [n, n])));
  const graph = new X6.Graph({
    container,
    autoResize: true,
    interacting: false,
    grid: { visible: true, size: 16, type: "dot", args: { color: C["--canvas-grid"], thickness: 1.2 } },
    background: { color: C["--canvas-bg"] },
    panning: { enabled: true, eventTypes: ["leftMouseDown"] },
    mousewheel: { enabled: true, factor: 1.1, minScale: 0.1, maxScale: 2.5, zoomAtMousePosition: true },
  });
  const types = new Map();
  const cells = [];
  const nodeCell = (raw, state) => {
    const look = describeNode(raw, catalogue);
    const style = LOOK[state];
    const position = positions.get(raw.id) || raw.position || { x: 0, y: 0 };
    types.set(raw.id, raw.type);
    const keys = (changed.get(raw.id) || []).join(", ");
    const title = titleAttrs(String(look.label), TEXT_WIDTH);
    const colours = cardColours();
    return {
      id: raw.id,
      shape: SHAPE,
      x: position.x,
      y: position.y,
      data: { state },
      attrs: {
        body: { stroke: C[style.stroke], fill: C[style.fill], strokeDasharray: state === "removed" ? "6 4" : null, title: explain[raw.id] || look.label },
        iconBox: { fill: look.tint },
        icon: { ...colours.icon, href: iconHref(look.icon) },
        label: { ...colours.label, ...title.label },
        subtitle: { ...colours.subtitle, text: ellipsize(look.subtitle, TEXT_WIDTH, "11.5px"), y: title.subtitleY, title: look.subtitle },
        tag: { text: ellipsize(style.tag(keys), NODE_WIDTH - 8, "600 11px"), fill: C[style.tagFill], title: style.tag(keys) },
        caption: { text: ellipsize(explain[raw.id] || "", NODE_WIDTH + 40, "11.5px"), fill: C["--text"], title: explain[raw.id] || "" },
      },
      ports: { items: portsFor(raw.type) },
      opacity: state === "removed" ? 0.6 : 1,
    };
  };
  // The trigger card stands for the trigger spec and the rule: their changes show on it.
  const specKeys = [...(diff.trigger_changes || []).map((t) => t.key), ...(diff.rule_changed ? [gettext("rule")] : [])];
  for (const raw of proposal.definition?.graph?.nodes || []) {
    if (raw.type === "trigger" && specKeys.length && !added.has(raw.id)) changed.set(raw.id, [...(changed.get(raw.id) || []), ...specKeys]);
  }
  for (const raw of proposal.definition?.graph?.nodes || []) {
    const state = added.has(raw.id) ? "added" : changed.has(raw.id) ? "changed" : "same";
    cells.push(nodeCell(raw, state));
  }
  for (const raw of removed) cells.push(nodeCell(raw, "removed"));
  const addedEdges = new Set((diff.edges_added || []).map(edgeKey));
  const edgeCell = (raw, state) => {
    const fromCondition = types.get(raw.source) === "condition";
    const colour = C[state === "added" ? "--st-succeeded" : state === "removed" ? "--st-failed" : "--edge"];
    const cell = {
      shape: "edge",
      source: { cell: raw.source, port: fromCondition ? raw.branch || "true" : "out" },
      target: { cell: raw.target, port: "in" },
      connector: { name: "smooth" },
      attrs: {
        line: {
          stroke: colour,
          strokeWidth: state === "same" ? 2 : 2.5,
          strokeDasharray: state === "removed" ? "6 4" : null,
          targetMarker: { name: "block", width: 8, height: 6 },
        },
      },
      data: { state },
    };
    if (fromCondition) cell.labels = [branchLabel(raw.branch || "true")];
    return cell;
  };
  for (const raw of proposal.definition?.graph?.edges || []) {
    if (!types.has(raw.source) || !types.has(raw.target)) continue;
    cells.push(edgeCell(raw, addedEdges.has(edgeKey(raw)) ? "added" : "same"));
  }
  for (const raw of diff.edges_removed || []) {
    if (!types.has(raw.source) || !types.has(raw.target)) continue;
    cells.push(edgeCell(raw, "removed"));
  }
  graph.fromJSON({ cells });
  if (viewport && graph.getNodes().length) {
    graph.zoomToFit({ padding: { left: 40, right: 40, top: 60, bottom: 60 }, minScale: 0.2, maxScale: 1, useCellGeometry: true });
  }
  return {
    graph,
    destroy() {
      graph.dispose();
      container.replaceChildren();
    },
  };
}
