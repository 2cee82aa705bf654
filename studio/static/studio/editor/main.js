// The workflow editor page: wires the canvas, palette, autosave, shortcuts and the
// server-rendered side panel together (docs/discussions/0002-studio-editor-contract.md).

import { Autosaver } from "./autosave.js";
import { createCanvas } from "./graph.js";
import { tidyUp } from "./layout.js";
import { mountPanelAutosave } from "./panel_autosave.js";
import { mountPins } from "./pins.js";
import "./trigger_panel.js";
import { buildCatalogue, mountPalette } from "./palette.js";
import { mountRuleAutosave } from "./rule_autosave.js";
import { installShortcuts } from "./shortcuts.js";
import { DEFAULT_NOTE_TEXT, MAX_NOTES, NOTE_SIZE } from "./notes.js";
import { mountCopilot } from "../copilot/panel.js";
import { format, gettext, ngettext } from "../js/i18n.js";

const $ = (selector) => document.querySelector(selector);
const config = JSON.parse($("#editor-data").textContent);
const notify = (message, kind = "info") => (window.automateToast ? window.automateToast(message, kind) : console.warn(message));

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

/** A problem as its node's badge lists it: the input it is about, then the message
 *  (studio/views/versions.py `node_line` words the publish response's the same way). */
function nodeLine(problem) {
  const field = problem.field || "";
  const message = String(problem.message);
  return /^(inputs|condition)/.test(field) && !message.includes(field) ? `${field}: ${message}` : message;
}

/** `problems` (or warnings) from the server → `{node_id: [line, …]}` plus the graph-wide ones. */
function groupProblems(problems) {
  const byNode = {};
  const general = [];
  for (const problem of problems || []) {
    if (problem.node_id) (byNode[problem.node_id] ||= []).push(nodeLine(problem));
    else general.push(`${problem.field}: ${problem.message}`);
  }
  return { byNode, general };
}

/** The top bar's count: problems (publishing refuses them) and warnings (it does not). */
function showProblemCount(byNode, general = [], warningsByNode = {}) {
  const badge = $("#problem-count");
  const lines = [...general];
  for (const [node, messages] of Object.entries(byNode)) for (const m of messages) lines.push(`${node}: ${m}`);
  const warnings = [];
  for (const [node, messages] of Object.entries(warningsByNode)) for (const m of messages) warnings.push(`${node}: ${m}`);
  const parts = [];
  if (lines.length) parts.push(format(ngettext("%(count)s problem", "%(count)s problems", lines.length), { count: lines.length }));
  if (warnings.length) parts.push(format(ngettext("%(count)s warning", "%(count)s warnings", warnings.length), { count: warnings.length }));
  badge.hidden = parts.length === 0;
  badge.classList.toggle("ed-problems-warn", lines.length === 0 && warnings.length > 0);
  badge.textContent = parts.join(" · ");
  badge.dataset.problems = String(lines.length);
  badge.dataset.warnings = String(warnings.length);
  badge.title = [...lines, ...warnings.map((w) => format(gettext("Warning: %(message)s"), { message: w }))].join("\n");
}

function setStatus({ published, version }) {
  const badge = $("#wf-status");
  badge.className = `badge ${published ? "badge-published" : "badge-draft"}`;
  badge.textContent = published ? format(gettext("published v%(version)s"), { version }) : gettext("draft");
}

function selectTab(name) {
  for (const tab of document.querySelectorAll(".ed-tab")) {
    const active = tab.dataset.panel === name;
    tab.classList.toggle("active", active);
    tab.setAttribute("aria-selected", String(active));
  }
  // The copilot keeps its conversation in a panel of its own; the others share #panel-body.
  $("#copilot-panel").hidden = name !== "copilot";
  $("#panel-body").hidden = name === "copilot";
}

function panelUrl(nodeId) {
  return `${config.baseUrl}nodes/${encodeURIComponent(nodeId)}/panel/`;
}

