// The visualizer's controller: owns the page state (scenario, seed, policies, simulated time),
// drives the simulation worker one request at a time (so pausing always works and the page
// never freezes), and redraws the topology, charts and panels from what core returns.
import scenarios from "virtual:scenarios";
import "./style.css";
import { Charts } from "./charts.js";
import { duration } from "./format.js";
import { decode, encode } from "./share.js";
import { TopologyView } from "./topology.js";
import { analysisView, comparisonTable, differenceTable, ending, explanationView, h, messageView, metricsTable } from "./views.js";

/** Most events each lane runs per animation frame: bounds a frame's work on any scenario. */
const FRAME_BUDGET = 40_000;
/** How often (ms of real time) reports are refreshed while playing. */
const REPORT_EVERY_MS = 800;
const SPEEDS = [...document.querySelectorAll("#speed option")].map((o) => Number(o.value));

const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let nextId = 1;
const pending = new Map();
worker.onmessage = ({ data }) => {
  const p = pending.get(data.id);
  pending.delete(data.id);
  if (data.error !== undefined) p.reject(new Error(data.error));
  else p.resolve(data);
};
worker.onerror = (e) => showError(`the simulation worker failed: ${e.message}`);
/** One request to the worker; replies come in order. */
function call(type, payload = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...payload });
  });
}

const state = {
  file: scenarios[0]?.file ?? "",
  text: scenarios[0]?.text ?? "",
  edited: false,
  seed: null,
  policies: ["scenario", ""],
  lanes: [], // {topology, frame, report, view}
  t: 0, // displayed simulated time, ms
  playing: false,
  looping: false, // the play loop is running (or finishing after a pause)
  busy: false,
  highlight: null,
  lastReport: 0,
  loaded: false,
};
/** Counts loads: a play loop that outlives its scenario must not draw over the next one. */
let generation = 0;
const charts = new Charts($("chart-outcomes"), $("chart-queue"), $("chart-delays"));

function showError(message) {
  const e = $("error");
  e.textContent = message;
  e.hidden = !message;
}

function setStatus(text) {
  $("status").textContent = text;
  $("status").title = text; // in full, when the bar is too narrow for it
}

// ---- scenario picker, policies and editor -------------------------------------------------

for (const s of scenarios) $("scenario").append(h("option", { value: s.file }, `${s.file.replace("scenarios/", "")} — ${s.title}`));
$("scenario").append(h("option", { value: "" }, "(edited text)"));

