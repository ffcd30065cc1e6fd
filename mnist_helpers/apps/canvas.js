// Front end of mnist_helpers.apps.canvas.DigitCanvas (an anywidget ES module).
// Strokes are drawn here with Pointer Events; Python only hears about a drawing when a stroke ends.
//
// Model contract with DigitCanvas in canvas.py. tests/test_canvas.py reads the "contract:" lines
// and checks them against the widget's synced traits, its message types, the result it publishes,
// and the model.get / model.set / model.send calls in this file: change both sides together.
//
// contract: trait canvas_size python->page  int: side of the square canvas in CSS pixels (fixed)
// contract: trait drawing_png page->python  PNG data URL of the whole canvas when a stroke ends
// contract: trait unsure_below both         float in [0, 1]: the threshold control's value
// contract: trait number_mode both          bool: read every digit of the drawing (a number)
// contract: trait result python->page       the answer to render (keys and statuses below)
// contract: message clear both              {type: "clear"}; to Python: Clear was pressed;
//                                           to the page: wipe the strokes (clear() or another view)
// contract: result status digit guess probabilities top message model_input unsure_below answer
// contract: result number
// contract: status digit unsure not_a_digit blank error
//
// result.digit is the answer (null unless status is digit or unsure), guess the most probable
// digit whatever the status, top [{digit, probability}] (all ten, most likely first; empty when
// blank), model_input a PNG data URL of the 28 x 28 image the model saw ("" when none),
// unsure_below the threshold this answer was read with (null when nothing was read), answer a
// counter that changes with every answer, so the page also hears an answer equal to the last one.
// number is "" except in number mode, where it is the number read ("2?26": ? where a digit is not
// read surely), model_input then shows each digit's 28 x 28 side by side and top is empty.

const ONE_INPUT = "what the model sees (28 × 28)";
const INPUT_PER_DIGIT = "what the model sees (28 × 28 per digit)";
const PEN_WIDTH_OF_SIDE = 1 / 14; // about one MNIST stroke (2 of 28 pixels)
const INK = "#111";
// "4 or 9" when unsure: the top digits (up to three) that hold at least a tenth of the belief, so
// a digit the model all but rules out is not offered as a candidate.
const MAX_CANDIDATES = 3;
const CANDIDATE_AT_LEAST = 0.1;
// Keys that must reach the threshold control and not JupyterLab, whose command mode would move
// between cells or collapse the notebook's section on arrow keys.
const KEY_EVENTS = ["keydown", "keyup", "keypress"];
// An answer that arrives this soon after a pen-up, while the drawing may still be growing, is
// shown as provisional (greyed, "still drawing?") rather than as a red "not a digit".
const PROVISIONAL_MS = 700;
// No answer this long after sending a drawing: the kernel is busy, or it restarted and this
// widget is no longer connected to it. The page says so instead of looking alive.
const NO_ANSWER_MS = 10_000;

