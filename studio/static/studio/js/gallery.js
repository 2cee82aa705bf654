// The wizard's template gallery: mark the card whose preview is open (htmx swaps the
// preview in below the cards) and bring the preview into view.

const gallery = document.getElementById("template-gallery");
const preview = document.getElementById("template-preview");

if (gallery && preview) {
  gallery.addEventListener("click", (event) => {
    const card = event.target.closest(".tg-card");
    if (!card) return;
    for (const other of gallery.querySelectorAll(".tg-card")) {
      other.classList.toggle("is-selected", other === card);
      if (other === card) other.setAttribute("aria-current", "true");
      else other.removeAttribute("aria-current");
    }
  });
  preview.addEventListener("htmx:afterSwap", () => {
    preview.scrollIntoView({ block: "nearest", behavior: "smooth" });
  });
}
