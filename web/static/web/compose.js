// The composer: show only the inputs the chosen task and model take (hidden inputs are disabled, so
// they are not sent; a tool — a Stability image service — shows its own inputs instead of the task's), narrow qualities, styles and sizes to the model, preview uploads, keep the
// palette and saved material in step with the project, and ask for a new estimate after each change.
(function () {
  "use strict";

  const SIZE_PRESETS = [[1024, 1024], [1280, 720], [720, 1280], [1152, 896], [896, 1152], [768, 768], [512, 512]];

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  function init() {
    const form = document.getElementById("compose-form");
    if (!form) return;
    const models = readJson("compose-models");
    const projects = readJson("compose-projects");
    const taskFields = readJson("compose-task-fields");
    const tryOnMaskFields = readJson("compose-try-on-mask-fields"); // mask type → the inputs it takes
    const toggled = new Set(Object.values(taskFields).flat());
    const $ = (selector) => form.querySelector(selector);
    const estimate = document.getElementById("estimate");
    let lastProject = $("#id_project") ? $("#id_project").value : "";
    let paletteTouched = false;

    function refreshEstimate() {
      if (window.htmx && estimate) window.htmx.trigger(estimate, "refresh");
    }
    function checked(name) {
      const input = form.querySelector(`input[name="${name}"]:checked`);
      return input ? input.value : "";
    }
    function model() {
      return models[checked("model")] || null;
    }
    function does(m, task) {
      return !m || m.tasks.includes(task);
    }

    // A tool does one task and has its own inputs (the server drew them from its params): show its
    // fieldset and none of the general ones; a disabled fieldset sends nothing.
    function applyTool() {
      const m = model();
      const tool = Boolean(m && m.is_tool);
      const generic = document.getElementById("generic-fields");
      if (generic) {
        generic.disabled = tool;
        generic.hidden = tool;
      }
      form.querySelectorAll("fieldset.tool-form").forEach((fieldset) => {
        const chosen = tool && fieldset.dataset.tool === m.id;
        fieldset.disabled = !chosen;
        fieldset.hidden = !chosen;
      });
      return tool;
    }

    function applyTask() {
      const m = model();
      if (applyTool()) return;
      // Tasks the model does not do cannot be picked; if the current one is such, take the first it does.
      form.querySelectorAll('input[name="task_type"]').forEach((radio) => {
        const able = does(m, radio.value);
        radio.disabled = !able;
        radio.closest(".task-option").classList.toggle("unsupported", !able);
      });
      let task = checked("task_type");
      if (m && !does(m, task)) {
        const first = form.querySelector('input[name="task_type"]:not(:disabled)');
        if (first) {
          first.checked = true;
          task = first.value;
        }
      }
      const wanted = new Set(taskFields[task] || []);
      (m ? m.lacks : []).forEach((name) => wanted.delete(name));
      if (task === "VIRTUAL_TRY_ON") {
        // A try-on takes only its mask type's inputs: the painter for IMAGE, the class for GARMENT, ...
        const kind = $("#id_mask_type") ? $("#id_mask_type").value : "GARMENT";
        const own = new Set(tryOnMaskFields[kind] || []);
        Object.values(tryOnMaskFields).flat().forEach((name) => {
          if (!own.has(name)) wanted.delete(name);
        });
      }
      form.querySelectorAll("[data-reference-marker]").forEach((marker) => {
        marker.hidden = (marker.dataset.referenceMarker === "required") !== (task === "VIRTUAL_TRY_ON");
      });
      const reference = $("#id_reference_image");
      if (reference && task === "VIRTUAL_TRY_ON") reference.setAttribute("aria-required", "true");
      else if (reference) reference.removeAttribute("aria-required");
      form.querySelectorAll("[data-field]").forEach((section) => {
        const name = section.dataset.field;
        if (!toggled.has(name)) return;
        const show = wanted.has(name);
        section.hidden = !show;
        section.querySelectorAll("input, select, textarea").forEach((input) => {
          input.disabled = !show || (input.name === "prompt" && Boolean($("#id_saved_prompt") && $("#id_saved_prompt").value));
        });
      });
      const savedSeed = $("#id_saved_seed");
      if (savedSeed && savedSeed.value && $("#id_seed")) $("#id_seed").disabled = true;
      // A variation learns from up to five images; every other task edits one.
      const upload = $("#id_image");
      if (upload) upload.multiple = task === "IMAGE_VARIATION";
    }

    function fillSelect(select, options, labeller) {
      if (!select) return;
      const current = select.value || select.dataset.current || "";
      const keepEmpty = select.querySelector('option[value=""]');
      select.innerHTML = "";
      if (keepEmpty) select.appendChild(keepEmpty);
      options.forEach((value) => {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = labeller(value);
        select.appendChild(option);
      });
      if (options.includes(current)) select.value = current;
    }
    const title = (text) => text.toLowerCase().replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

    function applyModel() {
      const m = model();
      if (!m) return;
      fillSelect($("#id_quality"), m.qualities, title);
      fillSelect($("#id_style"), m.styles, title);
      applySizes(m);
      countPrompt();
    }

    function applySizes(m) {
      const preset = $("#size-preset");
      const width = $("#id_width");
      const height = $("#id_height");
      const rule = m.size_rule || {};
      const hint = $("#size-rule");
      if (!preset || !width || !height) return;
      let sizes = [];
      if (rule.kind === "fixed") {
        sizes = rule.sizes;
        if (hint) hint.textContent = "This model makes only the listed sizes.";
      } else if (rule.kind === "range") {
        sizes = SIZE_PRESETS.filter(([w, h]) => w >= rule.min_side && h >= rule.min_side && w <= rule.max_side &&
          h <= rule.max_side && w % rule.multiple_of === 0 && h % rule.multiple_of === 0);
        if (hint) hint.textContent = `Any size ${rule.min_side}–${rule.max_side} px, multiples of ${rule.multiple_of}.`;
      }
      preset.innerHTML = '<option value="">Custom</option>';
      sizes.forEach(([w, h]) => {
        const option = document.createElement("option");
        option.value = `${w}x${h}`;
        option.textContent = `${w} × ${h}`;
        preset.appendChild(option);
      });
      const current = `${width.value}x${height.value}`;
      if (rule.kind === "fixed" && !sizes.some(([w, h]) => `${w}x${h}` === current)) {
        [width.value, height.value] = m.default_size;
      }
      if (!width.value || !height.value) [width.value, height.value] = m.default_size;
      preset.value = sizes.some(([w, h]) => `${w}x${h}` === `${width.value}x${height.value}`) ? `${width.value}x${height.value}` : "";
      const fixed = rule.kind === "fixed";
      width.readOnly = fixed;
      height.readOnly = fixed;
      if (rule.multiple_of) {
        width.step = rule.multiple_of;
        height.step = rule.multiple_of;
      }
    }

    function countPrompt() {
      const prompt = $("#id_prompt");
      const counter = document.getElementById("prompt-count");
      const m = model();
      if (!prompt || !counter || !m) return;
      const length = prompt.value.length;
      counter.textContent = `${length.toLocaleString()} / ${m.prompt_max_chars.toLocaleString()}`;
      counter.classList.toggle("over", length > m.prompt_max_chars);
    }

    function brandColours() {
      const project = projects[$("#id_project") ? $("#id_project").value : ""];
      return project ? project.palette : [];
    }
    function setPalette(colours) {
      const palette = document.getElementById("palette");
      if (!palette) return;
      palette.innerHTML = "";
      (colours.length ? colours : ["#3b5bdb"]).forEach(addColour);
    }
    function addColour(value) {
      const palette = document.getElementById("palette");
      if (!palette || palette.querySelectorAll('input[name="colors"]').length >= 10) return;
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      const input = document.createElement("input");
      input.type = "color";
      input.name = "colors";
      input.value = (value || "#888888").toLowerCase();
      input.setAttribute("aria-label", "Colour");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "linklike";
      remove.dataset.removeColor = "";
      remove.setAttribute("aria-label", "Remove colour");
      remove.textContent = "×";
      swatch.append(input, remove);
      palette.appendChild(swatch);
    }

    function applyProject() {
      const select = $("#id_project");
      if (!select) return;
      const before = projects[lastProject] || {};
      const now = projects[select.value] || {};
      lastProject = select.value;
      if (!paletteTouched) setPalette(now.palette || []);
      const negative = $("#id_negative_prompt");
      if (negative && (negative.value.trim() === "" || negative.value === (before.negative_prompt || ""))) {
        negative.value = now.negative_prompt || "";
      }
      const quality = $("#id_quality");
      if (quality && now.quality && [...quality.options].some((o) => o.value === now.quality)) quality.value = now.quality;
    }

    function showPreview(input) {
      const preview = document.getElementById(input.dataset.preview);
      if (!preview) return;
      const file = input.files && input.files[0];
      if (!file) {
        preview.hidden = true;
        preview.removeAttribute("src");
        return;
      }
      const reader = new FileReader();
      reader.onload = () => {
        preview.src = reader.result;
        preview.hidden = false;
      };
      reader.readAsDataURL(file);
    }

    function moveNegations() {
      const prompt = $("#id_prompt");
      const negative = $("#id_negative_prompt");
      if (!prompt || !negative) return;
      const subjects = [];
      document.querySelectorAll("#negative-hint .negation").forEach((hint) => {
        prompt.value = prompt.value.replace(hint.dataset.phrase, "");
        if (!negative.value.toLowerCase().includes(hint.dataset.subject.toLowerCase())) subjects.push(hint.dataset.subject);
      });
      prompt.value = prompt.value.replace(/\s+([,.;])/g, "$1").replace(/,\s*,/g, ",").replace(/\s{2,}/g, " ")
        .replace(/^[\s,]+|[\s,]+$/g, "");
      negative.value = [negative.value.trim(), ...subjects].filter(Boolean).join(", ");
      const box = document.getElementById("negative-hint");
      if (box) box.innerHTML = "";
      refreshEstimate();
    }

    function showRange(input) {
      const output = form.querySelector(`output[data-for="${input.id}"]`);
      if (output) output.textContent = input.value;
      const mirror = form.querySelector(`input[data-mirror="${input.id}"]`);
      if (mirror) mirror.value = input.value;
    }
    // A tool's number fields pair a slider (the named input) with a box to type the number in.
    function fromMirror(box) {
      const range = document.getElementById(box.dataset.mirror);
      if (range && box.value !== "") range.value = box.value;
    }

    form.addEventListener("change", (event) => {
      const target = event.target;
      if (target.name === "model") {
        applyModel();
        applyTask();
      } else if (target.name === "task_type" || target.name === "mask_type") {
        applyTask();
      } else if (target.name === "project") {
        applyProject();
      } else if (target.name === "colors") {
        paletteTouched = true;
      } else if (target.id === "size-preset" && target.value) {
        const [w, h] = target.value.split("x");
        $("#id_width").value = w;
        $("#id_height").value = h;
      } else if (target.name === "saved_prompt") {
        const option = target.selectedOptions[0];
        if (option && option.dataset.project && $("#id_project")) {
          $("#id_project").value = option.dataset.project;
          applyProject();
        }
        applyTask();
      } else if (target.name === "saved_seed") {
        const option = target.selectedOptions[0];
        if (option && option.dataset.project && $("#id_project")) {
          $("#id_project").value = option.dataset.project;
          applyProject();
        }
        if ($("#id_seed")) {
          $("#id_seed").disabled = Boolean(target.value) || $("#id_seed").closest("[data-field]").hidden;
          if (target.value) $("#id_seed").value = "";
        }
      } else if (target.dataset && target.dataset.preview) {
        showPreview(target);
      }
    });
    form.addEventListener("input", (event) => {
      if (event.target.id === "id_prompt") countPrompt();
      if (event.target.type === "range") showRange(event.target);
      if (event.target.dataset && event.target.dataset.mirror) fromMirror(event.target);
    });
    document.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      if (button.hasAttribute("data-move-negations")) {
        moveNegations();
      } else if (button.hasAttribute("data-remove-color")) {
        paletteTouched = true;
        button.closest(".swatch").remove();
        refreshEstimate();
      } else if (button.hasAttribute("data-add-color")) {
        paletteTouched = true;
        addColour("#888888");
        refreshEstimate();
      } else if (button.hasAttribute("data-brand-colors")) {
        paletteTouched = false;
        setPalette(brandColours());
        refreshEstimate();
      } else if (button.dataset.keepSeed !== undefined) {
        const seed = $("#id_seed");
        if (seed) {
          seed.disabled = false;
          seed.value = button.dataset.keepSeed;
          if ($("#id_saved_seed")) $("#id_saved_seed").value = "";
        }
        refreshEstimate();
      }
    });

    // Back to the composer (from the page cache, or drawn anew with the fields as they were left): the
    // budget has moved since and the fields may not be the ones priced, so price the form again.
    window.addEventListener("pageshow", (event) => {
      const navigation = performance.getEntriesByType("navigation")[0];
      if (event.persisted || (navigation && navigation.type === "back_forward")) refreshEstimate();
    });

    form.querySelectorAll('input[type="range"]').forEach(showRange);
    applyModel();
    applyTask();
    countPrompt();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
