// Keyboard shortcuts of the editor (listed in the help popover of editor.html).

function typingInto(target) {
  if (!(target instanceof Element)) return false;
  if (target.closest("#panel-body, #publish-result, .ed-palette, .ed-bar input")) return true;
  return target.matches("input, textarea, select, [contenteditable=''], [contenteditable='true']");
}

/** Bind the shortcuts to `actions` ({undo, redo, copy, paste, selectAll, remove, …}). */
export function installShortcuts(actions) {
  document.addEventListener("keydown", (event) => {
    if (typingInto(event.target)) return;
    const mod = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    let handled = true;
    if (mod && key === "z" && !event.shiftKey) actions.undo();
    else if (mod && ((key === "z" && event.shiftKey) || key === "y")) actions.redo();
    else if (mod && key === "c") actions.copy();
    else if (mod && key === "v") actions.paste();
    else if (mod && key === "a") actions.selectAll();
    else if (mod) handled = false;
    else if (key === "delete" || key === "backspace") actions.remove();
    else if (key === "+" || key === "=") actions.zoomIn();
    else if (key === "-" || key === "_") actions.zoomOut();
    else if (event.shiftKey && (key === "!" || event.code === "Digit1")) actions.fit();
    else if (event.shiftKey && key === "t") actions.tidy();
    else if (event.shiftKey && key === "s") actions.addNote();
    else if (key === "?") actions.toggleHelp();
    else if (key === "escape") actions.escape();
    else handled = false;
    if (handled) event.preventDefault();
  });
}
