// Latent Lab: draw a latent slider's drag ticks without a Gradio call (README: "What runs where").
//
// Two places draw this way (SITES): the Latent sliders tab, and the Attribute tab's strength slider (one slot: the
// chosen vector). For each, the server puts a spec into a hidden textbox whenever its sliders are rebuilt: the model, the
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
  const SITES = [
    { spec: "#local-decode-spec", image: "#slider-decoded img", range: (i) => `#latent-slider-${i} input[type=range]`, owner: "[id^=latent-slider-]" },
    { spec: "#attribute-decode-spec", image: "#attribute-edited img", range: () => "#attribute-strength input[type=range]", owner: "#attribute-strength" },
  ].map((site) => ({ ...site, specText: "", parsed: null }));
  const state = { session: null, sessionUrl: null, loading: null, busy: false, again: false, canvas: null };
  const stats = {
    local: 0,
    server: 0,
    failures: 0,
    lastError: null,
    // the last picture drawn, read back from the canvas only when asked (the tests compare it with the server's)
    get lastPixels() {
      const canvas = state.canvas;
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

  function currentSpec(site = SITES[0]) {
    const box = document.querySelector(`${site.spec} textarea, ${site.spec} input`);
    const text = box ? box.value : "";
    if (text !== site.specText) {
      site.specText = text;
      try {
        site.parsed = text ? JSON.parse(text) : null;
      } catch (err) {
        site.parsed = null;
      }
      if (site.parsed && site.parsed.decoder && site.parsed.decoder !== state.sessionUrl) prepare(site.parsed.decoder);
    }
    return site.parsed;
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

  // the page draws this site's drag ticks itself (decoded here or fetched from the decode route); default: the sliders tab
  function active(site = SITES[0]) {
    return !!currentSpec(site);
  }

  // the page decodes them itself: the model's decoder has loaded
  function local(site = SITES[0]) {
    const spec = currentSpec(site);
    return !!(spec && spec.decoder && state.session && state.sessionUrl === spec.decoder);
  }

  function latent(site, spec) {
    const z = Float64Array.from(spec.latent);
    spec.slots.forEach((slot, i) => {
      if (!slot) return;
      const range = document.querySelector(site.range(i));
      if (!range) return;
      const shift = parseFloat(range.value) - slot.at;
      if (!Number.isFinite(shift) || shift === 0) return;
      for (let d = 0; d < z.length; d++) z[d] += shift * slot.direction[d];
    });
    return Float32Array.from(z);
  }

  // the picture of latent z: decoded in the page (ImageData) when the decoder has loaded, else from the server's decode
  // route (ImageBitmap)
  async function picture(site, spec, z) {
    if (local(site)) {
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

  function draw(site, source) {
    const img = document.querySelector(site.image);
    if (!img) return;
    const canvas = overlay(img);
    state.canvas = canvas;
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
        const site = held.site;
        const spec = site && site.parsed;
        if (!spec) break;
        const z = latent(site, spec);
        const source = await picture(site, spec, z);
        // the model or latent changed meanwhile, or the slider was let go: the server's picture of the final values is coming
        if (spec !== site.parsed || held.range === null) continue;
        draw(site, source);
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
  const held = { range: null, site: null };
  function siteOf(target) {
    const range = target instanceof HTMLInputElement && target.type === "range";
    return range ? SITES.find((site) => target.closest(site.owner)) || null : null;
  }
  // the page draws this drag's ticks itself (the server's per-tick listener then does nothing: ui/sliders.py)
  function decodesTicks() {
    return held.range !== null && active(held.site);
  }
  document.addEventListener(
    "pointerdown",
    (event) => {
      held.site = siteOf(event.target);
      held.range = held.site ? event.target : null;
    },
    true,
  );
  document.addEventListener(
    "input",
    (event) => {
      if (event.latentLabFinal || held.range !== event.target || !held.site || !active(held.site)) return;
      decode();
      event.stopImmediatePropagation();
    },
    true,
  );
  document.addEventListener(
    "pointerup",
    () => {
      const range = held.range;
      if (range && active(held.site)) {
        const final = new Event("input", { bubbles: true });
        final.latentLabFinal = true; // Gradio's copy of the value catches up before its release event reads it
        range.dispatchEvent(final);
      }
      held.range = null;
    },
    true,
  );
  // (a textbox's value changes without a DOM mutation to observe: poll it, it costs a string compare)
  setInterval(() => SITES.forEach((site) => currentSpec(site)), 300);

  // active(1), local(1): the Attribute tab's strength slider
  window.latentLab = {
    active: (i = 0) => active(SITES[i]),
    local: (i = 0) => local(SITES[i]),
    decodesTicks,
    stats,
    ready: () => state.loading || Promise.resolve(),
  };
})();
