// The import dialog (studio/partials/import_dialog.html): send a workflow file (chosen or
// pasted) as the request body to studio.views.transfer, then open the editor; a refusal
// (error shape) is shown in the dialog with every problem, and nothing was written.
// A file whose slug is taken asks for another slug (the server suggests a free one).
// Replacing a draft sends the revision the dialog was opened on, so an import never
// overwrites a change made meanwhile (409 stale_draft).

import { format, gettext } from "./i18n.js";

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch (_) {
    return "";
  }
}

function problemText(problem) {
  const where = [problem.node_id ? format(gettext("step %(id)s"), { id: problem.node_id }) : "",
    problem.field || ""].filter(Boolean).join(" · ");
  return where ? `${where}: ${problem.message}` : problem.message;
}

function showError(box, body) {
  box.replaceChildren();
  const head = document.createElement("p");
  head.className = "imp-message";
  head.textContent = body.message || gettext("The import was refused.");
  box.append(head);
  const details = body.details || {};
  const lines = (details.problems || []).map(problemText);
  for (const [field, message] of Object.entries(details.fields || {})) lines.push(`${field}: ${message}`);
  if (lines.length) {
    const list = document.createElement("ul");
    for (const line of lines) {
      const item = document.createElement("li");
      item.textContent = line;
      list.append(item);
    }
    box.append(list);
  }
  if (body.code) {
    const code = document.createElement("p");
    code.className = "small muted";
    code.textContent = format(gettext("Error code: %(code)s."), { code: body.code });
    box.append(code);
  }
  box.hidden = false;
}

async function answerOf(response) {
  try {
    return await response.json();
  } catch (_) {
    return { message: format(gettext("The server answered %(status)s."), { status: response.status }) };
  }
}

function setUp(dialog) {
  const form = dialog.querySelector("form");
  const box = dialog.querySelector("#import-error");
  const fileInput = dialog.querySelector("#import-file");
  const textArea = dialog.querySelector("#import-text");
  const slugRow = dialog.querySelector("#import-slug-row");
  const slugInput = dialog.querySelector("#import-slug");
  const submit = dialog.querySelector("#import-submit");
  let revision = null;

  for (const opener of document.querySelectorAll(`[data-open-dialog="${dialog.id}"]`)) {
    opener.addEventListener("click", async () => {
      box.hidden = true;
      opener.closest("details")?.removeAttribute("open");
      if (dialog.dataset.draftUrl) {
        // The draft this import replaces: a later change by anyone makes it refuse (409).
        const response = await fetch(dialog.dataset.draftUrl, { headers: { Accept: "application/json" } });
        revision = response.ok ? (await response.json()).revision : null;
      }
      dialog.showModal();
    });
  }
  dialog.querySelector("#import-cancel").addEventListener("click", () => dialog.close());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    box.hidden = true;
    const file = fileInput.files[0];
    const text = file ? await file.text() : textArea.value;
    if (!text.trim()) {
      showError(box, { message: gettext("Choose a file or paste one.") });
      return;
    }
    const url = new URL(dialog.dataset.importUrl, window.location.href);
    if (dialog.dataset.replace && revision !== null) url.searchParams.set("revision", String(revision));
    if (!slugRow.hidden && slugInput.value.trim()) url.searchParams.set("slug", slugInput.value.trim());
    submit.disabled = true;
    try {
      const response = await fetch(url, {
        method: "POST",
        body: text,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
      const answer = await answerOf(response);
      if (response.ok && answer.url) {
        window.location.assign(answer.url);
        return;
      }
      showError(box, answer);
      if (answer.code === "workflow_exists") {
        slugRow.hidden = false;
        slugInput.value = answer.details?.suggestion || "";
        slugInput.focus();
      }
    } catch (_) {
      showError(box, { message: gettext("The server could not be reached; nothing was imported.") });
    } finally {
      submit.disabled = false;
    }
  });
}

for (const dialog of document.querySelectorAll("dialog[data-import-url]")) setUp(dialog);
