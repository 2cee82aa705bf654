// The editor top bar's "unpublished changes" badge: shown while the draft differs from the
// live version, hidden once it is published. An autosave answer carries the flag; a change
// made elsewhere (a node panel, a rollback) is followed by reading the status again.

const badge = document.getElementById("wf-changes");

function show(unpublished) {
  if (badge && typeof unpublished === "boolean") badge.hidden = !unpublished;
}

async function refresh() {
  if (!badge) return;
  const response = await fetch(badge.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.ok) show((await response.json()).unpublished);
}

document.addEventListener("automate:draft-saved", (event) => show(event.detail?.unpublished));
document.addEventListener("automate:draft-changed", () => refresh().catch(() => {}));
document.addEventListener("automate:published", () => refresh().catch(() => {}));
