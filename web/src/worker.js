// The simulation thread: holds one or two runs ("lanes" A and B: the same scenario and seed,
// each with its own policy) of mxsim's wasm build and advances them only when the page asks,
// with a per-request event budget, so the page never freezes and pausing always works.
//
// Protocol (every request carries `id`; every reply echoes it):
//   load     {text, file, seed, policies: [a, b?]}  → {lanes: [{topology, frame}]}
//   advance  {to_ms, budget}        both lanes run to simulated time `to_ms` (at most `budget`
//                                   events each)                   → {lanes: [frame]}
//   step     {kind: "event"|"attempt"}  one event, or up to the next attempt start, on lane A;
//                                   lane B follows to the same time → {lanes: [frame]}
//   seek     {to_ms}                re-runs both lanes from the start to `to_ms` (deterministic:
//                                   the same state as playing there) → {lanes: [frame]}
//   report   {}                     → {reports: [report JSON text]}
//   trace    {lane, pick}           → {traced: [...]}    (core's two-run trace_messages)
//   compare  {seeds}                → {comparison}       (core's paired statistics)
//   validate {text, file}           → {result}
//   explain  {code}                 → {explanation}
// Errors reply {error: message} with the CLI's text.
import init, { Sim, compare, explain, presets, trace, validate, version } from "../pkg/mxsim_wasm.js";

const ready = init({ module_or_path: new URL("./mxsim_wasm_bg.wasm", import.meta.url) });

/** Records read per `eventsSince` call; reading releases them inside the Sim. */
const READ_BATCH = 100_000;

let setup = null; // {text, file, seed, policies}
let lanes = []; // [{sim, cursor, policy, attempts}]

function makeLane(policy) {
  const { text, file, seed } = setup;
  // An empty policy or "scenario" is the file's own (the wasm facade loads it plainly).
  const sim = new Sim(text, file, seed === null ? undefined : BigInt(seed), true, policy || undefined);
  sim.observe();
  return { sim, cursor: 0, policy, topology: JSON.parse(sim.topology()) };
}

/** Reads (and so releases) the trace records produced since the last call; returns the
 *  attempt starts among them. */
function drain(lane) {
  let attempts = 0;
  for (;;) {
    const page = JSON.parse(lane.sim.eventsSince(lane.cursor, READ_BATCH));
    lane.cursor = page.next;
    for (const r of page.events) if (r.kind === "attempt") attempts += 1;
    if (page.events.length < READ_BATCH) return attempts;
  }
}

/** What the page draws of a lane now; `ran`: events run by the request. */
function frame(lane, ran = 0) {
  const snapshot = JSON.parse(lane.sim.snapshot());
  return { snapshot, done: lane.sim.done(), digest: lane.sim.digest(), ran };
}

function freeLanes() {
  for (const lane of lanes) lane.sim.free();
  lanes = [];
}

const handlers = {
  async load({ text, file, seed, policies }) {
    freeLanes();
    setup = { text, file, seed, policies };
    lanes = policies.filter((p, i) => i === 0 || p).map((p) => makeLane(p));
    return { lanes: lanes.map((l) => ({ topology: l.topology, frame: frame(l) })), presets: JSON.parse(presets()), version: version() };
  },
  advance({ to_ms, budget }) {
    return {
      lanes: lanes.map((lane) => {
        let ran = 0;
        if (!lane.sim.done() && to_ms >= lane.sim.nowMs()) ran = lane.sim.advanceTo(to_ms, budget);
        drain(lane);
        return frame(lane, ran);
      }),
    };
  },
  step({ kind }) {
    const [a, ...rest] = lanes;
    if (kind === "attempt") {
      // Events one by one until one of them started an attempt (bounded).
      for (let i = 0; i < 1_000_000 && !a.sim.done(); i++) {
        a.sim.advance(1);
        if (drain(a) > 0) break;
      }
    } else {
      a.sim.advance(1);
      drain(a);
    }
    const t = a.sim.nowMs();
    for (const lane of rest) {
      if (t >= lane.sim.nowMs()) lane.sim.advanceTo(t, 10_000_000);
      drain(lane);
    }
    return { lanes: lanes.map((l) => frame(l)) };
  },
  seek({ to_ms }) {
    const policies = lanes.map((l) => l.policy);
    freeLanes();
    lanes = policies.map((p) => makeLane(p));
    for (const lane of lanes) {
      while (!lane.sim.done() && lane.sim.nowMs() <= to_ms) {
        const ran = lane.sim.advanceTo(to_ms, 200_000);
        drain(lane);
        if (ran < 200_000) break;
      }
    }
    return { lanes: lanes.map((l) => frame(l)) };
  },
  report() {
    return { reports: lanes.map((l) => l.sim.report()) };
  },
  trace({ lane, pick }) {
    const { text, file, seed } = setup;
    const policy = lanes[lane]?.policy;
    const s = seed === null ? undefined : BigInt(seed);
    return { traced: JSON.parse(trace(text, file, s, policy || undefined, JSON.stringify(pick))) };
  },
  compare({ seeds, seed }) {
    const { text, file, policies } = setup;
    // The comparison's seeds start at the page's seed: a `seed=` edit on every spec.
    const withSeed = (p) => (seed === null ? p : /[:=]/.test(p) ? `${p},seed=${seed}` : `${p}:seed=${seed}`);
    const specs = policies.filter(Boolean).map(withSeed);
    return { comparison: JSON.parse(compare(text, file, specs, seeds)) };
  },
  validate({ text, file }) {
    return { result: JSON.parse(validate(text, file)) };
  },
  explain({ code }) {
    return { explanation: JSON.parse(explain(code)) };
  },
};

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  try {
    await ready;
    const reply = await handlers[type](data);
    self.postMessage({ id, ...reply });
  } catch (e) {
    self.postMessage({ id, error: String(e?.message ?? e) });
  }
};