function element(tag, className, attributes = {}) {
  const node = document.createElement(tag);
  node.className = className;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function percent(probability) {
  return `${Math.round(probability * 100)}%`;
}

// ---- DOM -------------------------------------------------------------------------------------

function buildDrawingSide() {
  const pad = element("div", "dc-pad");
  const canvas = element("canvas", "dc-canvas", { "data-testid": "canvas" });
  const controls = element("div", "dc-controls");
  const clear = element("button", "dc-clear", { "data-testid": "clear", type: "button" });
  clear.textContent = "Clear";
  const undo = element("button", "dc-clear dc-undo", { "data-testid": "undo", type: "button" });
  undo.textContent = "Undo stroke";
  const thresholdLabel = element("label", "dc-threshold");
  const threshold = element("input", "dc-threshold-input", {
    "data-testid": "unsure-below",
    type: "range",
    min: "0",
    max: "1",
    step: "0.05",
    tabindex: "0",
    "aria-label": "unsure below this top probability",
    "data-lm-suppress-shortcuts": "true", // Lumino checks the focused element itself first
  });
  const thresholdValue = element("span", "dc-threshold-value");
  thresholdLabel.append("unsure below ", threshold, thresholdValue);
  const numberLabel = element("label", "dc-number");
  const numberMode = element("input", "dc-number-input", {
    "data-testid": "number-mode",
    type: "checkbox",
  });
  numberLabel.append(numberMode, " a number (several digits)");
  controls.append(clear, undo, thresholdLabel, numberLabel);
  pad.append(canvas, controls);
  return { pad, canvas, clear, undo, threshold, thresholdValue, numberMode };
}

function buildAnswerSide() {
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
  caption.textContent = ONE_INPUT;
  figure.append(frame, caption);
  answer.append(headline, status, bars, figure);
  return { answer, digit, badge, status, bars, modelInput, caption };
}

function buildDom(el, size) {
  // data-lm-suppress-shortcuts: JupyterLab and Notebook 7 (Lumino) then leave the keys pressed
  // in the widget to it, instead of reading arrows as "next cell" or "collapse the heading".
  const root = element("div", "dc-root", {
    "data-testid": "digit-canvas",
    "data-updates": "0",
    "data-lm-suppress-shortcuts": "true",
  });
  root.style.setProperty("--dc-size", `${size}px`); // canvas.css sizes the canvas from it
  const drawing = buildDrawingSide();
  const answerSide = buildAnswerSide();
  root.append(drawing.pad, answerSide.answer);
  el.append(root);
  return { root, ...drawing, ...answerSide };
}

// ---- drawing context -------------------------------------------------------------------------

function drawingContext(canvas, size) {
  // Back the canvas with device pixels so strokes stay sharp on HiDPI screens.
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  canvas.width = Math.round(size * ratio);
  canvas.height = Math.round(size * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = size * PEN_WIDTH_OF_SIDE;
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  return ctx;
}

function wipe(ctx, size) {
  ctx.clearRect(0, 0, size, size);
}

// Draws ``strokes`` again from their points (after Undo took the last one away).
function redraw(ctx, size, strokes) {
  wipe(ctx, size);
  for (const points of strokes) {
    ctx.beginPath();
    ctx.arc(points[0].x, points[0].y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    ctx.beginPath();
    ctx.moveTo(points[0].x, points[0].y);
    for (const p of points.slice(1)) ctx.lineTo(p.x, p.y);
    ctx.stroke();
  }
}

// ---- pen -------------------------------------------------------------------------------------

// Draws strokes with mouse, pen or finger; calls onStrokeEnd() when one ends, and keeps every
// stroke's points in ``strokes`` (for Undo). Returns a detach.
function attachPen(canvas, ctx, size, strokes, onStrokeEnd) {
  let activePointer = null; // one stroke at a time: a second finger is ignored
  let last = null;

  function point(event) {
    // The canvas may be shrunk by CSS on narrow screens: map back to the size x size space.
    const box = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * size) / box.width,
      y: ((event.clientY - box.top) * size) / box.height,
    };
  }

  function dot(p) {
    ctx.beginPath();
    ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
  }

  function segment(from, to) {
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  }

  function onDown(event) {
    if (activePointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    activePointer = event.pointerId;
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    strokes.push([last]);
    dot(last);
  }

  function onMove(event) {
    if (event.pointerId !== activePointer) return;
    // Coalesced events keep fast strokes smooth when the browser batches pointer moves.
    const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const e of coalesced.length ? coalesced : [event]) {
      const p = point(e);
      segment(last, p);
      strokes[strokes.length - 1].push(p);
      last = p;
    }
  }

  function onEnd(event) {
    if (event.pointerId !== activePointer) return;
    activePointer = null;
    last = null;
    onStrokeEnd();
  }

  const handlers = Object.entries({
    pointerdown: onDown,
    pointermove: onMove,
    pointerup: onEnd,
    pointercancel: onEnd,
  });
  for (const [name, handler] of handlers) canvas.addEventListener(name, handler);
  return () => {
    for (const [name, handler] of handlers) canvas.removeEventListener(name, handler);
  };
}

// ---- threshold control -----------------------------------------------------------------------

// Keeps the range input and model's unsure_below in step; onSent() runs when a new value is sent
// to Python. Returns a detach.
function attachThreshold(model, threshold, thresholdValue, onSent) {
  function show() {
    const value = model.get("unsure_below");
    threshold.value = String(value);
    thresholdValue.textContent = value.toFixed(2);
  }

  function onInput() {
    thresholdValue.textContent = Number(threshold.value).toFixed(2);
  }

  function onChange() {
    model.set("unsure_below", Number(threshold.value));
    model.save_changes();
    onSent();
  }

  function keepKey(event) {
    event.stopPropagation(); // the browser still moves the slider: nothing is prevented
  }

  threshold.addEventListener("input", onInput);
  threshold.addEventListener("change", onChange);
  for (const name of KEY_EVENTS) threshold.addEventListener(name, keepKey);
  model.on("change:unsure_below", show);
  show();
  return () => model.off("change:unsure_below", show);
}

// ---- number mode -----------------------------------------------------------------------------

// Keeps the checkbox and model's number_mode in step; Python reads the last drawing again.
function attachNumberMode(model, numberMode, onSent) {
  function show() {
    numberMode.checked = Boolean(model.get("number_mode"));
  }

  function onChange() {
    model.set("number_mode", numberMode.checked);
    model.save_changes();
    onSent();
  }

  numberMode.addEventListener("change", onChange);
  model.on("change:number_mode", show);
  show();
  return () => model.off("change:number_mode", show);
}

// ---- result ----------------------------------------------------------------------------------

// The big text: the digit, the candidates when unsure, "?" when it is probably not a digit.
function headlineText(result) {
  if (result.number) return result.number; // number mode: the digits read, ? where unsure
  if (result.status === "not_a_digit") return "?";
  if (result.status === "unsure" && (result.top || []).length > 0) {
    const [first, ...others] = result.top.slice(0, MAX_CANDIDATES);
    const candidates = [first, ...others.filter((row) => row.probability >= CANDIDATE_AT_LEAST)];
    return candidates.map((row) => String(row.digit)).join(" or ");
  }
  const known = result.digit !== null && result.digit !== undefined;
  return known && result.status !== "blank" ? String(result.digit) : "–";
}

function badgeText(status) {
  if (status === "unsure") return "unsure";
  if (status === "not_a_digit") return "not a digit";
  return "";
}

function barRow({ digit, probability }) {
  const row = element("div", "dc-bar-row", {
    "data-testid": "bar",
    "data-digit": String(digit),
    "data-probability": String(probability),
  });
  const label = element("span", "dc-bar-label");
  label.textContent = String(digit);
  const track = element("div", "dc-bar-track");
  const fill = element("div", "dc-bar-fill");
  fill.style.width = percent(probability);
  track.append(fill);
  const value = element("span", "dc-bar-value");
  value.textContent = percent(probability);
  row.append(label, track, value);
  return row;
}

function renderResult(parts, result, provisional) {
  const { root, digit, badge, status, bars, modelInput, caption } = parts;
  root.dataset.status = result.status;
  if (provisional) root.dataset.provisional = "true";
  else delete root.dataset.provisional;
  delete root.dataset.pending;
  root.dataset.updates = String(Number(root.dataset.updates) + 1);
  digit.textContent = headlineText(result);
  badge.textContent = badgeText(result.status);
  status.textContent = result.message;
  if (result.unsure_below === null || result.unsure_below === undefined) {
    delete root.dataset.unsureBelow;
  } else {
    root.dataset.unsureBelow = String(result.unsure_below); // what this answer was read with
  }
  bars.replaceChildren(...(result.top || []).map(barRow));
  if (result.number) root.dataset.number = "true"; // canvas.css widens the model input
  else delete root.dataset.number;
  caption.textContent = result.number ? INPUT_PER_DIGIT : ONE_INPUT;
  if (result.model_input) modelInput.src = result.model_input;
  else modelInput.removeAttribute("src");
}

// ---- wiring ----------------------------------------------------------------------------------

function render({ model, el }) {
  const size = model.get("canvas_size");
  const parts = buildDom(el, size);
  const ctx = drawingContext(parts.canvas, size);
  const strokes = []; // every stroke's points since the last Clear
  let lastPenUp = 0;
  let settle = null; // the timer that drops the provisional mark once the pen has rested
  let waiting = null; // the timer that gives up on an answer (see NO_ANSWER_MS)

  function noAnswer() {
    // The last answer belongs to another drawing: take it down rather than leave it looking alive.
    parts.root.dataset.status = "no-answer";
    parts.digit.textContent = "–";
    parts.badge.textContent = "";
    parts.bars.replaceChildren();
    parts.modelInput.removeAttribute("src");
    parts.status.textContent =
      "no answer from the kernel: if it restarted, run this cell again (if it is busy, wait)";
  }

  function sendDrawing() {
    lastPenUp = performance.now();
    const dataUrl = parts.canvas.toDataURL("image/png");
    // Backbone ignores a value equal to the current one, so only wait for answers that will come.
    if (dataUrl === model.get("drawing_png")) return;
    clearTimeout(waiting);
    waiting = setTimeout(noAnswer, NO_ANSWER_MS);
    parts.root.dataset.pending = "true";
    model.set("drawing_png", dataUrl);
    model.save_changes();
  }

  function onClear() {
    strokes.length = 0;
    wipe(ctx, size); // at once, without waiting for the kernel
    model.send({ type: "clear" });
  }

  function onUndo() {
    strokes.pop();
    if (strokes.length === 0) onClear();
    else {
      redraw(ctx, size, strokes);
      sendDrawing();
    }
  }

  function onMessage(message) {
    if (message && message.type === "clear") {
      strokes.length = 0; // clear(), or Clear in another view
      wipe(ctx, size);
    }
  }

  function onResult() {
    clearTimeout(waiting);
    const result = model.get("result");
    // A "not a digit" right after a pen-up may be a digit half drawn: greyed until the pen rests.
    const waited = performance.now() - lastPenUp;
    const provisional = result.status === "not_a_digit" && waited < PROVISIONAL_MS;
    renderResult(parts, result, provisional);
    clearTimeout(settle);
    if (provisional) {
      settle = setTimeout(() => {
        if (performance.now() - lastPenUp >= PROVISIONAL_MS) delete parts.root.dataset.provisional;
      }, PROVISIONAL_MS - waited);
    }
  }

  const detachPen = attachPen(parts.canvas, ctx, size, strokes, sendDrawing);
  function onThresholdSent() {
    // Python relabels the last drawing, if there is one: show the answer as outdated until then.
    if ("unsureBelow" in parts.root.dataset) parts.root.dataset.pending = "true";
  }

  const detachThreshold = attachThreshold(
    model,
    parts.threshold,
    parts.thresholdValue,
    onThresholdSent,
  );
  const detachNumberMode = attachNumberMode(model, parts.numberMode, onThresholdSent);
  parts.clear.addEventListener("click", onClear);
  parts.undo.addEventListener("click", onUndo);
  model.on("change:result", onResult);
  model.on("msg:custom", onMessage);
  onResult();

  return () => {
    clearTimeout(settle);
    clearTimeout(waiting);
    detachPen();
    detachThreshold();
    detachNumberMode();
    model.off("change:result", onResult);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
