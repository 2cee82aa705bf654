// Lucide icons (the lucide-static npm package) from one SVG sprite, never emoji: a
// browser without an emoji font draws emoji as empty boxes. The page names the sprite
// in <body data-icon-sprite> (base.html); templates use {% icon %} for the same markup.

const SVG = "http://www.w3.org/2000/svg";

/** The sprite's URL followed by `#name`: what a <use href> needs. */
export function iconHref(name) {
  const sprite = document.body?.dataset.iconSprite || "";
  return `${sprite}#${name}`;
}

/** A decorative icon: `<svg class="icon" aria-hidden="true"><use href="…#name"/></svg>`.
 *  Keep a text label (or aria-label) beside it: the icon itself says nothing. */
export function icon(name, className = "") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", `icon ${className}`.trim());
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", iconHref(name));
  svg.append(use);
  return svg;
}

/** How an icon is drawn inside an X6 card (a <use> element in the card's markup). */
export const CARD_ICON_STYLE = {
  fill: "none",
  stroke: "#334155",
  strokeWidth: 2,
  strokeLinecap: "round",
  strokeLinejoin: "round",
};
