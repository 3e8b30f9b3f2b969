// Review queue shortcuts: a approve, r reject, c request changes (both focus the comment box; Ctrl/Cmd+Enter
// sends), ← / → previous / next image, Esc leaves the comment box.
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    const form = document.querySelector("form[data-decide]");
    if (!form) return;
    const comment = form.querySelector("textarea[name=comment]");
    const armedNote = form.querySelector("[data-armed]");
    let armed = null;

    function button(key) { return form.querySelector('button[data-key="' + key + '"]'); }
    function send(key) {
      const choice = button(key);
      if (choice && !choice.disabled) form.requestSubmit(choice);
    }
    function arm(key) {
      form.querySelectorAll("button[data-armed-on]").forEach(function (b) { b.removeAttribute("data-armed-on"); });
      armed = key;
      const choice = button(key);
      choice.setAttribute("data-armed-on", "");
      armedNote.textContent = "Write your comment, then press Ctrl+Enter to " + choice.textContent.toLowerCase() + ".";
      comment.focus();
    }

    document.addEventListener("keydown", function (event) {
      const typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
      if (typing) {
        if (event.target === comment && event.key === "Enter" && (event.ctrlKey || event.metaKey) && armed) {
          event.preventDefault();
          send(armed);
        } else if (event.key === "Escape") {
          event.target.blur();
        }
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "a") { event.preventDefault(); send("a"); }
      else if (event.key === "r" || event.key === "c") { event.preventDefault(); arm(event.key); }
      else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        const link = document.querySelector(event.key === "ArrowLeft" ? "[data-key-prev]" : "[data-key-next]");
        if (link) window.location = link.href;
      }
    });
  });
})();
