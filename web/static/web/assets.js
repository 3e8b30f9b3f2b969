// Gallery: "pick all", a count of picked images, and hiding the page links once infinite scroll runs.
(function () {
  function update(form) {
    const boxes = form.querySelectorAll('input[name="assets"]');
    const picked = form.querySelectorAll('input[name="assets"]:checked').length;
    const count = form.querySelector("[data-picked-count]");
    if (count) count.textContent = picked ? picked + " picked" : "None picked";
    const all = form.querySelector("[data-pick-all]");
    if (all) all.checked = boxes.length > 0 && picked === boxes.length;
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("picked");
    if (!form) return;
    if (window.htmx) document.body.classList.add("js-scroll");
    form.addEventListener("change", function (event) {
      if (event.target.matches("[data-pick-all]")) {
        form.querySelectorAll('input[name="assets"]').forEach(function (box) { box.checked = event.target.checked; });
      }
      update(form);
    });
    form.addEventListener("submit", function (event) {
      if (!form.querySelector('input[name="assets"]:checked')) {
        event.preventDefault();
        const count = form.querySelector("[data-picked-count]");
        if (count) count.textContent = "Pick at least one image first";
      }
    });
    document.body.addEventListener("htmx:afterSwap", function () { update(form); });
    update(form);
  });
})();
