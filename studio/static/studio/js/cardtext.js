// Text on canvas cards (editor, copilot preview, explorer) is measured in the page's font,
// not counted in characters: a title uses the room the card has, wraps to a second line
// where the card has one, and ends in "…" only past that (the full text is the tooltip).

let measurer = null;

/** The width in pixels of `text` drawn in `font` (e.g. "600 13px") and the page's family. */
export function textWidth(text, font) {
  measurer ||= document.createElement("canvas").getContext("2d");
  const family = getComputedStyle(document.body).fontFamily || "sans-serif";
  measurer.font = `${font} ${family}`;
  return measurer.measureText(text).width;
}

/** `text` as it is when it fits in `width`, else cut and ended with "…" so it does. */
export function ellipsize(text, width, font) {
  text = String(text);
  if (textWidth(text, font) <= width) return text;
  let end = text.length;
  while (end > 1 && textWidth(`${text.slice(0, end).trimEnd()}…`, font) > width) end -= 1;
  return `${text.slice(0, end).trimEnd()}…`;
}

/** The title in at most two lines of `width`: words kept whole where they fit. */
export function wrapTitle(text, width, font) {
  const words = String(text).split(/\s+/).filter(Boolean);
  let first = "";
  while (words.length) {
    const next = first ? `${first} ${words[0]}` : words[0];
    if (textWidth(next, font) > width) break;
    first = next;
    words.shift();
  }
  if (!first) return [ellipsize(String(text), width, font)]; // one word longer than a line
  return words.length ? [first, ellipsize(words.join(" "), width, font)] : [first];
}