function namedPolicies(text) {
  return [...text.matchAll(/^\s*\[policies\.("?)([A-Za-z0-9_.-]+)\1\]/gm)].map((m) => m[2]);
}

function fillPolicyOptions(presets) {
  const list = $("policy-options");
  list.replaceChildren(h("option", { value: "scenario" }, "the scenario's own policy"));
  for (const n of namedPolicies(state.text)) list.append(h("option", { value: n }, `[policies.${n}] of the scenario`));
  for (const p of presets ?? []) list.append(h("option", { value: p.name }, `preset: ${p.summary}`));
  list.append(h("option", { value: "scenario:policy.on_code={}" }, "edit: no per-code overrides"));
}

function showAbout() {
  const s = scenarios.find((x) => x.file === state.file && !state.edited);
  const about = $("about");
  about.replaceChildren(h("h2", {}, s ? `What is happening here: ${s.title}` : "Your own scenario"));
  for (const p of s ? s.about : ["Edited text: run it to see what happens."]) about.append(h("p", {}, p));
}

let validateTimer = null;
$("editor").addEventListener("input", () => {
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validateEditor, 300);
});

async function validateEditor() {
  const text = $("editor").value;
  const { result } = await call("validate", { text, file: fileName() });
  const list = $("problems");
  list.replaceChildren();
  $("validity").textContent = result.ok ? "valid" : `${result.problems.length} problem(s)`;
  for (const p of result.problems) {
    const where = p.line ? `line ${p.line}, column ${p.column}: ` : "";
    const li = h("li", { tabindex: 0, "data-line": p.line ?? "" }, `${where}${p.message}${p.help ? `\n  help: ${p.help}` : ""}`);
    li.addEventListener("click", () => goToLine(p.line));
    list.append(li);
  }
}

function goToLine(line) {
  if (!line) return;
  const ta = $("editor");
  const lines = ta.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  ta.focus();
  ta.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
}

function fileName() {
  return state.edited || !state.file ? "scenario.toml" : state.file;
}

// ---- loading and running ------------------------------------------------------------------

/** Loads the current scenario, seed and policies into the worker and draws the start. */
async function load({ seekTo = 0 } = {}) {
  pause();
  generation += 1;
  showError("");
  setStatus("loading…");
  state.busy = true;
  try {
    const seedText = $("seed").value.trim();
    if (seedText && !/^\d{1,19}$/.test(seedText)) throw new Error(`seed "${seedText}" is not a whole number`);
    state.seed = seedText || null;
    state.policies = [$("policy-a").value.trim() || "scenario", $("policy-b").value.trim()];
    const reply = await call("load", { text: state.text, file: fileName(), seed: state.seed, policies: state.policies });
    fillPolicyOptions(reply.presets);
    $("version").textContent = `mxsim ${reply.version}`;
    state.t = 0;
    drawLanes(reply.lanes);
    state.loaded = true;
    showAbout();
    await refreshReports();
    setStatus("ready: press Play");
  } catch (e) {
    state.loaded = false;
    setStatus("not loaded");
    showError(e.message);
  } finally {
    state.busy = false;
    updateTime();
  }
  // A shared link's time: a re-run to it (seek waits for the load above to be done).
  if (state.loaded && seekTo > 0) await seek(seekTo);
  else if (state.loaded) await updateUrl();
}

function laneName(i) {
  return "AB"[i];
}

function drawLanes(lanes) {
  const box = $("lanes");
  box.replaceChildren();
  state.lanes = lanes.map((l, i) => {
    const title = h("h2", {}, `${laneName(i)}: `, h("span", { class: "policy" }, state.policies[i] || "scenario"));
    const pic = h("div", { class: "picture" });
    const metrics = h("div", { class: "metrics" });
    const panel = h("section", { class: "panel lane", "data-lane": laneName(i), "aria-label": `run ${laneName(i)}` }, title, pic, metrics);
    box.append(panel);
    const view = new TopologyView(pic, l.topology, { onHost: (id) => highlight(id), onMessage: (m) => inspect(i, { ids: [m] }) });
    const lane = { topology: l.topology, frame: l.frame, report: null, view, metrics };
    view.update(l.frame, null, state.highlight);
    return lane;
  });
  $("versus").hidden = state.lanes.length < 2;
  $("comparison").replaceChildren();
  const d = state.lanes[0]?.topology.duration_ms;
  $("scrub").max = String(d ?? 86_400_000);
}

function applyFrames(frames) {
  frames.forEach((f, i) => {
    const lane = state.lanes[i];
    lane.frame = f;
    lane.view.update(f, lane.report?.routing, state.highlight);
  });
  if (state.lanes.every((l) => l.frame.done)) {
    // A finished run's clock is its last event (the report's `end_ms`, as `mxsim run` says):
    // the page never shows a time past the end.
    const last = Math.max(...state.lanes.map((l) => l.frame.snapshot.t_ms));
    if (state.t >= last || state.playing) {
      state.t = last;
      if (!state.lanes[0].topology.duration_ms) $("scrub").max = String(last);
    }
  }
}

async function refreshReports() {
  const { reports } = await call("report");
  const parsed = reports.map((r) => JSON.parse(r));
  parsed.forEach((r, i) => {
    const lane = state.lanes[i];
    lane.report = r;
    lane.metrics.replaceChildren(metricsTable(r, laneName(i)));
    lane.view.update(lane.frame, r.routing, state.highlight);
  });
  charts.update(parsed, state.lanes.map((_, i) => laneName(i)), state.lanes[0].topology.delivered_within_ms);
  if (parsed.length > 1) $("diff").replaceChildren(...differenceTable(parsed[0], parsed[1]));
  $("analysis").replaceChildren(...[analysisView(parsed[0], { onHost: highlight, onTime: (t) => seek(t), onCode: explainCode })].flat());
  state.lastReport = performance.now();
}

function updateTime() {
  // Whole seconds past a minute: a clock, not a stopwatch.
  $("time").textContent = duration(state.t >= 60_000 ? Math.floor(state.t / 1000) * 1000 : state.t);
  $("time").setAttribute("data-ms", String(state.t));
  const scrub = $("scrub");
  if (state.t > Number(scrub.max)) scrub.max = String(state.t);
  scrub.value = String(state.t);
  scrub.setAttribute("aria-valuetext", duration(state.t));
  $("play").textContent = state.playing ? "Pause" : "Play";
  $("play").setAttribute("aria-pressed", String(state.playing));
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

/** The play loop: one advance request per animation frame, never two at once, so a pause
 *  takes effect at the next frame whatever the scenario. */
async function runLoop() {
  const started = generation;
  state.looping = true;
  let last = await nextFrame();
  while (state.playing) {
    const now = await nextFrame();
    if (!state.playing) break;
    // At most 0.1 s of real time per frame: a slow frame never makes a big jump.
    const dt = Math.min(0.1, (now - last) / 1000);
    last = now;
    state.busy = true;
    // Whole milliseconds: the clock of the model, and of the shared URL.
    const target = Math.floor(state.t + dt * Number($("speed").value));
    try {
      const reply = await call("advance", { to_ms: target, budget: FRAME_BUDGET });
      // A lane that used its whole budget has not reached the target: show its clock.
      const behind = reply.lanes.some((f) => !f.done && f.ran >= FRAME_BUDGET);
      state.t = behind ? Math.max(state.t, Math.min(...reply.lanes.filter((f) => !f.done).map((f) => f.snapshot.t_ms))) : target;
      applyFrames(reply.lanes);
      if (state.lanes.every((l) => l.frame.done)) {
        state.playing = false;
        await refreshReports();
        setStatus("finished");
        updateUrl();
      } else {
        if (performance.now() - state.lastReport > REPORT_EVERY_MS) await refreshReports();
        if (state.playing) setStatus(behind ? "running (limited by the event budget per frame)" : "running");
      }
    } catch (e) {
      state.playing = false;
      showError(e.message);
    } finally {
      state.busy = false;
      updateTime();
    }
  }
  // Paused: the panels and the URL show the paused time, not the last periodic refresh
  // (unless a new scenario is loading, which draws its own).
  if (generation === started && !state.busy && state.loaded) {
    state.busy = true;
    try {
      await refreshReports();
    } finally {
      state.busy = false;
    }
    await updateUrl();
  }
  state.looping = false;
}

function play() {
  if (!state.loaded || state.busy || state.playing || state.lanes.every((l) => l.frame.done)) return;
  state.playing = true;
  updateTime();
  runLoop();
}

function pause() {
  if (state.playing) {
    state.playing = false;
    setStatus("paused");
    updateTime();
  }
}

/** Runs one request that moves time, then `finish(reply)` (reports, clock, URL), all while
 *  the page is busy: once it is idle again, everything shown belongs to the new time. */
async function moveBy(type, payload, status, finish) {
  if (!state.loaded) return;
  pause();
  while (state.busy) await new Promise((r) => setTimeout(r, 10));
  state.busy = true;
  setStatus(status);
  try {
    const reply = await call(type, payload);
    applyFrames(reply.lanes);
    await finish(reply);
  } catch (e) {
    showError(e.message);
  } finally {
    state.busy = false;
  }
}

async function step(kind) {
  await moveBy("step", { kind }, "stepping…", async (reply) => {
    state.t = reply.lanes[0].snapshot.t_ms;
    await refreshReports();
    setStatus(reply.lanes[0].done ? "finished" : `stepped one ${kind}`);
    updateTime();
    await updateUrl();
  });
}

async function seek(t) {
  const target = Math.max(0, Math.round(t));
  await moveBy("seek", { to_ms: target }, "re-running from the start…", async () => {
    state.t = target;
    await refreshReports();
    setStatus(`at ${duration(target)} (re-run from the start)`);
    updateTime();
    await updateUrl();
  });
}

function highlight(id) {
  state.highlight = state.highlight === id ? null : id;
  for (const lane of state.lanes) lane.view.update(lane.frame, lane.report?.routing, state.highlight);
}

// ---- inspector, comparison, explainer -----------------------------------------------------

async function inspect(lane, pick) {
  $("message").replaceChildren(h("p", { class: "note" }, "tracing (two runs of the whole scenario)…"));
  try {
    const { traced } = await call("trace", { lane, pick });
    if (pick.ids) {
      $("message").replaceChildren(...traced.map((t) => messageView(t, explainCode)));
    } else {
      const list = $("picked");
      list.replaceChildren(...traced.map((t) => h("li", {}, h("button", { type: "button", "data-message": t.message, on: { click: () => $("message").replaceChildren(messageView(t, explainCode)) } }, `#${t.message}: ${ending(t.records)}`))));
      $("message").replaceChildren(traced.length ? messageView(traced[0], explainCode) : h("p", {}, "No message matches."));
    }
  } catch (e) {
    $("message").replaceChildren(h("p", { class: "error" }, e.message));
  }
}

for (const b of document.querySelectorAll("[data-pick]")) {
  b.addEventListener("click", () => {
    const kind = b.getAttribute("data-pick");
    inspect(0, kind === "worst" ? { worst: 10 } : { worst: 10, outcome: kind });
  });
}

$("compare").addEventListener("click", async () => {
  const seeds = Number($("compare-seeds").value);
  const out = $("comparison");
  out.replaceChildren(h("p", { class: "note" }, `running ${seeds} seeds × 2 policies…`));
  try {
    const { comparison } = await call("compare", { seeds, seed: state.seed });
    out.replaceChildren(comparisonTable(comparison));
  } catch (e) {
    out.replaceChildren(h("p", { class: "error" }, e.message));
  }
});

async function explainCode(code) {
  $("code").value = code;
  try {
    const { explanation } = await call("explain", { code });
    $("explanation").replaceChildren(explanationView(explanation, explainCode));
  } catch (e) {
    $("explanation").replaceChildren(h("p", { class: "error" }, e.message));
  }
}
$("explain").addEventListener("click", () => explainCode($("code").value.trim()));
$("code").addEventListener("keydown", (e) => e.key === "Enter" && explainCode($("code").value.trim()));

// ---- the URL ------------------------------------------------------------------------------

async function updateUrl() {
  const hash = await encode({ file: state.file, text: state.edited ? state.text : null, seed: state.seed, a: state.policies[0], b: state.policies[1], t: state.t });
  history.replaceState(null, "", hash);
}

$("share").addEventListener("click", async () => {
  await updateUrl();
  try {
    await navigator.clipboard.writeText(location.href);
    setStatus("link copied");
  } catch {
    setStatus("link is in the address bar");
  }
});

// ---- controls -----------------------------------------------------------------------------

$("play").addEventListener("click", () => (state.playing ? pause() : play()));
$("step-event").addEventListener("click", () => step("event"));
$("step-attempt").addEventListener("click", () => step("attempt"));
$("restart").addEventListener("click", () => seek(0));
$("scrub").addEventListener("change", () => seek(Number($("scrub").value)));
$("load").addEventListener("click", () => load());
$("scenario").addEventListener("change", () => {
  const s = scenarios.find((x) => x.file === $("scenario").value);
  if (!s) return;
  state.file = s.file;
  state.text = s.text;
  state.edited = false;
  $("editor").value = s.text;
  $("seed").value = "";
  $("policy-b").value = "";
  $("policy-a").value = "scenario";
  $("problems").replaceChildren();
  $("validity").textContent = "";
  load();
});
$("run-text").addEventListener("click", () => {
  state.text = $("editor").value;
  const s = scenarios.find((x) => x.file === state.file);
  state.edited = !s || s.text !== state.text;
  if (state.edited) $("scenario").value = "";
  validateEditor();
  load();
});

function changeSpeed(by) {
  const sel = $("speed");
  const i = Math.max(0, Math.min(SPEEDS.length - 1, sel.selectedIndex + by));
  sel.selectedIndex = i;
  setStatus(`speed ${sel.options[i].textContent}`);
}

document.addEventListener("keydown", (e) => {
  const tag = document.activeElement?.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === " " && document.activeElement?.tagName !== "BUTTON") {
    e.preventDefault();
    state.playing ? pause() : play();
  } else if (e.key === ".") step("event");
  else if (e.key === "a") step("attempt");
  else if (e.key === "[") changeSpeed(-1);
  else if (e.key === "]") changeSpeed(1);
  else if (e.key === "Home") seek(0);
});
window.addEventListener("resize", () => charts.resize());

// ---- start --------------------------------------------------------------------------------

async function start() {
  try {
    const shared = await decode(location.hash);
    if (shared) {
      const s = scenarios.find((x) => x.file === shared.file);
      if (shared.text === null && !s) throw new Error(`the link names a scenario this page does not bundle: ${shared.file}`);
      state.file = s?.file ?? "";
      state.text = shared.text ?? s.text;
      state.edited = shared.text !== null;
      $("seed").value = shared.seed ?? "";
      $("policy-a").value = shared.a;
      $("policy-b").value = shared.b;
      $("scenario").value = state.edited ? "" : state.file;
      $("editor").value = state.text;
      await load({ seekTo: shared.t });
      return;
    }
  } catch (e) {
    showError(`this link could not be read: ${e.message}`);
  }
  const preferred = scenarios.find((s) => s.file.endsWith("flaky-relay-443.toml")) ?? scenarios[0];
  state.file = preferred.file;
  state.text = preferred.text;
  $("scenario").value = preferred.file;
  $("editor").value = preferred.text;
  await load();
}
explainCode("4.4.3");
start();
window.mxsim = { state, call, charts }; // for the browser tests and the curious
