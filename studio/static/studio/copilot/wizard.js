// The wizard's "Describe it" box: ask the copilot for a new workflow, show the draft as a
// list of steps, and create the workflow from it (the server checks the definition again).

import { mountPromptBox, recordDecision } from "./client.js";
import { showProposalSummary } from "./render.js";
import { gettext } from "../js/i18n.js";

const $ = (selector) => document.querySelector(selector);
const config = JSON.parse($("#wizard-copilot-data").textContent);

const box = mountPromptBox({ onAsk: ask });
const send = $("#copilot-send");
const result = $("#copilot-result");
const summary = $("#copilot-summary");
const conversation = [];
let proposal = null;

/** A name from the sentence: its first words, at most 60 characters. */
function shortName(sentence) {
  const text = sentence.replace(/\s+/g, " ").trim();
  if (text.length <= 60) return text;
  const cut = text.slice(0, 60);
  return `${cut.slice(0, cut.lastIndexOf(" ") > 20 ? cut.lastIndexOf(" ") : 60).replace(/[,;:.]$/, "")}…`;
}

function show(answer) {
  proposal = answer;
  showProposalSummary(summary, answer);
  $("#copilot-definition").value = JSON.stringify(answer.definition);
  $("#copilot-proposal-id").value = answer.id;
  const usable = !answer.diff?.empty;
  $("#copilot-accept").disabled = !usable;
  if (!$("#copilot-name").dataset.edited) $("#copilot-name").value = shortName(answer.prompt);
  result.hidden = false;
}

async function ask() {
  if (box.busy) return;
  const text = box.read();
  if (!text) return;
  if (proposal) discard(false);
  send.disabled = true;
  const answer = await box.request(config.url, { prompt: text, conversation: [...conversation] });
  send.disabled = false;
  if (!answer) return;
  show(answer);
  conversation.push(text);
}

function discard(announce = true) {
  if (!proposal) return;
  const url = config.decisionUrl.replace("PROPOSAL", proposal.id);
  recordDecision(url, false).catch(() => {});
  proposal = null;
  result.hidden = true;
  summary.replaceChildren();
  if (announce) box.info(gettext("Discarded. Describe it again, or start from an empty canvas."));
}

$("#copilot-reject").addEventListener("click", () => discard());
$("#copilot-name").addEventListener("input", (event) => {
  event.target.dataset.edited = "1";
});
