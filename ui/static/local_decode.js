// Latent Lab: draw a latent slider's drag ticks without a Gradio call (README: "What runs where").
//
// The server puts a spec into the hidden #local-decode-spec textbox whenever the sliders are rebuilt: the model, the
// current latent, for each slider of the pool its affine map (latent = base + sum_i (value_i - at_i) * direction_i,
// latent.slider_axes), the decoder's URL (an ONNX file exported beside the weights, models/export.py; null if none)
// and the server's decode route (ui/routes.py). On every drag tick this script reads the sliders, works out the latent
// and draws its picture on a canvas laid over the Decoded image: decoded in the page with ONNX Runtime Web's WASM
// backend (served by the app from ui/static/ort, no CDN) once the decoder has loaded, else fetched from the decode
// route (one HTTP request, no queue). The server is told the final values on release; its image (the same pixels
// within 1/255) then loads and the canvas hides. No spec (a model whose decoder takes a condition): this script does
// nothing and every tick goes to the server through Gradio, as for every other tab.
(() => {
  "use strict";
  const here = document.currentScript ? new URL(".", document.currentScript.src).href : null;
  const state = { specText: "", spec: null, session: null, sessionUrl: null, loading: null, busy: false, again: false };
  const stats = {
    local: 0,
    server: 0,
    failures: 0,
    lastError: null,
    // the last picture drawn, read back from the canvas only when asked (the tests compare it with the server's)
    get lastPixels() {
      const canvas = document.querySelector("#slider-decoded canvas.latent-lab-local");
      if (!canvas || !canvas.width) return null;
      const drawn = canvas.getContext("2d", { willReadFrequently: true }).getImageData(0, 0, canvas.width, canvas.height);
      return { width: drawn.width, height: drawn.height, data: Array.from(drawn.data) };
    },
  };

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
      if (state.spec && state.spec.decoder && state.spec.decoder !== state.sessionUrl) prepare(state.spec.decoder);
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

  // the page draws this model's drag ticks itself (decoded here or fetched from the decode route)
  function active() {
    return !!currentSpec();
  }

  // the page decodes them itself: the model's decoder has loaded
  function local() {
    const spec = currentSpec();
    return !!(spec && spec.decoder && state.session && state.sessionUrl === spec.decoder);
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

  // the picture of latent z: decoded in the page (ImageData) when the decoder has loaded, else from the server's decode
  // route (ImageBitmap)
  async function picture(spec, z) {
    if (local()) {
      const out = await state.session.run({ z: new window.ort.Tensor("float32", z, [1, z.length]) });
      stats.local += 1;
      return imageData(out.image.data, spec.shape);
    }
    const response = await fetch(new URL(spec.render, document.baseURI), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: spec.model, latent: Array.from(z) }),
    });
    if (!response.ok) throw new Error(`${spec.render}: ${response.status} ${await response.text()}`);
    const bitmap = await createImageBitmap(await response.blob());
    stats.server += 1;
    return bitmap;
  }

  // float [C, H, W] in [0, 1] -> RGBA ImageData, rounded as the server's PNG is (data/base.py to_uint8)
  function imageData(image, shape) {
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
    return new ImageData(pixels, width, height);
  }

  function draw(source) {
    const img = document.querySelector("#slider-decoded img");
    if (!img) return;
    const canvas = overlay(img);
    canvas.width = source.width;
    canvas.height = source.height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    if (source instanceof ImageData) context.putImageData(source, 0, 0);
    else context.drawImage(source, 0, 0);
    canvas.style.display = "block";
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
        const source = await picture(spec, z);
        // the model or latent changed meanwhile, or the slider was let go: the server's picture of the final values is coming
        if (spec !== state.spec || held.range === null) continue;
        draw(source);
        window.dispatchEvent(new CustomEvent("latent-lab-decoded"));
      } while (state.again);
    } catch (err) {
      stats.failures += 1;
      stats.lastError = String(err);
    } finally {
      state.busy = false;
    }
  }

  // While the pointer holds a slider, the page draws each tick and the tick stops here: Gradio's own per-tick work
  // (gathering 37 inputs, a server call) cost about 40 ms of the page's main thread here, which capped the frame
  // rate. On release one input event goes through, so Gradio takes the final value, and its release event decodes
  // it on the server. Keyboard moves (no pointer held) go to the server as before.
  const held = { range: null };
  function sliderOf(target) {
    return target instanceof HTMLInputElement && target.type === "range" && target.closest("[id^=latent-slider-]") ? target : null;
  }
  // the page draws this drag's ticks itself (the server's per-tick listener then does nothing: ui/sliders.py)
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

  window.latentLab = { active, local, decodesTicks, stats, ready: () => state.loading || Promise.resolve() };
})();
