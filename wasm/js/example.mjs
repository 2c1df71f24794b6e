// Run a scenario with mxsim's wasm build in Node and print its metrics.
// Usage: node wasm/js/example.mjs scenarios/backup-mx.toml   (after scripts/build-wasm)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const mxsim = require("../../target/wasm-pkg/node/mxsim_wasm.js");

const file = process.argv[2] ?? "scenarios/backup-mx.toml";
const sim = new mxsim.Sim(readFileSync(file, "utf8"), file, undefined, false);
while (!sim.runToEnd(100_000)) {} // 100k events per call, so a page could yield between calls
const report = JSON.parse(sim.report());
console.log(`${report.scenario}: digest ${report.digest}`);
console.log("outcomes", report.outcomes);
console.log("delay_ms", report.delay_ms);
sim.free();
