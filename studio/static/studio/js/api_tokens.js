// The API tokens page: the copy button of the token shown once.
const say = (text) => (window.gettext ? window.gettext(text) : text);

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const copied = await copyText(source.textContent.trim());
  button.dataset.copied = copied ? "yes" : "no";
  button.lastChild.textContent = " " + (copied ? say("Copied") : say("Select and copy"));
});
