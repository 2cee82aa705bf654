// Shared behaviour of every studio page. htmx sends the CSRF token from <body hx-headers>.

import { format, gettext } from "./i18n.js";

// Show htmx request errors instead of failing silently.
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  let message = format(gettext("The server answered %(status)s."), { status });
  try {
    const body = JSON.parse(event.detail.xhr.responseText);
    if (body.message) message = body.message;
  } catch (_) {
    /* not JSON: keep the generic message */
  }
  showToast(message, "error");
});

export function showToast(message, kind = "info") {
  let holder = document.getElementById("toasts");
  if (!holder) {
    holder = document.createElement("div");
    holder.id = "toasts";
    document.body.appendChild(holder);
  }
  const toast = document.createElement("div");
  toast.className = `toast toast-${kind}`;
  toast.setAttribute("role", kind === "error" ? "alert" : "status");
  toast.textContent = message;
  holder.appendChild(toast);
  setTimeout(() => toast.remove(), 6000);
}

window.automateToast = showToast;
