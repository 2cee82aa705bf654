// Talking to the copilot endpoints (studio/views/copilot.py), and saying what went wrong
// in plain words. Shared by the editor panel and the wizard.

import { csrfToken } from "../editor/autosave.js";
import { format, gettext, ngettext } from "../js/i18n.js";

/** A refusal or failure the user is shown; `message` is already in plain words. */
export class CopilotFailure extends Error {
  constructor(message, { status = 0, code = "", cancelled = false } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.cancelled = cancelled;
  }
}

function retryText(seconds) {
  return format(ngettext("Try again in %(seconds)s second.", "Try again in %(seconds)s seconds.", seconds), { seconds });
}

/** The sentence for an error answer (`body` in the error shape, when it is JSON). */
export function explainFailure(status, body, retryAfter) {
  const code = body?.code || "";
  const said = typeof body?.message === "string" ? body.message : "";
  const seconds = Number(retryAfter || body?.details?.retry_after || 0);
  if (code === "budget_exceeded") {
    return format(gettext("Today's budget for the copilot is spent (%(message)s). It starts again tomorrow, or an administrator can raise it."), { message: said });
  }
  if (status === 429) {
    const wait = seconds > 0 ? ` ${retryText(Math.ceil(seconds))}` : "";
    return `${gettext("You asked the copilot too often.")}${wait}`;
  }
  if (status === 502 || status === 503 || status === 504 || code === "copilot_unavailable") {
    return format(gettext("The model could not be reached: %(message)s Nothing was changed; try again in a moment."), { message: said || gettext("no answer.") });
  }
  if (code === "copilot_refused" || status === 422) {
    return format(gettext("The model declined this request: %(message)s"), { message: said });
  }
  if (status === 403) return said || gettext("You may not change this workflow.");
  if (status === 404) return gettext("This workflow is not there any more (or not yours). Reload the page.");
  if (status === 413) return gettext("That is too much text for one request. Shorten the description.");
  if (status === 400) {
    const fields = body?.details?.fields;
    const detail = fields && typeof fields === "object" ? Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join("; ") : "";
    return detail ? `${said} (${detail})` : said || gettext("The request was refused.");
  }
  return format(gettext("The server answered %(status)s. Nothing was changed."), { status });
}

async function postJson(url, body, signal) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      signal,
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
  } catch (error) {
    if (error?.name === "AbortError") throw new CopilotFailure(gettext("Cancelled. Nothing was changed."), { cancelled: true });
    throw new CopilotFailure(gettext("Could not reach the server. Check the connection and try again."));
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch (error) {
    if (error?.name === "AbortError") throw new CopilotFailure(gettext("Cancelled. Nothing was changed."), { cancelled: true });
    answer = null;
  }
  if (!response.ok) {
    throw new CopilotFailure(explainFailure(response.status, answer, response.headers.get("Retry-After")), {
      status: response.status,
      code: answer?.code || "",
    });
  }
  return answer;
}

/** Ask for a proposal: `{prompt, current?, conversation}` → the proposal (with `diff`). */
export function askCopilot(url, body, signal) {
  return postJson(url, body, signal);
}

/** Record the user's decision on a proposal (best effort: the draft is already saved). */
export function recordDecision(url, accepted) {
  return postJson(url, { accepted }, undefined);
}

/** Keeps "Drafting… 3 s" up to date while a request runs; returns a stop function. */
export function startElapsed(element) {
  const started = performance.now();
  const tick = () => {
    const seconds = Math.floor((performance.now() - started) / 1000);
    element.textContent = format(gettext("Drafting… %(seconds)s s"), { seconds });
  };
  tick();
  const timer = setInterval(tick, 500);
  return () => clearInterval(timer);
}

/** Show `message` in `box` (an error or info line); an empty message hides the box. */
export function say(box, message) {
  box.textContent = message;
  box.hidden = !message;
}

/**
 * The prompt box both the editor panel and the wizard show (partial
 * `studio/partials/copilot_prompt.html`): Send and Ctrl+Enter call `onAsk`, Cancel aborts
 * the request under way. `read()` gives the trimmed prompt (or "" after saying it is
 * missing); `request(url, body)` runs one request with the progress state and resolves to
 * the proposal, or to null after saying what went wrong (or that it was cancelled).
 */
export function mountPromptBox({ onAsk, focusWhenEmpty = false }) {
  const $ = (selector) => document.querySelector(selector);
  const prompt = $("#copilot-prompt");
  const progress = $("#copilot-progress");
  const elapsed = $("#copilot-elapsed");
  const errorBox = $("#copilot-error");
  const info = $("#copilot-info");
  let controller = null;
  // A prompt typed and not asked yet is not kept anywhere: the browser asks before leaving.
  let typed = false;
  const ask = () => {
    typed = false;
    onAsk();
  };
  prompt.addEventListener("input", () => {
    typed = prompt.value.trim() !== "";
  });
  window.addEventListener("beforeunload", (event) => {
    if (typed && prompt.value.trim()) event.preventDefault();
  });

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

  return {
    prompt,
    get busy() {
      return controller !== null;
    },
    abort() {
      controller?.abort();
    },
    error(message) {
      say(errorBox, message);
    },
    info(message) {
      say(info, message);
    },
    read() {
      const text = prompt.value.trim();
      say(info, "");
      if (!text) {
        say(errorBox, gettext("Describe what the workflow should do first."));
        if (focusWhenEmpty) prompt.focus();
        return "";
      }
      say(errorBox, "");
      return text;
    },
    async request(url, body, onFailure = () => {}) {
      controller = new AbortController();
      progress.hidden = false;
      const stop = startElapsed(elapsed);
      try {
        return await askCopilot(url, body, controller.signal);
      } catch (failure) {
        onFailure();
        if (failure.cancelled) say(info, failure.message);
        else say(errorBox, failure.message || String(failure));
        return null;
      } finally {
        stop();
        controller = null;
        progress.hidden = true;
      }
    },
  };
}
