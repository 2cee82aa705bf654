// The editor's Copilot tab: a prompt, a progress state with Cancel, the proposal as a
// list and as a diff drawn over the canvas, Accept (one undo step) and Reject (nothing
// changes). Follow-ups carry the earlier accepted prompts.

import { askCopilot, recordDecision, startElapsed } from "./client.js";
import { placeNodes, showPreview } from "./preview.js";
import { changesList, proposalNotes, showDrafter } from "./render.js";
import { gettext } from "../js/i18n.js";

const $ = (selector) => document.querySelector(selector);

/**
 * `url`: the copilot endpoint of this workflow; `currentDefinition()`: what the canvas
 * shows now; `canvasPositions()`: `Map(id → {x, y})`; `apply(definition)`: put an
 * accepted definition into the draft (a promise); `setPreviewing(on)`: block editing.
 */
export function mountCopilot({ url, catalogue, currentDefinition, canvasPositions, apply, setPreviewing, notify }) {
  const form = $("#copilot-form");
  const prompt = $("#copilot-prompt");
  const send = $("#copilot-send");
  const progress = $("#copilot-progress");
  const elapsed = $("#copilot-elapsed");
  const errorBox = $("#copilot-error");
  const info = $("#copilot-info");
  const result = $("#copilot-result");
  const earlier = $("#copilot-conversation");
  const layer = $("#copilot-preview");
  const layerCanvas = $("#copilot-preview-canvas");
  const conversation = [];
  let controller = null;
  let pending = null; // {proposal, definition, preview}

  const state = {
    get busy() {
      return controller !== null;
    },
    get previewing() {
      return pending !== null;
    },
    /** `{cell id: "added" | "changed" | "removed" | "same"}` of the proposal shown. */
    previewStates() {
      if (!pending) return {};
      return Object.fromEntries(pending.preview.graph.getNodes().map((n) => [n.id, n.getData()?.state]));
    },
  };

  function say(box, message) {
    box.textContent = message;
    box.hidden = !message;
  }

  function setFormEnabled(enabled) {
    prompt.disabled = !enabled;
    send.disabled = !enabled;
  }

  function showConversation() {
    earlier.replaceChildren();
    earlier.hidden = conversation.length === 0;
    if (!conversation.length) return;
    const title = document.createElement("p");
    title.className = "cp-section-title";
    title.textContent = gettext("Earlier in this conversation");
    const list = document.createElement("ol");
    list.className = "cp-items";
    for (const text of conversation) {
      const item = document.createElement("li");
      item.textContent = text;
      list.append(item);
    }
    earlier.append(title, list);
  }

  function clearProposal() {
    pending?.preview.destroy();
    pending = null;
    layer.hidden = true;
    result.hidden = true;
    result.querySelector("#copilot-summary").replaceChildren();
    setPreviewing(false);
    setFormEnabled(true);
  }

  function showProposal(proposal) {
    const added = new Set((proposal.diff?.nodes_added || []).map((n) => n.id));
    const positions = placeNodes(proposal.definition, canvasPositions(), added);
    const definition = structuredClone(proposal.definition);
    for (const node of definition.graph?.nodes || []) {
      const at = positions.get(node.id);
      if (at) node.position = { x: Math.round(at.x), y: Math.round(at.y) };
    }
    const summary = result.querySelector("#copilot-summary");
    showDrafter(proposal);
    summary.replaceChildren(changesList(proposal), ...proposalNotes(proposal));
    result.hidden = false;
    result.dataset.proposalId = proposal.id;
    result.scrollIntoView({ block: "start" });
    $("#copilot-accept").disabled = Boolean(proposal.diff?.empty);
    layer.hidden = false;
    const preview = showPreview({ container: layerCanvas, proposal, positions, catalogue, viewport: true });
    pending = { proposal, definition, preview };
    setPreviewing(true);
    setFormEnabled(false);
    $("#copilot-accept").focus();
  }

  async function ask() {
    if (controller || pending) return;
    const text = prompt.value.trim();
    say(info, "");
    if (!text) {
      say(errorBox, gettext("Describe what the workflow should do first."));
      prompt.focus();
      return;
    }
    say(errorBox, "");
    controller = new AbortController();
    progress.hidden = false;
    setFormEnabled(false);
    const stop = startElapsed(elapsed);
    try {
      const proposal = await askCopilot(url, { prompt: text, current: currentDefinition(), conversation: [...conversation] }, controller.signal);
      showProposal(proposal);
    } catch (failure) {
      setFormEnabled(true);
      if (failure.cancelled) say(info, failure.message);
      else say(errorBox, failure.message || String(failure));
    } finally {
      stop();
      controller = null;
      progress.hidden = true;
    }
  }

  async function decide(accepted) {
    if (!pending) return;
    const { proposal, definition } = pending;
    const decisionUrl = `${url}${proposal.id}/decision/`;
    if (accepted) {
      pending.preview.destroy();
      layer.hidden = true;
      try {
        await apply(definition);
      } catch (error) {
        say(errorBox, String(error.message || error));
      }
      conversation.push(proposal.prompt);
      showConversation();
      prompt.value = "";
      say(info, gettext("Applied to the draft. Ctrl+Z undoes it in one step."));
    } else {
      say(info, gettext("Rejected. The draft is as it was."));
    }
    clearProposal();
    recordDecision(decisionUrl, accepted).catch((failure) => notify(failure.message, "error"));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask();
  });
  prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      ask();
    }
  });
  $("#copilot-cancel").addEventListener("click", () => controller?.abort());
  $("#copilot-accept").addEventListener("click", () => decide(true));
  $("#copilot-reject").addEventListener("click", () => decide(false));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && controller) controller.abort();
  });
  return state;
}
