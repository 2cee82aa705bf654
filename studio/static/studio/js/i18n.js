// Translations for the studio's scripts. Django's JavaScriptCatalog (studio:jsi18n, loaded
// by studio/base.html before any module) defines window.gettext and window.ngettext in the
// page's language; without it the English text is used as written.

export function gettext(text) {
  return typeof window.gettext === "function" ? window.gettext(text) : text;
}

export function ngettext(singular, plural, count) {
  if (typeof window.ngettext === "function") return window.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

/** Fill `%(name)s` placeholders, as Python's `%` does for the same catalog strings. */
export function format(text, values) {
  return text.replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match));
}
