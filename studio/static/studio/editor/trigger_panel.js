// Trigger panels: copy buttons (URL, secret, test command), and the webhook endpoint
// section refreshed after the panel form saves (a new slug or scheme changes it).

import { gettext } from "../js/i18n.js";
import { copyText } from "../js/clipboard.js";

function notify(message, kind) {
  if (window.automateToast) window.automateToast(message, kind);
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const copied = await copyText(source.textContent.trim());
  button.dataset.copied = copied ? "yes" : "no";
  notify(copied ? gettext("Copied.") : gettext("Could not copy: select the text and copy it."), copied ? "info" : "error");
});

// The panel's save state goes saving → saved after each save (panel_autosave.js).
let lastState = "";
new MutationObserver(() => {
  const status = document.getElementById("panel-save-state");
  const state = status?.dataset.state || "";
  if (state === "saved" && lastState === "saving") {
    const section = document.getElementById("webhook-endpoint");
    if (section && window.htmx) window.htmx.trigger(section, "automate:trigger-saved");
  }
  lastState = state;
}).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
