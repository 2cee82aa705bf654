// Pin data in the editor: the node panel's "Pinned data" section (partials/node_pin.html)
// and the pin marker on the canvas cards of pinned nodes.
//
// A pin is a draft edit (studio/views/pins.py): it is sent in turn with the canvas and
// panel autosaves (Autosaver.exclusive) with the revision the canvas is at, so another
// tab's change is a conflict, never an overwrite. The panel is then reloaded, so its
// variables, previews and "Test this step" form use the pinned data at once.

import { csrfToken } from "./autosave.js";
import { format, gettext } from "../js/i18n.js";
import { iconHref } from "../js/icons.js";
import { cssColour } from "../js/theme.js";

const TOOL = "pin";

/** The marker drawn at the top right of a pinned node's card (an X6 tool, so the card's
 *  own markup and the saved graph are untouched). */
function markerTool() {
  return {
    name: "button",
    args: {
      x: "100%",
      y: 0,
      offset: { x: -16, y: 0 },
      markup: [
        {
          tagName: "circle",
          selector: "button",
          attrs: { r: 11, fill: cssColour("--accent-strong", "#4f46e5"), stroke: cssColour("--node-bg", "#fff"), "stroke-width": 2, cursor: "pointer", "data-pin-marker": "true" },
        },
        {
          tagName: "use",
          selector: "icon",
          attrs: {
            href: iconHref("pin"),
            x: -7,
            y: -7,
            width: 14,
            height: 14,
            fill: "none",
            stroke: cssColour("--on-accent", "#fff"),
            "stroke-width": 2.2,
            "stroke-linecap": "round",
            "stroke-linejoin": "round",
            "pointer-events": "none",
          },
        },
        { tagName: "title", textContent: gettext("Pinned data: tests and the preview use it; publishing leaves it out") },
      ],
    },
  };
}

/** The pin markers of the canvas: `show(ids)` marks exactly the nodes `ids`. */
function canvasMarkers(graph, onOpen) {
  let pinned = new Set();
  const paint = (node) => {
    const wanted = pinned.has(node.id);
    const has = node.getTools()?.name === TOOL;
    if (wanted && !has) node.addTools([{ ...markerTool(), args: { ...markerTool().args, onClick: () => onOpen(node.id) } }], TOOL, { ignoreHistory: true });
    else if (!wanted && has) node.removeTools({ ignoreHistory: true });
  };
  const paintAll = () => graph.getNodes().forEach(paint);
  // A reload redraws every cell (fromJSON), a paste or undo adds some: mark them again.
  graph.on("model:reseted", paintAll);
  graph.on("node:added", ({ node }) => paint(node));
  return {
    show(ids) {
      pinned = new Set(Array.isArray(ids) ? ids : []);
      paintAll();
    },
    get ids() {
      return [...pinned];
    },
  };
}

async function postPin(url, body, revision) {
  body.set("revision", String(revision));
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    body,
  });
  const answer = await response.json().catch(() => ({}));
  return { status: response.status, answer };
}

/** What is wrong with the JSON typed to pin ("" when it can be sent). */
export function jsonProblem(text, { trigger }) {
  if (!text.trim()) return gettext("Type the JSON to pin.");
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return format(gettext("Not valid JSON: %(error)s"), { error: error.message });
  }
  if (trigger && (value === null || typeof value !== "object" || Array.isArray(value))) {
    return gettext('A pinned event payload must be a JSON object ({"key": value, …}).');
  }
  return "";
}

/**
 * Wire pinning into the editor. `autosaver` is the canvas's Autosaver, `canvas` the canvas
 * (for the markers), `openNode(id)` opens a node's panel, `pinned` the draft's pinned ids.
 */
export function mountPins({ panelBody, autosaver, canvas, openNode, notify, pinned = [] }) {
  const markers = canvasMarkers(canvas.graph, openNode);
  markers.show(pinned);

  function showError(form, message) {
    const box = form.querySelector("#node-pin-error");
    if (!box) return;
    box.textContent = message;
    box.hidden = !message;
    form.querySelector("[data-pin-json]")?.classList.toggle("pn-invalid", Boolean(message));
  }

  panelBody.addEventListener("input", (event) => {
    const form = event.target.closest?.("[data-pin-form]");
    if (form) showError(form, "");
  });

  panelBody.addEventListener("submit", async (event) => {
    const form = event.target.closest?.("[data-pin-form]");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.sending) return;
    const submitter = event.submitter;
    const body = new URLSearchParams(new FormData(form, submitter));
    const action = body.get("action") || "pin";
    const source = body.get("source") || "json";
    const trigger = panelBody.querySelector("#node-panel .pn-kind")?.classList.contains("pn-kind-trigger");
    if (action === "pin" && source === "json") {
      const problem = jsonProblem(body.get("data") || "", { trigger });
      if (problem) {
        showError(form, problem);
        return;
      }
    }
    if (action !== "pin" || source !== "json") body.delete("data"); // only what is pinned is sent
    const status = form.querySelector("#node-pin-status");
    form.dataset.sending = "on";
    if (status) status.textContent = action === "unpin" ? gettext("Unpinning…") : gettext("Pinning…");
    let outcome;
    try {
      outcome = await autosaver.exclusive(async (revision) => {
        // getAttribute: the form's "action" field would shadow form.action.
        const result = await postPin(form.getAttribute("action"), body, revision);
        // Adopt the new revision before the next canvas save can start.
        if (result.status === 200) autosaver.revision = result.answer.revision;
        return result;
      });
    } catch (_) {
      outcome = { status: 0, answer: { message: gettext("The server could not be reached; nothing was saved.") } };
    }
    delete form.dataset.sending;
    if (status) status.textContent = "";
    const { status: code, answer } = outcome;
    if (code === 200) {
      markers.show(answer.pinned_nodes);
      notify(answer.message || gettext("Saved"));
      const panelUrl = panelBody.querySelector("#node-settings")?.dataset.autosaveUrl;
      if (panelUrl && window.htmx) {
        window.htmx.ajax("GET", panelUrl, { source: "#panel-body", target: "#panel-body", swap: "innerHTML" }).catch(() => {});
      }
      return;
    }
    if (code === 409) autosaver.markStale();
    showError(form, answer.message || format(gettext("Nothing was saved (HTTP %(status)s)."), { status: code }));
  });

  return markers;
}
