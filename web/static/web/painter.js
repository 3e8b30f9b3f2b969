// The composer's picture widgets, both drawn over the input image (an upload, or the source asset):
// - the mask painter: paint over what to change (brush, eraser, undo, clear); the painting becomes a
//   PNG of the image's natural size, black where painted and white elsewhere (Atelier's one mask
//   convention), in the form's hidden mask field;
// - the outpaint preview: the image inside the larger frame its four sides make, with drag handles,
//   and the size the result will be.
// Vanilla JS, pointer events (mouse, pen and touch alike).
(function () {
  "use strict";

  const UNDO_STEPS = 10;

  // Calls back with {src, width, height} whenever the input image changes (null when there is none).
  function watchImage(root, onImage) {
    function load(src) {
      if (!src) return onImage(null);
      const probe = new Image();
      probe.onload = () => onImage({ src, width: probe.naturalWidth, height: probe.naturalHeight });
      probe.onerror = () => onImage(null);
      probe.src = src;
    }
    if (root.dataset.imageUrl) return load(root.dataset.imageUrl);
    const input = root.dataset.imageInput && document.getElementById(root.dataset.imageInput);
    if (!input) return onImage(null);
    const fromInput = () => {
      const file = input.files && input.files[0];
      if (!file) return load(null);
      const reader = new FileReader(); // a data: URL: the production CSP allows it for images
      reader.onload = () => load(reader.result);
      reader.readAsDataURL(file);
    };
    input.addEventListener("change", fromInput);
    fromInput();
  }

  function announce(input) {
    input.dispatchEvent(new Event("change", { bubbles: true })); // the estimate follows the form's changes
  }

  function maskPainter(root) {
    const stage = root.querySelector(".painter-stage");
    const picture = root.querySelector(".painter-image");
    const canvas = root.querySelector(".painter-canvas");
    const tools = root.querySelector(".painter-tools");
    const brush = root.querySelector(".painter-brush");
    const output = root.querySelector(".painter-output");
    const status = root.querySelector(".painter-status");
    const empty = root.querySelector(".painter-empty");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const cut = Number(root.dataset.cut); // generation/bedrock/images.py PAINTING_CUT
    let history = [];
    let stroke = null;

    function erasing() {
      const chosen = root.querySelector('input[type="radio"]:checked');
      return Boolean(chosen && chosen.value === "erase");
    }
    function scale() {
      const rect = canvas.getBoundingClientRect();
      return rect.width ? canvas.width / rect.width : 1;
    }
    function at(event) {
      const rect = canvas.getBoundingClientRect();
      return [(event.clientX - rect.left) * (canvas.width / rect.width), (event.clientY - rect.top) * (canvas.height / rect.height)];
    }
    function paint(from, to) {
      context.globalCompositeOperation = erasing() ? "destination-out" : "source-over";
      context.strokeStyle = context.fillStyle = "#e8177d"; // opaque here; the stylesheet shows it translucent
      context.lineWidth = stroke.size;
      context.lineCap = context.lineJoin = "round";
      context.beginPath();
      if (from === to) {
        context.arc(from[0], from[1], stroke.size / 2, 0, 2 * Math.PI);
        context.fill();
      } else {
        context.moveTo(from[0], from[1]);
        context.lineTo(to[0], to[1]);
        context.stroke();
      }
    }

    // The mask: black where the painting is at least the server's cut opaque (data-cut), white elsewhere, opaque.
    function exportMask() {
      const { width, height } = canvas;
      if (!width || !height) {
        output.value = "";
        return;
      }
      const painted = context.getImageData(0, 0, width, height).data;
      const sheet = document.createElement("canvas");
      sheet.width = width;
      sheet.height = height;
      const sheetContext = sheet.getContext("2d");
      const mask = sheetContext.createImageData(width, height);
      let black = 0;
      for (let i = 0; i < painted.length; i += 4) {
        const level = painted[i + 3] >= cut ? 0 : 255;
        if (level === 0) black += 1;
        mask.data[i] = mask.data[i + 1] = mask.data[i + 2] = level;
        mask.data[i + 3] = 255;
      }
      sheetContext.putImageData(mask, 0, 0);
      output.value = black ? sheet.toDataURL("image/png") : "";
      const share = (100 * black) / (width * height);
      status.textContent = black ? `Painted ${share < 1 ? share.toFixed(1) : Math.round(share)}% of the image.` : "Nothing painted.";
      root.dataset.painted = black ? "true" : "false";
      announce(output);
    }

    function remember() {
      history.push(context.getImageData(0, 0, canvas.width, canvas.height));
      if (history.length > UNDO_STEPS) history.shift();
    }

    canvas.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || !canvas.width) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      remember();
      const point = at(event);
      stroke = { last: point, size: Math.max(1, Number(brush.value) * scale()) };
      paint(point, point);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!stroke) return;
      const point = at(event);
      paint(stroke.last, point);
      stroke.last = point;
    });
    const finish = () => {
      if (!stroke) return;
      stroke = null;
      exportMask();
    };
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    canvas.addEventListener("lostpointercapture", finish);

    root.querySelector(".painter-clear").addEventListener("click", () => {
      remember();
      context.clearRect(0, 0, canvas.width, canvas.height);
      exportMask();
    });
    root.querySelector(".painter-undo").addEventListener("click", () => {
      const previous = history.pop();
      if (previous) context.putImageData(previous, 0, 0);
      exportMask();
    });
    // The brush's size is in screen pixels: show it as the cursor would draw it.
    brush.addEventListener("input", () => {
      root.style.setProperty("--brush", `${brush.value}px`);
    });
    root.style.setProperty("--brush", `${brush.value}px`);

    watchImage(root, (image) => {
      history = [];
      stage.hidden = tools.hidden = !image;
      empty.hidden = Boolean(image);
      if (!image) {
        canvas.width = canvas.height = 0;
        exportMask();
        return;
      }
      picture.src = image.src;
      canvas.width = image.width; // the canvas holds the mask at the image's own size
      canvas.height = image.height;
      stage.style.aspectRatio = `${image.width} / ${image.height}`;
      stage.style.setProperty("--ratio", image.width / image.height);
      exportMask();
    });
  }

  function outpaintPreview(root) {
    const preview = root.querySelector(".outpaint-preview");
    const frame = root.querySelector(".outpaint-frame");
    const picture = root.querySelector(".outpaint-image");
    const size = root.querySelector(".outpaint-size");
    const sides = {};
    root.querySelectorAll("[data-side]").forEach((input) => {
      sides[input.dataset.side] = input;
    });
    let image = null;
    let drag = null;

    function value(name) {
      const input = sides[name];
      const number = parseInt(input.value, 10);
      return Number.isFinite(number) ? Math.min(Math.max(number, 0), Number(input.max) || 2000) : 0;
    }
    function draw() {
      preview.hidden = !image;
      if (!image) {
        size.textContent = "Choose the image to see the size it will be.";
        return;
      }
      const [left, right, up, down] = ["left", "right", "up", "down"].map(value);
      const width = image.width + left + right;
      const height = image.height + up + down;
      const room = preview.clientWidth || 320;
      const fit = drag ? drag.fit : Math.min(room / width, 300 / height, 1);
      frame.style.width = `${width * fit}px`;
      frame.style.height = `${height * fit}px`;
      Object.assign(picture.style, {
        left: `${left * fit}px`, top: `${up * fit}px`, width: `${image.width * fit}px`, height: `${image.height * fit}px`,
      });
      size.textContent = `Will be ${width.toLocaleString()} × ${height.toLocaleString()} px (the image is ${image.width.toLocaleString()} × ${image.height.toLocaleString()}).`;
      root.dataset.outputWidth = width;
      root.dataset.outputHeight = height;
    }

    Object.values(sides).forEach((input) => input.addEventListener("input", draw));
    frame.addEventListener("pointerdown", (event) => {
      const handle = event.target.closest(".outpaint-handle");
      if (!handle || !image) return;
      event.preventDefault();
      handle.setPointerCapture(event.pointerId);
      const name = handle.dataset.handle;
      const fit = frame.clientWidth / (image.width + value("left") + value("right"));
      drag = { name, handle, x: event.clientX, y: event.clientY, start: value(name), fit };
    });
    frame.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const along = { left: drag.x - event.clientX, right: event.clientX - drag.x, up: drag.y - event.clientY, down: event.clientY - drag.y };
      const input = sides[drag.name];
      const next = Math.round(drag.start + along[drag.name] / drag.fit);
      input.value = Math.min(Math.max(next, 0), Number(input.max) || 2000);
      draw();
    });
    const release = () => {
      if (!drag) return;
      const input = sides[drag.name];
      drag = null;
      draw();
      announce(input);
    };
    frame.addEventListener("pointerup", release);
    frame.addEventListener("pointercancel", release);
    if (window.ResizeObserver) new ResizeObserver(() => drag || draw()).observe(preview);

    watchImage(root, (found) => {
      image = found;
      if (image) picture.src = image.src;
      draw();
    });
  }

  function init() {
    document.querySelectorAll(".mask-painter").forEach(maskPainter);
    document.querySelectorAll(".outpaint").forEach(outpaintPreview);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
