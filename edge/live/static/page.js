// The live aiming page: fetches the newest frame (at most max_fps a second) and the figures
// document (twice a second, just after a frame has arrived, so the figures are that frame's)
// from the unit, with the session cookie; read-only.
"use strict";

const $ = (id) => document.getElementById(id);
const STATE_EVERY_MS = 500;
let frameInterval = 1000 / 6;
let shown = 0;
let closed = false;
let askedAt = 0;
let stateAt = -STATE_EVERY_MS;
let statePending = false;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function fill(dl, rows) {
  dl.replaceChildren();
  for (const [name, value, cls] of rows) {
    dl.append(el("dt", name), el("dd", value, cls));
  }
}

function sessionOver(message) {
  closed = true;
  $("health").textContent = message;
  $("health").className = "badge bad";
}

const frame = $("frame");
frame.onload = () => {
  shown += 1;
  $("frames-shown").textContent = String(shown);
  $("frames-shown").dataset.count = String(shown);
  $("frame-note").textContent = "";
  setTimeout(nextFrame, Math.max(0, frameInterval - (performance.now() - askedAt)));
  maybeState();
};
frame.onerror = () => {
  // no frame yet (the pipeline has only just been asked), or the session is over
  if (!closed) setTimeout(nextFrame, 500);
};
function nextFrame() {
  if (closed) return;
  askedAt = performance.now();
  frame.src = "/frame.jpg?n=" + Date.now();
}

function showPlates(state) {
  const body = $("plates").tBodies[0];
  body.replaceChildren();
  const plates = state.frame ? state.frame.plates : [];
  for (const plate of plates) {
    const row = el("tr");
    row.dataset.plate = plate.text;
    row.append(
      el("td", plate.text || "?", "vrm"),
      el("td", plate.confidence.toFixed(2)),
      el("td", plate.height_px + " px (" + plate.size + ")", plate.size.replace(" ", "-")),
      el("td", plate.sharpness.toFixed(0)),
    );
    body.append(row);
  }
  const size = state.plate_size;
  $("size-hint").textContent =
    "plates are found from " + size.min_px + " to " + size.max_px + " px high and read " +
    "best from " + size.native_px + " px; sharpness: turn the focus for the highest plate figure";
}

function showFigures(state) {
  const f = state.frame;
  if (!f) return;
  const exposure = f.exposure_us === null ? "not reported by this source" : f.exposure_us + " µs";
  const gain = f.analogue_gain === null ? "not reported" : String(f.analogue_gain);
  const clipped = f.clipped_white > 0.05 ? "bad" : "";
  fill($("figures"), [
    ["frame", f.index + " (" + f.size[0] + "×" + f.size[1] + ")"],
    ["sharpness", f.sharpness.toFixed(0) + " over the frame"],
    ["brightness", f.brightness.toFixed(0) + "/255"],
    ["clipped", (100 * f.clipped_white).toFixed(1) + "% white, " +
      (100 * f.clipped_black).toFixed(1) + "% black", clipped],
    ["exposure", exposure],
    ["gain", gain],
  ]);
}

function showReads(state) {
  const list = $("reads");
  list.replaceChildren();
  for (const read of state.reads) {
    const item = el("li");
    item.dataset.vrm = read.vrm;
    if (read.patch) {
      const patch = el("img");
      patch.src = read.patch;
      patch.alt = "plate patch of " + read.vrm;
      item.append(patch);
    }
    const text = el("div");
    text.append(el("span", read.vrm, "vrm"));
    if (read.hit) text.append(el("span", " HIT", "hit"));
    text.append(el("div", read.confidence.toFixed(2) + " · " + read.captured_at.slice(11, 19) +
      " UTC · " + read.frames + " frames", "detail"));
    item.append(text);
    list.append(item);
  }
}

function showHealth(state) {
  const h = state.health;
  const badge = $("health");
  if (h.problems.length === 0) {
    badge.textContent = (h.state || "?") + " · all well";
    badge.className = "badge good";
  } else {
    badge.textContent = (h.state || "?") + " · " + h.problems.join(", ");
    badge.className = "badge bad";
  }
  const fps = state.fps;
  $("rates").textContent = "camera " + fps.camera + " fps · pipeline " + fps.pipeline +
    " fps · page " + fps.page + " fps";
  $("session").textContent = state.session.until ? "page open until " + state.session.until : "";
  const backlog = h.backlog || {};
  fill($("health-figures"), [
    ["broker", h.broker_connected === false ? "not connected" : "connected",
      h.broker_connected === false ? "bad" : ""],
    ["to send", (backlog.hits ?? "?") + " hits, " + (backlog.reads ?? "?") + " reads"],
    ["hotlists", Object.entries(h.hotlists || {}).map(([k, v]) => k + " v" + v).join(", ") ||
      "none yet"],
    ["dropped", String(h.frames_dropped ?? "?") + " frames"],
    ["disk free", h.disk_free_mb === null || h.disk_free_mb === undefined ? "?" :
      h.disk_free_mb + " MB"],
    ["CPU", h.cpu_temp_c === null || h.cpu_temp_c === undefined ? "?" : h.cpu_temp_c + " °C"],
  ]);
}

function maybeState() {
  if (!closed && !statePending && performance.now() - stateAt >= STATE_EVERY_MS) pollState();
}

async function pollState() {
  statePending = true;
  stateAt = performance.now();
  try {
    const answer = await fetch("/state.json", { cache: "no-store", credentials: "same-origin" });
    if (answer.status === 401 || answer.status === 403) {
      sessionOver("session over: run anpr-edge camera live for a new address");
      return;
    }
    if (answer.ok) {
      const state = await answer.json();
      if (state.session.max_fps) frameInterval = 1000 / state.session.max_fps;
      showPlates(state);
      showFigures(state);
      showReads(state);
      showHealth(state);
    }
  } catch (error) {
    $("health").textContent = "unit not answering";
    $("health").className = "badge bad";
  } finally {
    statePending = false;
  }
}

nextFrame();
setInterval(maybeState, STATE_EVERY_MS); // also while no frame comes

