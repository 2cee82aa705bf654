// The More menu's "When a run fails…" loads its panel into #panel-body (htmx). The panel is
// none of the side tabs: no tab stays marked as open, and the shared panel is shown even
// when the copilot's own panel was the one on screen.

const opener = document.getElementById("open-failure-settings");

if (opener) {
  opener.addEventListener("click", () => {
    for (const tab of document.querySelectorAll(".ed-tab")) {
      tab.classList.remove("active");
      tab.setAttribute("aria-selected", "false");
    }
    const copilot = document.getElementById("copilot-panel");
    if (copilot) copilot.hidden = true;
    const body = document.getElementById("panel-body");
    if (body) body.hidden = false;
  });
}
