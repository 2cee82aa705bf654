// The editor top bar's "More" menu (Runs, Insights, export/import, switch off/on, archive):
// a disclosure menu. The button toggles it (aria-expanded); arrows, Home and End move between
// items, Escape closes it and returns focus to the button; a click outside or on an item
// closes it. The switch on/off items are swapped by htmx, so items are looked up each time.

const button = document.getElementById("btn-more");
const menu = document.getElementById("more-menu");

function items() {
  return [...menu.querySelectorAll('[role="menuitem"]')].filter((item) => !item.disabled);
}

function isOpen() {
  return !menu.hidden;
}

function open(focus = "first") {
  menu.hidden = false;
  button.setAttribute("aria-expanded", "true");
  const list = items();
  if (focus && list.length) (focus === "last" ? list[list.length - 1] : list[0]).focus();
}

function close(returnFocus = false) {
  if (!isOpen()) return;
  menu.hidden = true;
  button.setAttribute("aria-expanded", "false");
  if (returnFocus) button.focus();
}

function move(step) {
  const list = items();
  if (!list.length) return;
  const at = list.indexOf(document.activeElement);
  list[(at + step + list.length) % list.length].focus();
}

if (button && menu) {
  button.addEventListener("click", () => (isOpen() ? close() : open(null)));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open("first");
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      open("last");
    } else if (event.key === "Escape") {
      close(true);
    }
  });
  menu.addEventListener("keydown", (event) => {
    const keys = { ArrowDown: () => move(1), ArrowUp: () => move(-1), Home: () => items()[0]?.focus(), End: () => items().at(-1)?.focus() };
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    } else if (event.key === "Tab") {
      close();
    }
  });
  // An item did its job (navigated, downloaded, opened a dialog or asked to confirm): close.
  menu.addEventListener("click", (event) => {
    if (event.target.closest('[role="menuitem"]')) close();
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#more")) close();
  });
}
