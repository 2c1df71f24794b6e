// Native/wasm parity: for every scenario in scenarios/ (and the benchmark scenario), the wasm
// build under Node must produce the same report JSON, byte for byte, and so the same digest,
// as the native CLI (`mxsim run --json`). Run by scripts/test after scripts/build-wasm:
//   node --test wasm/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(import.meta.url);
const mxsim = require(path.join(root, "target/wasm-pkg/node/mxsim_wasm.js"));
const cli = path.join(root, "target/release/mxsim");

const files = readdirSync(path.join(root, "scenarios"))
  .filter((f) => f.endsWith(".toml"))
  .sort()
  .map((f) => `scenarios/${f}`)
  .concat(["benches/bench-100k.toml"]);

for (const file of files) {
  test(`native and wasm reports match byte for byte: ${file}`, () => {
    const native = execFileSync(cli, ["run", file, "--json"], { cwd: root, encoding: "utf8" });
    const text = readFileSync(path.join(root, file), "utf8");
    const sim = new mxsim.Sim(text, file, undefined, false);
    sim.observe(); // --json observes the run in detail (routing, series, analysis)
    while (!sim.runToEnd(1_000_000)) {}
    const wasm = sim.report() + "\n";
    assert.equal(JSON.parse(wasm).digest, JSON.parse(native).digest);
    assert.equal(wasm, native);
    sim.free();
  });
}

test("a seed override gives the native --seed result", () => {
  const file = "scenarios/flaky-relay-443.toml";
  const native = execFileSync(cli, ["run", file, "--json", "--seed", "12345"], { cwd: root, encoding: "utf8" });
  const sim = new mxsim.Sim(readFileSync(path.join(root, file), "utf8"), file, 12345n, false);
  sim.observe();
  while (!sim.runToEnd(1_000_000)) {}
  assert.equal(sim.report() + "\n", native);
});

test("explain gives the same data as the CLI", () => {
  const native = execFileSync(cli, ["explain", "4.4.3", "--json"], { cwd: root, encoding: "utf8" });
  assert.deepEqual(JSON.parse(mxsim.explain("4.4.3")), JSON.parse(native));
});

test("wasm/README.md shows the example script verbatim", () => {
  const readme = readFileSync(path.join(root, "wasm/README.md"), "utf8");
  const example = readFileSync(path.join(root, "wasm/js/example.mjs"), "utf8");
  assert.ok(readme.includes(example), "copy wasm/js/example.mjs into wasm/README.md");
});

test("the metric registry is the CLI's", () => {
  const native = execFileSync(cli, ["metrics", "--json"], { cwd: root, encoding: "utf8" });
  const wasm = JSON.parse(mxsim.metrics());
  assert.deepEqual(wasm, JSON.parse(native));
  assert.ok(wasm.some((m) => m.name === "delay_censored_p95" && m.censored && m.gateable));
});

test("presets are the CLI's", () => {
  const native = execFileSync(cli, ["presets", "--json"], { cwd: root, encoding: "utf8" });
  assert.deepEqual(JSON.parse(mxsim.presets()), JSON.parse(native));
});

test("compare gives the CLI's comparison byte for byte (core's statistics, not re-implemented)", () => {
  const file = "scenarios/policy-shootout-443.toml";
  const policies = ["scenario", "patient-443", "scenario:policy.retry={ fixed = \"5m\" }"];
  const args = ["compare", file, "--seeds", "4", "--json"];
  for (const p of policies) args.push("--policy", p);
  const native = execFileSync(cli, args, { cwd: root, encoding: "utf8" });
  const text = readFileSync(path.join(root, file), "utf8");
  const wasm = mxsim.compare(text, file, policies, 4) + "\n";
  assert.equal(wasm, native);
  assert.throws(() => mxsim.compare(text, file, ["scenario"], 4), /at least two policies/);
  assert.throws(() => mxsim.compare(text, file, ["scenario", "patent-443"], 4), /did you mean `patient-443`/);
  assert.throws(() => mxsim.compare(text, file, ["scenario", "postfix"], 1), /seeds must be between 2/);
});
