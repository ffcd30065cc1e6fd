// Front end of mnist_helpers.canvas.DigitCanvas (an anywidget ES module).
// Strokes are drawn here with Pointer Events; Python only hears about a drawing when a stroke ends.

const SIZE = 280; // CSS pixels; the model only ever sees a 28 x 28 version
const PEN_WIDTH = 20; // about one MNIST stroke (2 to 3 of 28 pixels) at this size
const INK = "#111";

function element(tag, className, attributes = {}) {
  const node = document.createElement(tag);
  node.className = className;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function percent(probability) {
  return `${Math.round(probability * 100)}%`;
}

function render({ model, el }) {
  const root = element("div", "dc-root", { "data-testid": "digit-canvas", "data-updates": "0" });

  // Drawing side: the canvas, Clear, and the "unsure" threshold.
  const pad = element("div", "dc-pad");
  const canvas = element("canvas", "dc-canvas", { "data-testid": "canvas" });
  const controls = element("div", "dc-controls");
  const clear = element("button", "dc-clear", { "data-testid": "clear", type: "button" });
  clear.textContent = "Clear";
  const thresholdLabel = element("label", "dc-threshold");
  const threshold = element("input", "dc-threshold-input", {
    "data-testid": "unsure-below",
    type: "range",
    min: "0",
    max: "1",
    step: "0.05",
  });
  const thresholdValue = element("span", "dc-threshold-value");
  thresholdLabel.append("unsure below ", threshold, thresholdValue);
  controls.append(clear, thresholdLabel);
  pad.append(canvas, controls);

  // Answer side: digit, status, top-3 bars, and the 28 x 28 image the model saw.
  const answer = element("div", "dc-answer");
  const headline = element("div", "dc-headline");
  const digit = element("span", "dc-digit", { "data-testid": "digit" });
  const badge = element("span", "dc-badge", { "data-testid": "badge" });
  headline.append(digit, badge);
  const status = element("div", "dc-status", { "data-testid": "status", "aria-live": "polite" });
  const bars = element("div", "dc-bars", { "data-testid": "bars" });
  const figure = element("figure", "dc-figure");
  const modelInput = element("img", "dc-model-input", {
    "data-testid": "model-input",
    alt: "the 28 x 28 image the model saw",
  });
  const frame = element("div", "dc-input-frame");
  frame.append(modelInput);
  const caption = element("figcaption", "dc-caption");
  caption.textContent = "what the model sees (28 × 28)";
  figure.append(frame, caption);
  answer.append(headline, status, bars, figure);
  root.append(pad, answer);
  el.append(root);

  // Back the canvas with device pixels so strokes stay sharp on HiDPI screens.
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  canvas.width = Math.round(SIZE * ratio);
  canvas.height = Math.round(SIZE * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = PEN_WIDTH;
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;

  let activePointer = null; // one stroke at a time: a second finger is ignored
  let last = null;

  function point(event) {
    // The canvas may be shrunk by CSS on narrow screens: map back to the 280 x 280 space.
    const box = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * SIZE) / box.width,
      y: ((event.clientY - box.top) * SIZE) / box.height,
    };
  }

  function dot(p) {
    ctx.beginPath();
    ctx.arc(p.x, p.y, PEN_WIDTH / 2, 0, 2 * Math.PI);
    ctx.fill();
  }

  function segment(from, to) {
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  }

  function send(dataUrl) {
    // Backbone ignores a value equal to the current one, so only wait for answers that will come.
    if (dataUrl === model.get("drawing_png")) return;
    root.dataset.pending = "true";
    model.set("drawing_png", dataUrl);
    model.save_changes();
  }

  function onDown(event) {
    if (activePointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    activePointer = event.pointerId;
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    dot(last);
  }

  function onMove(event) {
    if (event.pointerId !== activePointer) return;
    // Coalesced events keep fast strokes smooth when the browser batches pointer moves.
    const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const e of coalesced.length ? coalesced : [event]) {
      const p = point(e);
      segment(last, p);
      last = p;
    }
  }

  function onEnd(event) {
    if (event.pointerId !== activePointer) return;
    activePointer = null;
    last = null;
    send(canvas.toDataURL("image/png"));
  }

  function wipe() {
    ctx.clearRect(0, 0, SIZE, SIZE);
  }

  function onClear() {
    wipe(); // at once, without waiting for the kernel
    model.send({ type: "clear" });
  }

  function onMessage(message) {
    if (message && message.type === "clear") wipe(); // Python's clear(), or Clear in another view
  }

  function showThreshold() {
    const value = model.get("unsure_below");
    threshold.value = String(value);
    thresholdValue.textContent = value.toFixed(2);
  }

  function onThresholdInput() {
    thresholdValue.textContent = Number(threshold.value).toFixed(2);
  }

  function onThresholdChange() {
    model.set("unsure_below", Number(threshold.value));
    model.save_changes();
  }

  function showResult() {
    const result = model.get("result");
    const known = result.digit !== null && result.digit !== undefined;
    root.dataset.status = result.status;
    delete root.dataset.pending;
    root.dataset.updates = String(Number(root.dataset.updates) + 1);
    digit.textContent = known ? String(result.digit) : "–";
    badge.textContent = result.status === "unsure" ? "unsure" : "";
    status.textContent = result.message;
    bars.replaceChildren(
      ...(result.top || []).map(({ digit: d, probability }) => {
        const row = element("div", "dc-bar-row", { "data-testid": "bar", "data-digit": String(d) });
        const label = element("span", "dc-bar-label");
        label.textContent = String(d);
        const track = element("div", "dc-bar-track");
        const fill = element("div", "dc-bar-fill");
        fill.style.width = percent(probability);
        track.append(fill);
        const value = element("span", "dc-bar-value");
        value.textContent = percent(probability);
        row.append(label, track, value);
        return row;
      }),
    );
    if (result.model_input) modelInput.src = result.model_input;
    else modelInput.removeAttribute("src");
  }

  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerup", onEnd);
  canvas.addEventListener("pointercancel", onEnd);
  clear.addEventListener("click", onClear);
  threshold.addEventListener("input", onThresholdInput);
  threshold.addEventListener("change", onThresholdChange);
  model.on("change:result", showResult);
  model.on("change:unsure_below", showThreshold);
  model.on("msg:custom", onMessage);
  showThreshold();
  showResult();

  return () => {
    model.off("change:result", showResult);
    model.off("change:unsure_below", showThreshold);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
