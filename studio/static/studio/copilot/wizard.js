// The wizard's "Describe it" box: ask the copilot for a new workflow, show the draft as a
// list of steps, and create the workflow from it (the server checks the definition again).

import { askCopilot, recordDecision, startElapsed } from "./client.js";
import { changesList, proposalNotes, showDrafter } from "./render.js";
import { gettext } from "../js/i18n.js";

const $ = (selector) => document.querySelector(selector);
const config = JSON.parse($("#wizard-copilot-data").textContent);

const prompt = $("#copilot-prompt");
const send = $("#copilot-send");
const progress = $("#copilot-progress");
const errorBox = $("#copilot-error");
const info = $("#copilot-info");
const result = $("#copilot-result");
const summary = $("#copilot-summary");
const conversation = [];
let controller = null;
let proposal = null;

function say(box, message) {
  box.textContent = message;
  box.hidden = !message;
}

/** A name from the sentence: its first words, at most 60 characters. */
function shortName(sentence) {
  const text = sentence.replace(/\s+/g, " ").trim();
  if (text.length <= 60) return text;
  const cut = text.slice(0, 60);
  return `${cut.slice(0, cut.lastIndexOf(" ") > 20 ? cut.lastIndexOf(" ") : 60).replace(/[,;:.]$/, "")}…`;
}

function show(answer) {
  proposal = answer;
  showDrafter(answer);
  summary.replaceChildren(changesList(answer), ...proposalNotes(answer));
  $("#copilot-definition").value = JSON.stringify(answer.definition);
  $("#copilot-proposal-id").value = answer.id;
  const usable = !answer.diff?.empty;
  $("#copilot-accept").disabled = !usable;
  if (!$("#copilot-name").dataset.edited) $("#copilot-name").value = shortName(answer.prompt);
  result.hidden = false;
}

async function ask() {
  if (controller) return;
  const text = prompt.value.trim();
  say(info, "");
  if (!text) {
    say(errorBox, gettext("Describe what the workflow should do first."));
    return;
  }
  say(errorBox, "");
  if (proposal) discard(false);
  controller = new AbortController();
  progress.hidden = false;
  send.disabled = true;
  const stop = startElapsed($("#copilot-elapsed"));
  try {
    show(await askCopilot(config.url, { prompt: text, conversation: [...conversation] }, controller.signal));
    conversation.push(text);
  } catch (failure) {
    if (failure.cancelled) say(info, failure.message);
    else say(errorBox, failure.message || String(failure));
  } finally {
    stop();
    controller = null;
    progress.hidden = true;
    send.disabled = false;
  }
}

function discard(announce = true) {
  if (!proposal) return;
  const url = config.decisionUrl.replace("PROPOSAL", proposal.id);
  recordDecision(url, false).catch(() => {});
  proposal = null;
  result.hidden = true;
  summary.replaceChildren();
  if (announce) say(info, gettext("Discarded. Describe it again, or start from an empty canvas."));
}

$("#copilot-form").addEventListener("submit", (event) => {
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
$("#copilot-reject").addEventListener("click", () => discard());
$("#copilot-name").addEventListener("input", (event) => {
  event.target.dataset.edited = "1";
});
