// The page's number formats (web/src/format.js), without a browser: `human` must print a
// duration as core's `time::human` does (the CLI's reports), so the page and the terminal
// agree. The first cases are core's own unit-test cases (core/src/time.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { duration, human, parseDuration, percent, points } from "../src/format.js";

test("human rounds to two units exactly as core's time::human", () => {
  for (const [ms, text] of [
    // core/src/time.rs, human_rounds_to_two_units
    [250, "250ms"],
    [12_460, "12.5s"],
    [80 * 60_000, "1h20m"],
    [8_800_000, "2h27m"],
    [5 * 86_400_000, "5d"],
    // Edges of each rule: below a second, tenths below a minute, carries into the big unit.
    [0, "0ms"],
    [999, "999ms"],
    [1000, "1s"],
    [59_949, "59.9s"],
    [59_950, "1m"],
    [60_000, "1m"],
    [90_499, "1m30s"],
    [3_599_999, "1h"],
    [86_399_999, "1d"],
    [3_600_880, "1h"],
    [3_630_000, "1h1m"],
    [86_400_000 + 5_400_000, "1d2h"],
    // Means are fractional: rounded to a whole ms first.
    [8_547.4, "8.5s"],
  ]) {
    assert.equal(human(ms), text, `${ms} ms`);
  }
  assert.equal(human(-90_000), "−1m30s");
  assert.equal(human(null), "–");
});

test("duration is exact and parseDuration reads it back", () => {
  for (const ms of [0, 250, 60_880, 3_600_880, 86_400_000 + 61_001]) {
    assert.equal(parseDuration(duration(ms)), ms, duration(ms));
  }
  assert.equal(duration(3_600_880), "1h880ms");
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("soon"), null);
});

test("points shows a difference of shares in percentage points", () => {
  assert.equal(points(0.0998), "9.98 pp");
  assert.equal(points(-0.0006), "-0.06 pp");
  assert.equal(points(null), "–");
});

test("percent says all or none only when exact, as core's figures::share", () => {
  assert.equal(percent(1), "100.00%");
  assert.equal(percent(0.99996), ">99.99%");
  assert.equal(percent(0), "0.00%");
  assert.equal(percent(0.00004), "<0.01%");
  assert.equal(percent(0.5), "50.00%");
  assert.equal(percent(0.996, 0), ">99%");
});
