// Latent Lab: decode in the page while a latent slider is dragged (README: "What runs where").
//
// The server puts a spec into the hidden #local-decode-spec textbox whenever the sliders are rebuilt: the decoder's
// URL (an ONNX file exported beside the weights, models/export.py), the current latent, and for each slider of the
// pool its affine map (latent = base + sum_i (value_i - at_i) * direction_i, latent.slider_axes). On every drag tick
// this script reads the sliders, decodes with ONNX Runtime Web's WASM backend (served by the app from ui/static/ort,
// no CDN) and draws on a canvas laid over the Decoded image. The server is told the final values on release; its
// image (the same pixels within 1/255) then loads and the canvas hides. No spec, no WebAssembly, or a decoder that
// fails to load: this script does nothing and every tick decodes on the server, as for every other tab.
(() => {
  "use strict";
  const here = document.currentScript ? new URL(".", document.currentScript.src).href : null;
  const state = { specText: "", spec: null, session: null, sessionUrl: null, loading: null, busy: false, again: false };
  const stats = { local: 0, failures: 0, lastError: null, lastPixels: null, lastLatent: null };

  function loadRuntime() {
    if (window.ort) return Promise.resolve(window.ort);
    if (state.runtime) return state.runtime;
    state.runtime = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = here + "ort/ort.wasm.min.js";
      script.onload = () => {
        window.ort.env.wasm.wasmPaths = here + "ort/";
        window.ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a Space page does not have
        resolve(window.ort);
      };
      script.onerror = () => reject(new Error("could not load " + script.src));
      document.head.appendChild(script);
    });
    return state.runtime;
  }

  function currentSpec() {
    const box = document.querySelector("#local-decode-spec textarea, #local-decode-spec input");
    const text = box ? box.value : "";
    if (text !== state.specText) {
      state.specText = text;
      try {
        state.spec = text ? JSON.parse(text) : null;
      } catch (err) {
        state.spec = null;
      }
      if (state.spec && state.spec.decoder !== state.sessionUrl) prepare(state.spec.decoder);
    }
    return state.spec;
  }

  function prepare(url) {
    if (typeof WebAssembly !== "object") return;
    state.session = null;
    state.sessionUrl = url;
    state.loading = loadRuntime()
      .then((ort) => ort.InferenceSession.create(new URL(url, document.baseURI).href, { executionProviders: ["wasm"] }))
      .then((session) => {
        if (state.sessionUrl === url) state.session = session;
      })
      .catch((err) => {
        stats.failures += 1;
        stats.lastError = String(err);
        if (state.sessionUrl === url) state.sessionUrl = null;
      });
  }

  // the page can decode this model's drags: a spec with a decoder, loaded
  function active() {
    const spec = currentSpec();
    return !!(spec && state.session && state.sessionUrl === spec.decoder);
  }

  function latent(spec) {
    const z = Float64Array.from(spec.latent);
    spec.slots.forEach((slot, i) => {
      if (!slot) return;
      const range = document.querySelector(`#latent-slider-${i} input[type=range]`);
      if (!range) return;
      const shift = parseFloat(range.value) - slot.at;
      if (!Number.isFinite(shift) || shift === 0) return;
      for (let d = 0; d < z.length; d++) z[d] += shift * slot.direction[d];
    });
    return Float32Array.from(z);
  }

  function draw(image, shape) {
    const [channels, height, width] = shape;
    const pixels = new Uint8ClampedArray(width * height * 4);
    const plane = width * height;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const v = image[(channels === 1 ? 0 : c) * plane + p];
        pixels[p * 4 + c] = Math.round(Math.min(Math.max(v, 0), 1) * 255);
      }
      pixels[p * 4 + 3] = 255;
    }
    const img = document.querySelector("#slider-decoded img");
    if (img) {
      const canvas = overlay(img);
      canvas.width = width;
      canvas.height = height;
      canvas.getContext("2d").putImageData(new ImageData(pixels, width, height), 0, 0);
      canvas.style.display = "block";
    }
    stats.lastPixels = { width, height, data: Array.from(pixels) };
  }

  // a canvas over the Decoded image, drawn synchronously (no PNG to encode and decode per tick); hidden again as soon
  // as the server's picture loads, which on release is the same pixels
  function overlay(img) {
    let canvas = img.parentElement.querySelector("canvas.latent-lab-local");
    if (!canvas) {
      canvas = document.createElement("canvas");
      canvas.className = "latent-lab-local";
      canvas.style.cssText = "position:absolute;object-fit:contain;image-rendering:pixelated;pointer-events:none";
      img.insertAdjacentElement("afterend", canvas);
      img.addEventListener("load", () => (canvas.style.display = "none"));
    }
    Object.assign(canvas.style, { left: img.offsetLeft + "px", top: img.offsetTop + "px", width: img.offsetWidth + "px", height: img.offsetHeight + "px" });
    return canvas;
  }

  async function decode() {
    if (state.busy) {
      state.again = true; // the newest values are decoded as soon as this decode ends; stale ticks are dropped
      return;
    }
    state.busy = true;
    try {
      do {
        state.again = false;
        const spec = state.spec;
        const z = latent(spec);
        const out = await state.session.run({ z: new window.ort.Tensor("float32", z, [1, z.length]) });
        if (spec !== state.spec) continue; // the model or latent changed meanwhile
        draw(out.image.data, spec.shape);
        stats.local += 1;
        stats.lastLatent = Array.from(z);
        window.dispatchEvent(new CustomEvent("latent-lab-decoded"));
      } while (state.again);
    } catch (err) {
      stats.failures += 1;
      stats.lastError = String(err);
    } finally {
      state.busy = false;
    }
  }

  // While the pointer holds a slider, the page decodes each tick and the tick stops here: Gradio's own per-tick work
  // (gathering 37 inputs, a server call) cost about 40 ms of the page's main thread here, which capped the frame
  // rate. On release one input event goes through, so Gradio takes the final value, and its release event decodes
  // it on the server. Keyboard moves (no pointer held) go to the server as before.
  const held = { range: null };
  function sliderOf(target) {
    return target instanceof HTMLInputElement && target.type === "range" && target.closest("[id^=latent-slider-]") ? target : null;
  }
  // the page decodes this drag's ticks itself (the server's per-tick listener then does nothing: ui/sliders.py)
  function decodesTicks() {
    return held.range !== null && active();
  }
  document.addEventListener("pointerdown", (event) => (held.range = sliderOf(event.target)), true);
  document.addEventListener(
    "input",
    (event) => {
      if (event.latentLabFinal || !sliderOf(event.target) || held.range !== event.target || !active()) return;
      decode();
      event.stopImmediatePropagation();
    },
    true,
  );
  document.addEventListener(
    "pointerup",
    () => {
      const range = held.range;
      if (range && active()) {
        const final = new Event("input", { bubbles: true });
        final.latentLabFinal = true; // Gradio's copy of the value catches up before its release event reads it
        range.dispatchEvent(final);
      }
      held.range = null;
    },
    true,
  );
  // (a textbox's value changes without a DOM mutation to observe: poll it, it costs a string compare)
  setInterval(currentSpec, 300);

  window.latentLab = { active, decodesTicks, stats, ready: () => state.loading || Promise.resolve() };
})();
