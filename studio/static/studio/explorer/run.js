// One run, live: the version's graph drawn read-only with X6 and coloured by step status,
// a timeline of steps, and the step panel (an htmx partial) for the clicked step.
import { ellipsize } from "../js/cardtext.js";
import { gettext } from "../js/i18n.js";
import { CARD_ICON_STYLE, iconHref } from "../js/icons.js";
import { cssColours, onThemeChange } from "../js/theme.js";
import { humanMs, judgeFrame, openLive, showLiveState } from "./live.js";

const config = JSON.parse(document.getElementById("explorer-live").textContent);
const X6 = window.X6;
const STATES = ["pending", "running", "succeeded", "failed", "retrying", "skipped", "cancelled"];
// Colours are custom properties of css/studio.css, light or dark after the system setting:
// read again (and the graph redrawn) when the setting changes.
const COLOURS = {};
const INK = {};
function readColours() {
  const states = cssColours(Object.fromEntries(STATES.map((s) => [s, `--st-${s}`])));
  for (const s of STATES) COLOURS[s] = states[s] || "#9aa3b2";
  Object.assign(INK, cssColours({ node: "--node-bg", border: "--border", text: "--text", muted: "--muted", icon: "--icon-ink",
    edge: "--edge-quiet", canvas: "--subtle", grid: "--border" }));
}
readColours();
/** The parts of a card whose colour does not depend on the step's status. */
const inkAttrs = () => ({ body: { fill: INK.node }, label: { fill: INK.text }, sub: { fill: INK.muted }, icon: { stroke: INK.icon } });
const edgeLabel = (text) => ({ attrs: { label: { text, fontSize: 11, fill: INK.muted }, body: { fill: INK.node, stroke: INK.border, rx: 4, ry: 4 } } });
const NODE_W = 210;
const NODE_H = 58;

let shownSeq = -1;
let live = null;
let selected = null;
let lastFrame = null;
let lastStatusOf = {};
let scheduled = false;

// --- graph ------------------------------------------------------------------------------

X6.Graph.registerNode(
  "run-node",
  {
    inherit: "rect",
    width: NODE_W,
    height: NODE_H,
    markup: [
      { tagName: "rect", selector: "body" },
      { tagName: "rect", selector: "stripe" },
      { tagName: "use", selector: "icon" },
      { tagName: "text", selector: "label" },
      { tagName: "text", selector: "sub" },
      { tagName: "circle", selector: "dot" },
    ],
    attrs: {
      body: { width: NODE_W, height: NODE_H, rx: 10, ry: 10, fill: INK.node, stroke: INK.border, strokeWidth: 1.5, cursor: "pointer" },
      stripe: { width: 5, height: NODE_H - 16, x: 0, y: 8, rx: 2, fill: COLOURS.pending, stroke: "none", pointerEvents: "none" },
      // Absolute offsets (refX/refY above 1 are pixels), overriding the centred label of "rect".
      icon: { x: 16, y: NODE_H / 2 - 10, width: 20, height: 20, ...CARD_ICON_STYLE, stroke: INK.icon, pointerEvents: "none" },
      label: { refX: 46, refY: 22, fontSize: 13, fontWeight: 600, fill: INK.text, textAnchor: "start", textVerticalAnchor: "middle", pointerEvents: "none" },
      sub: { refX: 46, refY: 40, fontSize: 11, fill: INK.muted, textAnchor: "start", textVerticalAnchor: "middle", pointerEvents: "none" },
      dot: { cx: NODE_W - 16, cy: 16, r: 6, fill: COLOURS.pending, pointerEvents: "none" },
    },
  },
  true,
);

// Room for the title and subtitle: from their left edge to the status dot.
const TEXT_WIDTH = NODE_W - 46 - 30;

