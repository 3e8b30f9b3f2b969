// Projects: the brand palette editor (colour pickers beside the #RRGGBB fields, add and remove)
// and the approval stages editor (add, remove, move up). Without JavaScript the plain fields
// still post: several `brand_palette` values and one row per stage.
(function () {
  function show(root, selector) {
    root.querySelectorAll(selector).forEach((element) => { element.hidden = false; });
  }

  function wirePaletteRow(row) {
    const picker = row.querySelector(".picker");
    const hex = row.querySelector(".hex");
    picker.addEventListener("input", () => { hex.value = picker.value.toUpperCase(); });
    hex.addEventListener("input", () => {
      if (/^#[0-9a-fA-F]{6}$/.test(hex.value.trim())) picker.value = hex.value.trim().toLowerCase();
    });
    row.querySelector(".remove-colour").addEventListener("click", () => {
      const rows = row.parentElement.querySelectorAll(".palette-row");
      if (rows.length > 1) row.remove(); else { hex.value = ""; picker.value = "#000000"; }
    });
  }

  function initPalette(editor) {
    const rows = editor.querySelector(".palette-rows");
    const max = parseInt(editor.dataset.max || "10", 10);
    show(editor, ".picker, .remove-colour, .add-colour");
    rows.querySelectorAll(".palette-row").forEach(wirePaletteRow);
    editor.querySelector(".add-colour").addEventListener("click", () => {
      const all = rows.querySelectorAll(".palette-row");
      if (all.length >= max) return;
      const copy = all[all.length - 1].cloneNode(true);
      copy.querySelector(".hex").value = "";
      copy.querySelector(".picker").value = "#000000";
      rows.appendChild(copy);
      wirePaletteRow(copy);
      copy.querySelector(".picker").click();
    });
  }

  function wireStageRow(row) {
    row.querySelector(".remove-stage").addEventListener("click", () => {
      const list = row.parentElement;
      if (list.querySelectorAll(".stage-row").length > 1) row.remove();
      else row.querySelectorAll("input").forEach((input) => { input.value = ""; });
    });
    row.querySelector(".move-up").addEventListener("click", () => {
      const previous = row.previousElementSibling;
      if (previous) row.parentElement.insertBefore(row, previous);
    });
  }

  function initStages(editor) {
    const list = editor.querySelector(".stage-rows");
    show(editor, ".remove-stage, .move-up, .add-stage");
    list.querySelectorAll(".stage-row").forEach(wireStageRow);
    editor.querySelector(".add-stage").addEventListener("click", () => {
      const all = list.querySelectorAll(".stage-row");
      const copy = all[all.length - 1].cloneNode(true);
      copy.classList.remove("invalid");
      copy.querySelectorAll(".errors").forEach((errors) => errors.remove());
      copy.querySelectorAll("input").forEach((input) => { input.value = ""; });
      copy.querySelectorAll("[id]").forEach((element) => { element.id += "-new" + all.length; });
      copy.querySelectorAll("label[for]").forEach((label) => { label.htmlFor += "-new" + all.length; });
      list.appendChild(copy);
      wireStageRow(copy);
      copy.querySelector("input").focus();
    });
  }

  // Settings: copy a secret shown once to the clipboard.
  function initCopy(button) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        button.textContent = "Copied";
      } catch (error) {
        const range = document.createRange();
        range.selectNodeContents(target);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
        button.textContent = "Selected: press Ctrl+C";
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".palette-editor").forEach(initPalette);
    document.querySelectorAll(".stages-editor").forEach(initStages);
    document.querySelectorAll("button[data-copy]").forEach(initCopy);
  });
})();
