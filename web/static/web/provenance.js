// Provenance check: drop an image on the zone (or pick one), see it before sending. The form is a plain
// multipart POST; without this script the file input alone does the job.
(() => {
  const form = document.querySelector("form.dropform");
  if (!form) return;
  const input = form.querySelector('input[type="file"]');
  const zone = form.querySelector(".dropzone");
  const preview = form.querySelector(".dropzone-preview");
  const name = form.querySelector(".dropzone-name");
  const maxBytes = Number(form.dataset.maxBytes || 0);
  let previewUrl = null;

  const show = (file) => {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    preview.hidden = true;
    if (!file) { name.textContent = ""; return; }
    const megabytes = (file.size / 1024 / 1024).toFixed(1);
    name.textContent = `${file.name} · ${megabytes} MB`;
    if (maxBytes && file.size > maxBytes) name.textContent += " — too large: the most is 5 MB";
    if (/^image\//.test(file.type)) {
      previewUrl = URL.createObjectURL(file);
      preview.src = previewUrl;
      preview.alt = `Preview of ${file.name}`;
      preview.hidden = false;
    }
  };

  input.addEventListener("change", () => show(input.files[0]));
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    const files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    const transfer = new DataTransfer();
    transfer.items.add(files[0]);
    input.files = transfer.files;
    show(files[0]);
  });
  // Dropping beside the zone must not open the image in place of the page.
  ["dragover", "drop"].forEach((type) => window.addEventListener(type, (event) => {
    if (!zone.contains(event.target)) event.preventDefault();
  }));
})();
