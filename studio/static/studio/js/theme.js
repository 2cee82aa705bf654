// The studio's colours are CSS custom properties (css/studio.css), light or dark after the
// system setting (prefers-color-scheme). What scripts draw themselves (the X6 canvases,
// the charts) reads them here, and redraws when the setting changes.

const DARK = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

/** The value of the custom property `name` (e.g. "--node-bg") on <html>, or `fallback`
 *  when it is not set (a page without studio.css). */
export function cssColour(name, fallback = "") {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** `{key: colour}` for `{key: "--property"}`: several colours read at once. */
export function cssColours(names) {
  const style = getComputedStyle(document.documentElement);
  return Object.fromEntries(Object.entries(names).map(([key, name]) => [key, style.getPropertyValue(name).trim()]));
}

/** Call `callback()` each time the system switches between light and dark. */
export function onThemeChange(callback) {
  DARK?.addEventListener("change", () => callback());
}