function truncate(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

function layout(nodes, edges) {
  // Nodes keep the position the editor gave them; dagre places the graph if any lacks one.
  if (nodes.every((n) => n.position && Number.isFinite(n.position.x) && Number.isFinite(n.position.y))) {
    return Object.fromEntries(nodes.map((n) => [n.id, n.position]));
  }
  const g = new window.dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 36, ranksep: 70, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  nodes.forEach((n) => g.setNode(n.id, { width: NODE_W, height: NODE_H }));
  edges.forEach((e) => g.setEdge(e.source, e.target));
  window.dagre.layout(g);
  return Object.fromEntries(nodes.map((n) => {
    const p = g.node(n.id);
    return [n.id, { x: p.x - NODE_W / 2, y: p.y - NODE_H / 2 }];
  }));
}

const container = document.getElementById("run-canvas");
// A fixed size, resized with the window: X6's autoResize grows with a growing page.
const graph = new X6.Graph({
  container,
  width: container.clientWidth,
  height: container.clientHeight,
  interacting: false,
  panning: { enabled: true },
  mousewheel: { enabled: true, modifiers: ["ctrl", "meta"], minScale: 0.3, maxScale: 2 },
  background: { color: INK.canvas },
  grid: { visible: true, size: 16, type: "dot", args: { color: INK.grid } },
});

const positions = layout(config.graph.nodes, config.graph.edges);
config.graph.nodes.forEach((n) => {
  graph.addNode({
    id: n.id,
    shape: "run-node",
    x: positions[n.id].x,
    y: positions[n.id].y,
    attrs: {
      icon: { href: iconHref(n.icon) },
      label: { text: ellipsize(n.label, TEXT_WIDTH, "600 13px"), title: n.label },
      sub: { text: ellipsize(n.subtitle || "", TEXT_WIDTH, "11px"), title: n.subtitle || "" },
      body: { "data-status": "pending", "data-node-id": n.id },
    },
  });
});
config.graph.edges.forEach((e) => {
  if (!graph.getCellById(e.source) || !graph.getCellById(e.target)) return;
  graph.addEdge({
    source: { cell: e.source },
    target: { cell: e.target },
    connector: { name: "smooth" },
    attrs: { line: { stroke: INK.edge, strokeWidth: 1.5, targetMarker: { name: "block", width: 8, height: 6 } } },
    labels: e.branch ? [edgeLabel(e.branch)] : [],
  });
});
// As tall as the drawing needs (within limits), so a wide chain leaves no empty band.
const content = graph.getContentBBox();
const fit = Math.min(1, (container.clientWidth - 60) / Math.max(1, content.width));
const height = Math.round(Math.max(220, Math.min(480, content.height * fit + 80)));
container.style.height = `${height}px`;
graph.resize(container.clientWidth, height);
graph.zoomToFit({ padding: 30, maxScale: 1 });
window.addEventListener("resize", () => {
  graph.resize(container.clientWidth, container.clientHeight);
  graph.zoomToFit({ padding: 30, maxScale: 1 });
});
graph.on("node:click", ({ node }) => select(node.id));
onThemeChange(() => {
  readColours();
  graph.drawBackground({ color: INK.canvas });
  graph.drawGrid({ type: "dot", args: { color: INK.grid } });
  for (const node of graph.getNodes()) node.attr(inkAttrs());
  for (const edge of graph.getEdges()) {
    edge.attr("line/stroke", INK.edge);
    const text = edge.getLabelAt(0)?.attrs?.label?.text;
    if (text) edge.setLabels([edgeLabel(text)]);
  }
  for (const id of Object.keys(painted)) delete painted[id]; // repaint the status colours
  if (lastFrame) render(lastFrame);
});

// --- state ------------------------------------------------------------------------------

function statusOf(step) {
  if (!step) return "pending";
  if (step.queued) return "pending";
  return step.status;
}

const painted = {}; // node id -> what it shows, so unchanged nodes are not redrawn

function paintNode(nodeId, status) {
  const node = graph.getCellById(nodeId);
  const look = `${status}:${nodeId === selected}`;
  if (!node || painted[nodeId] === look) return;
  painted[nodeId] = look;
  const colour = COLOURS[status] || COLOURS.pending;
  node.attr({
    dot: { fill: colour },
    stripe: { fill: colour },
    body: {
      stroke: status === "pending" || status === "skipped" ? INK.border : colour,
      strokeWidth: nodeId === selected ? 3 : 1.5,
      opacity: status === "skipped" ? 0.6 : 1,
      "data-status": status,
    },
  });
}

const timelineRows = new Map(); // node id -> the row's cells, updated in place

function timelineRow(nodeId) {
  let row = timelineRows.get(nodeId);
  if (row) return row;
  const cell = (className = "") => Object.assign(document.createElement("td"), { className });
  const tr = document.createElement("tr");
  tr.dataset.nodeId = nodeId;
  const name = cell();
  name.append(Object.assign(document.createElement("code"), { textContent: nodeId }));
  const status = cell();
  const badge = document.createElement("span");
  const error = Object.assign(document.createElement("div"), { className: "small step-note" });
  status.append(badge, error);
  const attempts = cell();
  const duration = cell();
  const when = cell("bar-col");
  const bar = document.createElement("div");
  when.append(bar);
  tr.append(name, status, attempts, duration, when);
  tr.addEventListener("click", () => select(nodeId));
  row = { tr, badge, error, attempts, duration, bar };
  timelineRows.set(nodeId, row);
  return row;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function renderTimeline(frame) {
  const tbody = document.getElementById("timeline-body");
  if (!timelineRows.size) tbody.replaceChildren(); // drop the server-rendered rows once
  const now = Date.now();
  const starts = frame.steps.filter((s) => s.started_at).map((s) => Date.parse(s.started_at));
  const ends = frame.steps.map((s) => (s.finished_at ? Date.parse(s.finished_at) : now));
  const t0 = starts.length ? Math.min(...starts) : 0;
  const span = Math.max(1, (ends.length ? Math.max(...ends) : 0) - t0);
  // Steps that have not run (yet) are listed after the others, greyed.
  const ran = new Set(frame.steps.map((s) => s.node_id));
  const notRun = config.graph.nodes
    .filter((n) => !ran.has(n.id))
    .map((n) => ({ node_id: n.id, status: "pending", attempts: 0, notRun: true, note: frame.run.not_run_note }));
  [...frame.steps, ...notRun].forEach((step, index) => {
    const status = statusOf(step);
    const row = timelineRow(step.node_id);
    if (tbody.children[index] !== row.tr) tbody.insertBefore(row.tr, tbody.children[index] || null);
    row.tr.dataset.status = status;
    row.tr.classList.toggle("selected", step.node_id === selected);
    row.tr.classList.toggle("not-run", Boolean(step.notRun));
    row.badge.className = `status status-${status}`;
    setText(row.badge, step.notRun ? gettext("not run") : step.queued ? gettext("queued") : status);
    // The sentence says what happened (attempts, last error, who stopped it).
    const note = step.note || step.error || "";
    setText(row.error, truncate(note, 200));
    row.error.hidden = !note;
    row.error.className = `small step-note${status === "failed" ? " error-text" : ""}`;
    setText(row.attempts, String(step.attempts ?? ""));
    setText(row.duration, humanMs(step.duration_ms) || (status === "running" ? "…" : ""));
    row.bar.hidden = !step.started_at;
    if (step.started_at) {
      const start = Date.parse(step.started_at) - t0;
      const end = (step.finished_at ? Date.parse(step.finished_at) : now) - t0;
      row.bar.className = `bar bar-${status}`;
      row.bar.style.left = `${(100 * start) / span}%`;
      row.bar.style.width = `${Math.max(0.8, (100 * (end - start)) / span)}%`;
    }
  });
}

function renderRun(run) {
  const badge = document.getElementById("run-status");
  badge.textContent = run.status;
  badge.className = `status status-${run.status}`;
  document.getElementById("run-duration").textContent = humanMs(run.duration_ms) || "—";
  const error = document.getElementById("run-error");
  error.textContent = run.error || "";
  error.hidden = !run.error;
  const note = document.getElementById("run-note");
  setText(note, run.note || "");
  note.hidden = !run.note;
  document.getElementById("cancel-form").hidden = !["pending", "running"].includes(run.status);
}

function apply(frame) {
  if (frame.type !== "run") return;
  const verdict = judgeFrame(shownSeq, frame.seq, { snapshot: frame.reason === "snapshot" });
  if (verdict === "drop") return; // older than what is shown
  // Frames carry the whole state, so the newest is right to show; a gap means frames were
  // lost on the way, so ask for a snapshot too (the last frame of a burst may be next).
  if (verdict === "resync" && live) live.resync();
  shownSeq = frame.seq;
  document.body.dataset.liveSeq = String(frame.seq);
  lastFrame = frame;
  // Frames can come faster than the page paints: draw the newest once per animation frame.
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      render(lastFrame);
    });
  }
}

