// Speed of the wasm build under Node next to native, in the same run, on the 100k-message
// benchmark scenario: median of N runs each. Prints one JSON object. Used by scripts/test
// (informational) and for the README's figures:
//   node wasm/js/speed.mjs [runs]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(import.meta.url);
const mxsim = require(path.join(root, "target/wasm-pkg/node/mxsim_wasm.js"));
const runs = Number(process.argv[2] ?? 10);
const file = "benches/bench-100k.toml";
const text = readFileSync(path.join(root, file), "utf8");

function once() {
  const started = performance.now();
  const sim = new mxsim.Sim(text, file, undefined, false);
  while (!sim.runToEnd(4_000_000)) {}
  const seconds = (performance.now() - started) / 1000;
  const events = sim.events();
  const messages = JSON.parse(sim.report()).outcomes.generated;
  sim.free();
  return { seconds, events, messages };
}

once();
const times = [];
let last;
for (let i = 0; i < runs; i++) {
  last = once();
  times.push(last.seconds);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const wasm = { median_seconds: median, events_per_second: last.events / median };
const native = JSON.parse(
  execFileSync(path.join(root, "target/release/mxsim"), ["bench", file, "--runs", String(runs), "--json"], { cwd: root, encoding: "utf8" }),
);
console.log(
  JSON.stringify(
    {
      scenario: file,
      runs,
      events: last.events,
      native_events_per_second: Math.round(native.events_per_second),
      wasm_events_per_second: Math.round(wasm.events_per_second),
      wasm_over_native: Number((wasm.events_per_second / native.events_per_second).toFixed(3)),
    },
    null,
    2,
  ),
);
