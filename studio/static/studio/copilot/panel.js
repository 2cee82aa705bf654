// The editor's Copilot tab: a prompt, a progress state with Cancel, the proposal as a
// list and as a diff drawn over the canvas, Accept (one undo step) and Reject (nothing
// changes). Follow-ups carry the earlier accepted prompts.

import { mountPromptBox, recordDecision } from "./client.js";
import { placeNodes, showPreview } from "./preview.js";
import { showProposalSummary } from "./render.js";
import { format, gettext } from "../js/i18n.js";

const $ = (selector) => document.querySelector(selector);

/**
 * `url`: the copilot endpoint of this workflow; `currentDefinition()`: what the canvas
 * shows now; `canvasPositions()`: `Map(id → {x, y})`; `apply(definition)`: put an
 * accepted definition into the draft (a promise); `setPreviewing(on)`: block editing.
 */
export function mountCopilot({ url, catalogue, currentDefinition, canvasPositions, apply, setPreviewing, notify }) {
  const box = mountPromptBox({ onAsk: ask, focusWhenEmpty: true });
  const prompt = box.prompt;
  const send = $("#copilot-send");
  const result = $("#copilot-result");
  const earlier = $("#copilot-conversation");
  const layer = $("#copilot-preview");
  const layerCanvas = $("#copilot-preview-canvas");
  const conversation = [];
  let pending = null; // {proposal, definition, preview}

  const state = {
    get busy() {
      return box.busy;
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
    showProposalSummary(result.querySelector("#copilot-summary"), proposal);
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
    if (box.busy || pending) return;
    const text = box.read();
    if (!text) return;
    setFormEnabled(false);
    const body = { prompt: text, current: currentDefinition(), conversation: [...conversation] };
    const proposal = await box.request(url, body, () => setFormEnabled(true));
    if (!proposal) return;
    try {
      showProposal(proposal);
    } catch (error) {
      // A proposal the canvas cannot draw leaves the draft as it was, and says so.
      console.error(error);
      pending = null;
      layer.hidden = true;
      result.hidden = true;
      setPreviewing(false);
      setFormEnabled(true);
      box.error(format(gettext("The proposal could not be shown: %(error)s"), { error: error.message || String(error) }));
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
        box.error(String(error.message || error));
      }
      conversation.push(proposal.prompt);
      showConversation();
      prompt.value = "";
      box.info(gettext("Applied to the draft. Ctrl+Z undoes it in one step."));
    } else {
      box.info(gettext("Rejected. The draft is as it was."));
    }
    clearProposal();
    recordDecision(decisionUrl, accepted).catch((failure) => notify(failure.message, "error"));
  }

  $("#copilot-accept").addEventListener("click", () => decide(true));
  $("#copilot-reject").addEventListener("click", () => decide(false));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && box.busy) box.abort();
  });
  return state;
}
