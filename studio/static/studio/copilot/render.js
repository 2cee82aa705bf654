// What the copilot proposed, as a readable list: who drafted it, the changes (as the
// history diff lists them), each step's explanation, assumptions, what it could not use,
// notes and problems. Plain DOM with textContent: nothing the model says is HTML.

import { format, gettext, ngettext } from "../js/i18n.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Show who drafted `proposal` in the `#copilot-who` badge: "Offline drafter" (never
 *  called AI) or the model's name. */
export function showDrafter(proposal) {
  const badge = document.querySelector("#copilot-who");
  if (!badge) return;
  const offline = proposal.drafter !== "model";
  badge.classList.toggle("cp-who-offline", offline);
  badge.textContent = offline
    ? gettext("Offline drafter")
    : format(gettext("Model: %(model)s"), { model: proposal.model || gettext("configured model") });
}

function section(title, items, className) {
  const wrap = el("section", `cp-section ${className}`);
  wrap.append(el("h3", "cp-section-title", title));
  const list = el("ul", "cp-items");
  for (const item of items) list.append(el("li", "", item));
  wrap.append(list);
  return wrap;
}

function labelOf(proposal, id) {
  const nodes = [...(proposal.definition?.graph?.nodes || []), ...(proposal.before?.graph?.nodes || [])];
  const node = nodes.find((n) => n && n.id === id);
  return node?.label || id;
}

function changeItem(kind, sign, text, explanation) {
  const item = el("li", `df-${kind}`);
  item.append(el("span", "df-sign", sign), document.createTextNode(` ${text}`));
  if (explanation) item.append(el("div", "cp-explain", explanation));
  return item;
}

function edgeText(proposal, edge) {
  const branch = edge.branch ? ` (${edge.branch})` : "";
  return format(gettext("Connection %(source)s → %(target)s%(branch)s"), {
    source: labelOf(proposal, edge.source),
    target: labelOf(proposal, edge.target),
    branch,
  });
}

function shown(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The changes of a proposal as a list (`#copilot-changes`); empty diff → a sentence. */
export function changesList(proposal) {
  const diff = proposal.diff || {};
  const explain = proposal.explanations || {};
  if (diff.empty) return el("p", "muted cp-nochange", gettext("This proposal changes nothing."));
  const list = el("ul", "df-list cp-changes");
  list.id = "copilot-changes";
  for (const n of diff.nodes_added || []) {
    list.append(changeItem("add", "+", format(gettext("Step “%(label)s” added"), { label: n.label }), explain[n.id]));
  }
  for (const n of diff.nodes_changed || []) {
    const keys = (n.keys || []).join(", ");
    list.append(changeItem("mod", "~", format(gettext("Step “%(label)s” changed: %(keys)s"), { label: n.label, keys }), explain[n.id]));
  }
  for (const n of diff.nodes_removed || []) {
    list.append(changeItem("del", "−", format(gettext("Step “%(label)s” removed"), { label: n.label })));
  }
  for (const e of diff.edges_added || []) list.append(changeItem("add", "+", edgeText(proposal, e)));
  for (const e of diff.edges_removed || []) list.append(changeItem("del", "−", edgeText(proposal, e)));
  for (const t of diff.trigger_changes || []) {
    list.append(changeItem("mod", "~", format(gettext("Trigger %(key)s: %(before)s → %(after)s"), { key: t.key, before: shown(t.before), after: shown(t.after) })));
  }
  if (diff.rule_changed) {
    list.append(changeItem("mod", "~", format(gettext("Rule: %(before)s → %(after)s"), { before: shown(diff.rule_before), after: shown(diff.rule_after) })));
  }
  return list;
}

/** Assumptions, what could not be used, notes and problems (each only when present). */
export function proposalNotes(proposal) {
  const parts = [];
  if (!proposal.complete && (proposal.problems || []).length) {
    const lines = proposal.problems.map((p) => (p.node_id ? `${p.node_id}: ${p.message}` : `${p.field}: ${p.message}`));
    parts.push(section(gettext("Only part of this could be used:"), lines, "cp-problems"));
  }
  if ((proposal.not_understood || []).length) {
    parts.push(section(gettext("I could not use:"), proposal.not_understood, "cp-not-understood"));
  }
  if ((proposal.assumptions || []).length) {
    parts.push(section(gettext("Assumptions"), proposal.assumptions, "cp-assumptions"));
  }
  if ((proposal.notes || []).length) {
    parts.push(section(gettext("Before it can run"), proposal.notes, "cp-notes"));
  }
  if (proposal.repairs > 0) {
    // Said, so a slow answer (or its cost) is not a mystery.
    const text = format(
      ngettext(
        "The model's first answer did not pass the publish checks; it was corrected in %(count)s more round.",
        "The model's first answer did not pass the publish checks; it was corrected in %(count)s more rounds.",
        proposal.repairs,
      ),
      { count: proposal.repairs },
    );
    parts.push(el("p", "muted small cp-repairs", text));
  }
  return parts;
}

/** Fill `summary` (`#copilot-summary`) with `proposal`: who drafted it, its changes and
 *  notes. The editor panel and the wizard show a proposal alike. */
export function showProposalSummary(summary, proposal) {
  showDrafter(proposal);
  summary.replaceChildren(changesList(proposal), ...proposalNotes(proposal));
}