async function start() {
  const [palette, draft] = await Promise.all([getJson(config.paletteUrl), getJson(config.draftUrl)]);
  const catalogue = buildCatalogue(palette);
  let openNodeId = null;

  let autosaver = null; // created once the canvas exists
  const undoButton = $("#btn-undo");
  const redoButton = $("#btn-redo");
  const canvas = createCanvas({
    container: $("#canvas"),
    minimap: $("#minimap"),
    catalogue,
    noteRenderUrl: config.noteRenderUrl,
    onChange: () => {
      updateEmptyState();
      autosaver?.schedule();
    },
    onNodeOpen: (id) => openNode(id),
    onHistory: (canUndo, canRedo) => {
      undoButton.disabled = !canUndo;
      redoButton.disabled = !canRedo;
    },
  });
  const graph = canvas.graph;

  function updateEmptyState() {
    $("#canvas-empty").hidden = canvas.stepNodes().length > 0;
  }

  let pins = null; // the pin markers (pins.js), mounted with the side panel
  let generalProblems = [];
  let warningsByNode = {};
  function applyProblems(problems, warnings = []) {
    const { byNode, general } = groupProblems(problems);
    generalProblems = general;
    warningsByNode = groupProblems(warnings).byNode;
    canvas.setProblems(byNode, warningsByNode);
    showProblemCount(byNode, general, warningsByNode);
  }

  // The trigger and rule are not on the canvas; the copilot may change them, and then they
  // are saved with the graph (specsVersion counts changes not yet saved).
  let specs = { trigger_spec: draft.trigger_spec || {}, rule_spec: draft.rule_spec || {} };
  let specsVersion = 0;
  let specsSaved = 0;
  let specsSent = 0;
  function setSpecs(next) {
    specs = { trigger_spec: next.trigger_spec || {}, rule_spec: next.rule_spec || {} };
    specsVersion += 1;
  }

  const nameInput = $("#wf-name");
  autosaver = new Autosaver({
    url: config.draftUrl,
    revision: draft.revision,
    indicator: $("#save-state"),
    collect: () => {
      const body = { graph: canvas.toDraftGraph() };
      const name = nameInput.value.trim();
      if (name) body.name = name;
      if (specsVersion !== specsSaved) {
        body.trigger_spec = specs.trigger_spec;
        body.rule_spec = specs.rule_spec;
      }
      specsSent = specsVersion;
      return body;
    },
    onSaved: ({ problems, warnings }) => {
      specsSaved = specsSent;
      applyProblems(problems, warnings);
    },
    onStale: () => {
      $("#save-state").hidden = true;
      $("#stale-banner").hidden = false;
    },
  });

  // X6 renders in animation frames; the canvas is interactive once the first full render
  // of the draft is done (what bench/editor_200_nodes.py measures).
  const rendered = new Promise((resolve) => graph.once("render:done", resolve));
  const { byNode } = groupProblems(draft.problems);
  canvas.load(draft.graph, byNode, draft.notes_html);
  applyProblems(draft.problems, draft.warnings);
  updateEmptyState();
  if (graph.getNodes().length) graph.zoomToFit({ padding: 80, minScale: 0.1, maxScale: 1, useCellGeometry: true });
  $("#canvas-loading").hidden = true;

  mountPalette({ list: $("#palette-list"), search: $("#palette-search"), palette, canvas, notify });

  // --- reloading from the server --------------------------------------------------------
  async function reloadDraft({ keepLocal = false } = {}) {
    const fresh = await getJson(config.draftUrl);
    const problems = groupProblems(fresh.problems).byNode;
    if (keepLocal) {
      // Keep what this canvas changed (positions, edges) but take each node's settings
      // from the server, then save the merge on top of the new revision.
      const local = canvas.toDraftGraph();
      const serverNodes = new Map((fresh.graph?.nodes || []).map((n) => [n.id, n]));
      local.nodes = local.nodes.map((n) => (serverNodes.has(n.id) ? { ...serverNodes.get(n.id), position: n.position } : n));
      canvas.refresh(local, problems, fresh.notes_html);
      autosaver.revision = fresh.revision;
      autosaver.schedule();
    } else {
      canvas.refresh(fresh.graph, problems, fresh.notes_html);
      autosaver.reset(fresh.revision);
    }
    if (fresh.name && document.activeElement !== nameInput) nameInput.value = fresh.name;
    if (specsVersion === specsSaved) specs = { trigger_spec: fresh.trigger_spec || {}, rule_spec: fresh.rule_spec || {} };
    applyProblems(fresh.problems, fresh.warnings);
    pins?.show(fresh.pinned);
    updateEmptyState();
  }

  $("#reload-draft").addEventListener("click", async () => {
    const fresh = await getJson(config.draftUrl);
    canvas.load(fresh.graph, groupProblems(fresh.problems).byNode, fresh.notes_html);
    nameInput.value = fresh.name;
    specs = { trigger_spec: fresh.trigger_spec || {}, rule_spec: fresh.rule_spec || {} };
    specsSaved = specsVersion;
    applyProblems(fresh.problems, fresh.warnings);
    pins?.show(fresh.pinned);
    autosaver.reset(fresh.revision);
    $("#stale-banner").hidden = true;
    $("#save-state").hidden = false;
    updateEmptyState();
  });

  document.addEventListener("automate:draft-changed", (event) => {
    const revision = event.detail?.revision;
    if (typeof revision === "number" && revision === autosaver.revision) return;
    reloadDraft({ keepLocal: autosaver.pending }).catch((error) => notify(String(error), "error"));
  });
  document.addEventListener("automate:problems", (event) => {
    const byNodeProblems = {};
    for (const [node, messages] of Object.entries(event.detail || {})) {
      if (Array.isArray(messages)) byNodeProblems[node] = messages.map(String);
    }
    canvas.setProblems(byNodeProblems, warningsByNode);
    showProblemCount(byNodeProblems, generalProblems, warningsByNode);
  });
  document.addEventListener("automate:published", (event) => {
    setStatus({ published: true, version: event.detail?.version });
  });

  // --- the side panel -------------------------------------------------------------------
  const side = $(".ed-side");
  const panelBody = $("#panel-body");
  const panelSaves = mountPanelAutosave({ panelBody, autosaver, reloadDraft, notify });
  const ruleSaves = mountRuleAutosave({ panelBody, autosaver, reloadDraft, notify, onHeld: () => selectTab("rules") });
  pins = mountPins({ panelBody, autosaver, canvas, openNode: (id) => openNode(id), notify, pinned: draft.pinned });
  async function openNode(id) {
    openNodeId = id;
    selectTab("node");
    if (!window.htmx) return;
    // The panel reads the node from the saved draft: save a just-added node first.
    if (autosaver.pending || autosaver.inFlight) await autosaver.flush();
    if (openNodeId !== id) return;
    window.htmx.ajax("GET", panelUrl(id), { source: "#panel-body", target: "#panel-body", swap: "innerHTML show:#panel-body:top" }).catch(() => {});
  }
  side.addEventListener("htmx:responseError", (event) => {
    if (event.detail?.xhr?.status !== 404) return;
    event.stopPropagation(); // not an error worth a toast: that panel is not there yet
    const message = document.createElement("p");
    message.className = "muted ed-panel-missing";
    message.textContent = gettext("There is no panel to show for this yet. Your changes on the canvas are still saved.");
    panelBody.replaceChildren(message);
  });
  side.addEventListener("htmx:sendError", (event) => {
    event.stopPropagation();
    panelBody.innerHTML = '<p class="muted">Could not reach the server. Try again in a moment.</p>';
  });
  for (const tab of document.querySelectorAll(".ed-tab")) {
    tab.addEventListener("click", () => {
      selectTab(tab.dataset.panel);
      if (tab.dataset.panel === "copilot") $("#copilot-prompt").focus();
      if (tab.dataset.panel !== "node") return;
      const selected = canvas.selection.getSelectedCells().find((cell) => cell.isNode());
      const id = selected?.id || (openNodeId && graph.getCellById(openNodeId) ? openNodeId : null);
      if (id) openNode(id);
      else ruleSaves.whenSaved(() => (panelBody.innerHTML = '<p class="muted">Select a node on the canvas to edit its settings.</p>'));
    });
  }
  graph.on("blank:click", () => {
    openNodeId = null;
  });

  // A publish result can be dismissed, so it does not keep space from the canvas.
  const publishResult = $("#publish-result");
  publishResult.addEventListener("htmx:afterSwap", () => {
    if (!publishResult.childElementCount) return;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "ed-dismiss";
    close.setAttribute("aria-label", gettext("Dismiss"));
    close.textContent = "×";
    close.addEventListener("click", () => publishResult.replaceChildren());
    publishResult.prepend(close);
  });

  // A problem's node link shows that node on the canvas and opens its panel.
  publishResult.addEventListener("click", (event) => {
    const link = event.target.closest?.("[data-node-id]");
    if (!link) return;
    event.preventDefault();
    const cell = graph.getCellById(link.dataset.nodeId);
    if (!cell) return;
    graph.centerCell(cell);
    canvas.selection.reset([cell]);
    openNode(cell.id);
  });
  // A refused publish answers 400 with the problems, shown in place: not a failed request.
  $("#btn-publish").addEventListener("htmx:responseError", (event) => {
    if (event.detail?.xhr?.status === 400) event.stopPropagation();
  });

  // --- name -----------------------------------------------------------------------------
  nameInput.addEventListener("input", () => autosaver.schedule());
  nameInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") nameInput.blur();
    if (event.key === "Escape") nameInput.blur();
  });
  nameInput.addEventListener("change", () => {
    document.title = `${nameInput.value.trim() || gettext("Untitled")} · Django Automate`;
  });

  // --- commands ---------------------------------------------------------------------------
  let clipboard = null;
  // Copies land down and to the right of what was copied, clear of every node already
  // there: each paste of the same nodes cascades one step further.
  const PASTE_STEP = 30;
  function pasteOffset(items) {
    const taken = graph.getNodes().map((n) => n.position());
    const first = items[0].position;
    for (let step = 1; ; step += 1) {
      const x = first.x + PASTE_STEP * step;
      const y = first.y + PASTE_STEP * step;
      if (!taken.some((p) => Math.abs(p.x - x) < PASTE_STEP / 2 && Math.abs(p.y - y) < PASTE_STEP / 2)) return PASTE_STEP * step;
    }
  }
  /** Where a new note goes: in what the user sees, clear of the steps and notes there
   *  (tried outwards from the middle); when nothing in view is clear, under everything
   *  (`outside: true`: the caller brings it into view). */
  function freeSpotForNote() {
    const area = graph.getGraphArea();
    const centre = { x: area.x + area.width / 2 - NOTE_SIZE.width / 2, y: area.y + area.height / 2 - NOTE_SIZE.height / 2 };
    const boxes = graph.getNodes().map((n) => n.getBBox().inflate(16));
    const step = 40;
    for (let ring = 0; ring <= 8; ring += 1) {
      for (let dx = -ring; dx <= ring; dx += 1) {
        for (let dy = -ring; dy <= ring; dy += 1) {
          if (Math.max(Math.abs(dx), Math.abs(dy)) !== ring) continue;
          const spot = new window.X6.Rectangle(centre.x + dx * step * 2, centre.y + dy * step, NOTE_SIZE.width, NOTE_SIZE.height);
          if (area.containsRect(spot) && !boxes.some((box) => box.isIntersectWithRect(spot))) return { x: Math.round(spot.x), y: Math.round(spot.y) };
        }
      }
    }
    if (!boxes.length) return { x: Math.round(centre.x), y: Math.round(centre.y) };
    const all = graph.getCellsBBox(graph.getNodes());
    return { x: Math.round(all.x), y: Math.round(all.y + all.height + 40), outside: true };
  }
  const help = $("#shortcuts");
  const actions = {
    undo: () => canvas.history.canUndo() && canvas.history.undo(),
    redo: () => canvas.history.canRedo() && canvas.history.redo(),
    zoomIn: () => graph.zoom(0.15, { minScale: 0.1, maxScale: 2.5 }),
    zoomOut: () => graph.zoom(-0.15, { minScale: 0.1, maxScale: 2.5 }),
    fit: () => graph.getNodes().length && graph.zoomToFit({ padding: 60, minScale: 0.1, maxScale: 1.2, useCellGeometry: true }),
    tidy: () => {
      tidyUp(graph);
      actions.fit();
    },
    selectAll: () => canvas.selection.reset(graph.getNodes()),
    addNote: () => {
      if (graph.getNodes().filter(canvas.isNote).length >= MAX_NOTES) {
        notify(format(gettext("A workflow holds at most %(count)s sticky notes."), { count: MAX_NOTES }), "error");
        return;
      }
      const { x, y, outside } = freeSpotForNote();
      const cell = canvas.addNote({ text: DEFAULT_NOTE_TEXT, position: { x, y }, size: NOTE_SIZE, color: "yellow" });
      if (outside) graph.centerCell(cell);
      canvas.selection.reset([cell]);
    },
    remove: () => {
      const cells = canvas.selection.getSelectedCells();
      if (!cells.length) return;
      graph.removeCells(cells);
      if (openNodeId && !graph.getCellById(openNodeId)) {
        openNodeId = null;
        ruleSaves.whenSaved(() => (panelBody.innerHTML = '<p class="muted">Select a node on the canvas to edit its settings.</p>'));
      }
    },
    copy: () => {
      const nodes = canvas.selection.getSelectedCells().filter((c) => c.isNode());
      if (!nodes.length) return;
      const ids = new Set(nodes.map((n) => n.id));
      const all = canvas.toDraftGraph();
      clipboard = {
        nodes: all.nodes.filter((n) => ids.has(n.id) && n.type !== "trigger"),
        edges: all.edges.filter((e) => ids.has(e.source) && ids.has(e.target)),
        notes: (all.notes || []).filter((n) => ids.has(n.id)),
      };
      const stepCount = clipboard.nodes.length;
      const noteCount = clipboard.notes.length;
      const parts = [];
      if (stepCount || !noteCount) parts.push(format(ngettext("Copied %(count)s node.", "Copied %(count)s nodes.", stepCount), { count: stepCount }));
      if (noteCount) parts.push(format(ngettext("Copied %(count)s sticky note.", "Copied %(count)s sticky notes.", noteCount), { count: noteCount }));
      notify(parts.join(" "));
    },
    paste: () => {
      if (!clipboard || !(clipboard.nodes.length || clipboard.notes.length)) return;
      const offset = pasteOffset(clipboard.nodes.length ? clipboard.nodes : clipboard.notes);
      const newIds = new Map();
      const added = [];
      const room = MAX_NOTES - graph.getNodes().filter(canvas.isNote).length;
      if (clipboard.notes.length > room) notify(format(gettext("A workflow holds at most %(count)s sticky notes."), { count: MAX_NOTES }), "error");
      graph.startBatch("paste");
      for (const raw of clipboard.notes.slice(0, Math.max(0, room))) {
        added.push(canvas.addNote({ ...structuredClone(raw), id: undefined, position: { x: raw.position.x + offset, y: raw.position.y + offset } }));
      }
      for (const raw of clipboard.nodes) {
        const id = canvas.uniqueId(raw.id.replace(/_\d+$/, ""));
        newIds.set(raw.id, id);
        const copy = structuredClone(raw);
        copy.id = id;
        copy.position = { x: raw.position.x + offset, y: raw.position.y + offset };
        added.push(canvas.addNode(copy));
      }
      for (const raw of clipboard.edges) {
        const source = graph.getCellById(newIds.get(raw.source));
        const sourceType = source?.getData()?.raw?.type;
        const edge = graph.addEdge({
          shape: "automate-edge",
          source: { cell: newIds.get(raw.source), port: sourceType === "condition" ? raw.branch || "true" : "out" },
          target: { cell: newIds.get(raw.target), port: "in" },
          data: { raw: Object.fromEntries(Object.entries(raw).filter(([k]) => !["source", "target", "branch"].includes(k))) },
        });
        if (sourceType === "condition") graph.trigger("edge:connected", { edge });
      }
      graph.stopBatch("paste");
      canvas.selection.reset(added);
    },
    toggleHelp: () => {
      help.hidden = !help.hidden;
    },
    escape: () => {
      if (!help.hidden) help.hidden = true;
      else canvas.selection.clean();
    },
  };
  // --- the copilot ------------------------------------------------------------------------
  // An accepted proposal is one history batch; its trigger/rule change is remembered by
  // the batch's command, so undo and redo restore them with the graph.
  const copilotSteps = new WeakMap();
  canvas.history.on("undo", ({ cmds }) => {
    const step = copilotSteps.get(cmds);
    if (step) setSpecs(step.before);
  });
  canvas.history.on("redo", ({ cmds }) => {
    const step = copilotSteps.get(cmds);
    if (step) setSpecs(step.after);
  });
  async function applyProposal(definition) {
    const before = structuredClone(specs);
    const after = { trigger_spec: definition.trigger_spec || {}, rule_spec: definition.rule_spec || {} };
    graph.startBatch("copilot");
    canvas.applyGraph(definition.graph);
    // A change the history records even when only the trigger or rule changed, so the
    // step can be undone (the mark is not part of the saved node).
    const anchor = canvas.stepNodes()[0] || graph.getNodes()[0];
    if (anchor) anchor.setData({ ...anchor.getData(), copilotStep: (anchor.getData()?.copilotStep || 0) + 1 }, { overwrite: true });
    graph.stopBatch("copilot");
    const command = canvas.history.undoStack[canvas.history.undoStack.length - 1];
    if (command) copilotSteps.set(command, { before, after });
    if (JSON.stringify(before) !== JSON.stringify(after)) setSpecs(after);
    updateEmptyState();
    autosaver.schedule();
    await autosaver.flush();
    if (graph.getNodes().length) graph.zoomToFit({ padding: 60, minScale: 0.1, maxScale: 1.2, useCellGeometry: true });
  }
  const copilot = mountCopilot({
    url: config.copilotUrl,
    catalogue,
    currentDefinition: () => ({ ...structuredClone(specs), graph: canvas.toDraftGraph() }),
    canvasPositions: () => new Map(canvas.stepNodes().map((n) => [n.id, n.position()])),
    apply: applyProposal,
    setPreviewing: (on) => {
      document.body.classList.toggle("cp-previewing", on);
      $("#btn-publish").toggleAttribute("data-copilot-blocked", on);
    },
    notify,
  });
  // While a proposal is shown, the draft cannot be edited (the proposal was made from it).
  for (const [name, action] of Object.entries(actions)) {
    if (["toggleHelp", "escape"].includes(name)) continue;
    actions[name] = (...args) => (copilot.previewing ? undefined : action(...args));
  }

  installShortcuts(actions);
  // Toolbar buttons give focus back, so Space (pan) and shortcuts do not re-press them.
  const button = (selector, action) =>
    $(selector).addEventListener("click", (event) => {
      action();
      event.currentTarget.blur();
    });
  button("#btn-undo", actions.undo);
  button("#btn-redo", actions.redo);
  button("#btn-zoom-in", actions.zoomIn);
  button("#btn-zoom-out", actions.zoomOut);
  button("#btn-fit", actions.fit);
  button("#btn-tidy", actions.tidy);
  button("#btn-note", actions.addNote);
  $("#btn-shortcuts").addEventListener("click", (event) => {
    event.stopPropagation();
    actions.toggleHelp();
  });
  document.addEventListener("click", (event) => {
    if (!help.hidden && !help.contains(event.target)) help.hidden = true;
  });
  // Publishing saves first, so what is published is what is on the screen.
  document.body.addEventListener("htmx:confirm", (event) => {
    if (event.target?.id === "btn-publish" && copilot.previewing) {
      event.preventDefault();
      notify(gettext("Accept or reject the copilot's proposal first."), "error");
      return;
    }
    if (event.target?.id !== "btn-publish" || !autosaver.pending) return;
    event.preventDefault();
    autosaver.flush().then(() => event.detail.issueRequest());
  });

  window.__editor = { canvas, graph, selection: canvas.selection, autosaver, panelSaves, ruleSaves, pins, actions, copilot, specs: () => specs };
  if (graph.getCellCount()) await Promise.race([rendered, new Promise((r) => setTimeout(r, 10000))]);
  requestAnimationFrame(() => {
    window.__editorReady = performance.now();
    document.body.dataset.editorReady = "true";
  });
}

start().catch((error) => {
  console.error(error);
  const loading = $("#canvas-loading");
  loading.hidden = false;
  loading.innerHTML = "";
  const message = document.createElement("p");
  message.className = "alert alert-error";
  message.textContent = format(gettext("The editor could not start: %(error)s"), { error: error.message });
  loading.appendChild(message);
});