function render(frame) {
  const byNode = Object.fromEntries(frame.steps.map((s) => [s.node_id, s]));
  const next = {};
  config.graph.nodes.forEach((n) => {
    next[n.id] = statusOf(byNode[n.id]);
    paintNode(n.id, next[n.id]);
  });
  renderTimeline(frame);
  renderRun(frame.run);
  // The open panel shows the step's details: reload it when the step changed.
  // The run's status is part of the key: it decides which buttons the panel offers.
  const key = (id) => `${next[id]}:${byNode[id] ? byNode[id].attempts : 0}:${frame.run.status}`;
  if (selected && lastStatusOf[selected] !== undefined && lastStatusOf[selected] !== key(selected)) {
    loadPanel(selected);
  }
  lastStatusOf = Object.fromEntries(Object.keys(next).map((id) => [id, key(id)]));
  document.body.dataset.runStatus = frame.run.status;
}

function loadPanel(nodeId) {
  const url = config.panel_url.replace("__node__", encodeURIComponent(nodeId));
  window.htmx.ajax("GET", url, { target: "#step-panel", swap: "innerHTML" });
}

function select(nodeId) {
  const previous = selected;
  selected = nodeId;
  if (previous) paintNode(previous, lastStatusOf[previous] ? lastStatusOf[previous].split(":")[0] : "pending");
  if (lastFrame) render(lastFrame); // repaint the selection
  loadPanel(nodeId);
}

if (config.frame) apply(config.frame);
live = openLive(`/ws/runs/${config.run_id}/`, {
  onState: (state) => showLiveState(document.getElementById("live-indicator"), state),
  onFrame: apply,
});
