// The API tokens page: the copy button of the token shown once.
import { copyText } from "./clipboard.js";
const say = (text) => (window.gettext ? window.gettext(text) : text);

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const copied = await copyText(source.textContent.trim());
  button.dataset.copied = copied ? "yes" : "no";
  button.lastChild.textContent = " " + (copied ? say("Copied") : say("Select and copy"));
});
