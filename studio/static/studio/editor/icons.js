// Connector icons are emoji; a browser without an emoji font draws them as empty boxes.
// Then the card shows the connector's initial instead.

const cache = new Map();
let context = null;

function pixels(text) {
  context.clearRect(0, 0, 32, 32);
  context.fillText(text, 16, 16);
  return context.getImageData(0, 0, 32, 32).data.join(",");
}

/** Whether this browser can draw `icon` (compared with a character no font has). */
export function canDraw(icon) {
  if (!icon) return false;
  if (cache.has(icon)) return cache.get(icon);
  let drawable = true;
  try {
    if (!context) {
      const canvas = document.createElement("canvas");
      canvas.width = 32;
      canvas.height = 32;
      context = canvas.getContext("2d", { willReadFrequently: true });
      context.font = "20px sans-serif";
      context.textAlign = "center";
      context.textBaseline = "middle";
    }
    drawable = pixels(icon) !== pixels("\u{10FFFD}");
  } catch (_) {
    drawable = true; // cannot tell: trust the icon
  }
  cache.set(icon, drawable);
  return drawable;
}

/** The icon to show: `icon` when the browser can draw it, else the initial of `name`. */
export function displayIcon(icon, name) {
  if (canDraw(icon)) return icon;
  return (String(name || "?").trim()[0] || "?").toUpperCase();
}
