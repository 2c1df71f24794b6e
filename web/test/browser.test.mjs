// The visualizer in a real browser: Debian's Chromium driven by playwright-core, on the built
// page (web/dist/, from scripts/build-web) served from 127.0.0.1. Every number the page shows
// is checked against the native CLI (target/release/mxsim) on the same scenario and seed.
//
//   node --test web/test/       (scripts/test runs it after building the page and the CLI)
//
// Environment: MXSIM_CHROMIUM (default /usr/bin/chromium), MXSIM_BIN (default
// target/release/mxsim), MXSIM_SCREENSHOTS (a directory: save the main views there).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../serve.mjs";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(web, "..");
const BIN = process.env.MXSIM_BIN ?? join(root, "target/release/mxsim");
const CHROMIUM = process.env.MXSIM_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = process.env.MXSIM_SCREENSHOTS;
/** The fastest speed the page offers (3 days of simulated time per second). */
const FASTEST = "259200000";

let browser;
let server;
let base;

before(async () => {
  for (const [what, path, fix] of [
    ["the built page", join(web, "dist/index.html"), "run scripts/build-web"],
    ["the CLI", BIN, "run cargo build --release"],
    ["Chromium", CHROMIUM, "apt-get install chromium (scripts/test does)"],
  ]) {
    assert.ok(existsSync(path), `${what} is missing at ${path}: ${fix}`);
  }
  ({ server, url: base } = await serve(join(web, "dist"), 0));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** The CLI's JSON output for `args`. */
function cli(...args) {
  return JSON.parse(execFileSync(BIN, args, { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 }));
}

/** A fresh page at `hash`, loaded and idle; page errors fail the test that opened it. */
async function open(t, hash = "", viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  t.after(async () => {
    await page.close();
    assert.deepEqual(errors, [], "the page threw");
  });
  await page.goto(base + hash);
  await idle(page);
  return page;
}

/** Waits until the page has a scenario loaded and no request in flight. */
async function idle(page, timeout = 60_000) {
  await page.waitForFunction(() => window.mxsim?.state.loaded && !window.mxsim.state.busy && !window.mxsim.state.looping, null, { timeout });
}

/** Plays at the fastest speed until every lane has finished. */
async function playToEnd(page) {
  await page.selectOption("#speed", FASTEST);
  await page.click("#play");
  await page.waitForFunction(() => document.getElementById("status").textContent === "finished", null, { timeout: 120_000 });
  await idle(page);
}

/** The displayed metrics of a lane: {key: data-value}. */
async function metrics(page, lane = "A") {
  return page.$$eval(`table[data-lane="${lane}"] td[data-metric]`, (tds) => Object.fromEntries(tds.map((td) => [td.dataset.metric, td.dataset.value])));
}

const shownMs = (page) => page.$eval("#time", (e) => Number(e.dataset.ms));

/** What the page should show for a report of `mxsim run --json`, as data-value strings. */
function expected(r) {
  const v = (x) => (x === null || x === undefined ? "" : String(x));
  return {
    generated: v(r.outcomes.generated),
    delivered: v(r.outcomes.delivered),
    bounced: v(r.outcomes.bounced),
    expired: v(r.outcomes.expired),
    queued: v(r.outcomes.queued),
    // The registry's readings (censored delays, SLO shares, ...), name for name.
    ...Object.fromEntries(r.metrics.map((m) => [m.name, v(m.value)])),
    events: v(r.events),
    digest: v(r.digest),
  };
}

test("a bundled scenario run to the end shows exactly what mxsim run --json reports", async (t) => {
  for (const [file, seed] of [["scenarios/flaky-relay-443.toml", null], ["scenarios/backup-mx.toml", "11"]]) {
    const page = await open(t, `#f=${file}${seed ? `&seed=${seed}` : ""}`);
    await playToEnd(page);
    const want = cli("run", file, "--json", ...(seed ? ["--seed", seed] : []));
    assert.deepEqual(await metrics(page), expected(want), file);
    // The clock stops at the run's last event, as the report's end_ms says.
    assert.equal(await shownMs(page), want.end_ms);
  }
});

test("the charts follow the run: outcomes, queue and the delay CDF with its SLO marks, as core reports them", async (t) => {
  const file = "scenarios/flaky-relay-443.toml";
  const page = await open(t, `#f=${file}`);
  // What each chart holds: its series' labels and, per series, the last value.
  const charts = () =>
    page.evaluate(() => {
      const c = window.mxsim.charts;
      const view = (chart) => ({
        labels: chart.plot.series.slice(1).map((s) => s.label),
        points: chart.plot.data[0].length,
        last: chart.plot.data.slice(1).map((d) => d[d.length - 1]),
      });
      return { outcomes: view(c.outcomes), queue: view(c.queue), delays: view(c.delays), slo: c.slo };
    });
  await page.selectOption("#speed", "3600000");
  await page.click("#play");
  await page.waitForFunction(() => Number(document.getElementById("time").dataset.ms) > 3 * 3_600_000);
  await page.click("#play");
  await idle(page);
  const early = await charts();
  await playToEnd(page);
  const end = await charts();
  const want = cli("run", file, "--json");
  assert.deepEqual(end.outcomes.labels, ["A delivered", "A bounced", "A expired"]);
  assert.deepEqual(end.queue.labels, ["A queued", "A in flight"]);
  // Cumulative outcomes end at the report's totals; the CDF tops out at the share delivered.
  assert.deepEqual(end.outcomes.last, [want.outcomes.delivered, want.outcomes.bounced, want.outcomes.expired]);
  assert.equal(end.queue.points, want.series.buckets.length);
  assert.equal(end.delays.last[0], want.delay_cdf[want.delay_cdf.length - 1].share);
  assert.deepEqual(end.slo, want.delivered_within.map((w) => w.within_ms));
  // They grew as the run went on.
  assert.ok(early.outcomes.points < end.outcomes.points, `${early.outcomes.points} → ${end.outcomes.points} buckets`);
  assert.ok(early.outcomes.last[0] < end.outcomes.last[0], "more delivered at the end");
});

test("pause, step and scrub move the displayed time as they should", async (t) => {
  const page = await open(t, "#f=scenarios/flaky-relay-443.toml");
  assert.equal(await shownMs(page), 0);
  // One event at a time: the events counter goes up by one, time never goes back.
  let last = 0;
  for (let i = 1; i <= 3; i++) {
    await page.click("#step-event");
    await idle(page);
    assert.equal((await metrics(page)).events, String(i));
    const now = await shownMs(page);
    assert.ok(now >= last, `step ${i} went back in time`);
    last = now;
  }
  // To the next attempt: an attempt is in flight afterwards, drawn on the topology.
  await page.click("#step-attempt");
  await idle(page);
  assert.ok((await page.$$('section[data-lane="A"] circle.message')).length >= 1, "the attempt is drawn");
  // Play, then pause: time moved, and stays put once paused.
  await page.selectOption("#speed", "3600000");
  await page.click("#play");
  await page.waitForFunction((t0) => Number(document.getElementById("time").dataset.ms) > t0 + 60_000, await shownMs(page));
  await page.click("#play");
  await idle(page);
  assert.equal(await page.textContent("#status"), "paused");
  const paused = await shownMs(page);
  const pausedEvents = (await metrics(page)).events;
  await page.waitForTimeout(600);
  assert.equal(await shownMs(page), paused, "paused means paused");
  assert.equal((await metrics(page)).events, pausedEvents);
  // Scrub to 6 h: the clock shows 6 h, and the state there is the same however we got there.
  const scrubTo = async (ms) => {
    await page.$eval("#scrub", (e, v) => {
      e.value = String(v);
      e.dispatchEvent(new Event("change"));
    }, ms);
    await page.waitForFunction((v) => Number(document.getElementById("time").dataset.ms) === v && !window.mxsim.state.busy, ms);
    return metrics(page);
  };
  const at6h = await scrubTo(21_600_000);
  assert.equal(await shownMs(page), 21_600_000);
  assert.ok(Number(at6h.events) > Number(pausedEvents));
  await scrubTo(3_600_000);
  assert.deepEqual(await scrubTo(21_600_000), at6h, "re-running from the start is deterministic");
  // Restart goes back to zero.
  await page.click("#restart");
  await page.waitForFunction(() => document.getElementById("time").dataset.ms === "0" && !window.mxsim.state.busy);
  assert.equal((await metrics(page)).events, "0");
});

test("A vs B shows two runs on the same failures, their differences and paired intervals", async (t) => {
  const file = "scenarios/flaky-relay-443.toml";
  const page = await open(t, `#f=${file}&b=postfix`);
  assert.equal(await page.locator("section.lane").count(), 2);
  assert.equal(await page.locator("section.lane svg.topology").count(), 2);
  await playToEnd(page);
  assert.deepEqual(await metrics(page, "A"), expected(cli("run", file, "--json")));
  assert.deepEqual(await metrics(page, "B"), expected(cli("run", file, "--json", "--preset", "postfix")));
  // The single-seed difference table: B − A of the shown values.
  const a = await metrics(page, "A");
  const b = await metrics(page, "B");
  const attempts = await page.$eval('#diff td[data-diff="attempts_per_message"]', (e) => e.textContent);
  const d = Number(b.attempts_per_message) - Number(a.attempts_per_message);
  assert.ok(Math.abs(Number(attempts.replace(/[^0-9.\-−]/g, "").replace("−", "-")) - d) < 1e-3, `${attempts} vs ${d}`);
  // Several seeds: core's paired comparison, row for row what `mxsim compare --json` reports.
  await page.fill("#compare-seeds", "3");
  await page.click("#compare");
  await page.waitForSelector("#comparison-table", { timeout: 120_000 });
  const want = cli("compare", file, "--policy", "scenario", "--policy", "postfix", "--seeds", "3", "--json");
  const rows = await page.$$eval("#comparison-table td[data-paired]", (tds) => tds.map((td) => td.dataset.paired));
  assert.deepEqual(rows, want.metrics.map((m) => m.metric));
  const marked = await page.$$eval("#comparison-table td.sig", (tds) => tds.map((td) => td.dataset.paired));
  assert.deepEqual(marked, want.metrics.filter((m) => m.differences[0].significant).map((m) => m.metric), "significance marks");
  // The answer in words: better and worse on exactly the metrics core's verdicts say.
  for (const verdict of ["better", "worse"]) {
    const metrics = want.metrics.filter((m) => m.differences[0].verdict === verdict).map((m) => m.metric.replaceAll("_", " "));
    const shown = await page.$$eval(`#verdict li[data-verdict="${verdict}"]`, (lis) => lis.map((li) => li.textContent));
    if (metrics.length === 0) assert.deepEqual(shown, []);
    else for (const m of metrics) assert.ok(shown[0].includes(m), `${verdict}: ${m} in ${shown}`);
  }
  const same = want.metrics.filter((m) => m.differences[0].verdict === "no_difference").length;
  assert.match(await page.textContent('#verdict li[data-verdict="no_difference"]'), new RegExp(` on ${same} metrics?$`));
});

test("clicking a moving message shows its route trace, with codes linked to the explainer", async (t) => {
  const page = await open(t, "#f=scenarios/flaky-relay-443.toml");
  await page.click("#step-attempt");
  await idle(page);
  const dot = page.locator('section[data-lane="A"] circle.message').first();
  const id = await dot.getAttribute("data-message");
  await dot.click();
  await page.waitForSelector(`#message [data-message="${id}"] h3`, { timeout: 60_000 });
  assert.match(await page.textContent("#message h3"), new RegExp(`^Message ${id}: `));
  const trace = cli("trace", "scenarios/flaky-relay-443.toml", "--message", id, "--json");
  const attempts = trace[0].records.filter((r) => r.kind === "attempt").length;
  const shown = await page.$$eval("#message ol.timeline > li", (lis) => lis.filter((li) => / attempt \d+: /.test(li.textContent)).length);
  assert.equal(shown, attempts, "one line per attempt, as mxsim trace shows");
  // A code in the trace opens its explanation.
  const code = page.locator("#message button[data-code]").first();
  const c = await code.getAttribute("data-code");
  await code.click();
  await page.waitForSelector(`#explanation [data-code="${c}"]`);
  // Typed in: 4.4.3 says what it means, how it differs from 5.4.4 and what to do, as
  // `mxsim explain` does.
  const want443 = cli("explain", "4.4.3", "--json");
  await page.fill("#code", "4.4.3");
  await page.click("#explain");
  await page.waitForSelector('#explanation [data-code="4.4.3"]');
  const text = await page.textContent("#explanation");
  for (const part of [want443.meaning, want443.advice, want443.neighbours.find((n) => n.code === "5.4.4").difference]) {
    assert.ok(text.includes(part), `explainer shows: ${part.slice(0, 60)}…`);
  }
  // The lists: the worst messages of the whole run.
  await page.click('[data-pick="worst"]');
  await page.waitForSelector("#picked button[data-message]", { timeout: 60_000 });
  assert.equal(await page.locator("#picked button[data-message]").count(), 10);
});

test("an invalid scenario shows the CLI's error, at its lines, and the page keeps working", async (t) => {
  const page = await open(t, "#f=scenarios/backup-mx.toml");
  const broken = readFileSync(join(root, "tests/fixtures/broken.toml"), "utf8");
  const dir = mkdtempSync(join(tmpdir(), "mxsim-web-"));
  writeFileSync(join(dir, "scenario.toml"), broken);
  const cliRun = spawnSync(BIN, ["validate", "scenario.toml"], { cwd: dir, encoding: "utf8" });
  assert.equal(cliRun.status, 2);
  await page.fill("#editor", broken);
  await page.click("#run-text");
  await page.waitForSelector("#error:not([hidden])");
  await idle(page).catch(() => {});
  const shown = (await page.textContent("#error")).trim();
  assert.equal(shown.replace(/^error: /, ""), cliRun.stderr.trim().replace(/^error: /, ""), "the CLI's text, exactly");
  const lines = await page.$$eval("#problems li", (lis) => lis.map((li) => Number(li.dataset.line)));
  assert.deepEqual(lines, [4, 16, 21, 25, 33]);
  // Text is text: markup in a scenario is never parsed.
  await page.fill("#editor", 'name = "<img src=x onerror=alert(1)>"\n');
  await page.click("#run-text");
  await page.waitForSelector("#error:not([hidden])");
  assert.equal(await page.locator("#error img, #problems img").count(), 0);
  // Still working: a bundled scenario loads and steps.
  await page.selectOption("#scenario", "scenarios/backup-mx.toml");
  await idle(page);
  assert.equal(await page.isHidden("#error"), true);
  await page.click("#step-event");
  await idle(page);
  assert.equal((await metrics(page)).events, "1");
});

test("a shared URL reproduces the run: scenario, seed, policies and time", async (t) => {
  const page = await open(t, "#f=scenarios/flaky-relay-443.toml&seed=7&b=postfix");
  await page.selectOption("#speed", "21600000");
  await page.click("#play");
  await page.waitForFunction(() => Number(document.getElementById("time").dataset.ms) > 3 * 3_600_000);
  await page.click("#play");
  await idle(page);
  const url = page.url();
  assert.match(url, /seed=7/);
  assert.match(url, /b=postfix/);
  const view = async (p) => ({ t: await shownMs(p), a: await metrics(p, "A"), b: await metrics(p, "B") });
  const first = await view(page);
  const again = await open(t, url.slice(base.length));
  assert.deepEqual(await view(again), first);
  // Edited text travels compressed in the URL.
  const text = readFileSync(join(root, "scenarios/backup-mx.toml"), "utf8").replace(/^seed = \d+/m, "seed = 99");
  await page.fill("#editor", text);
  await page.click("#run-text");
  await idle(page);
  await page.click("#step-attempt");
  await idle(page);
  const edited = page.url();
  assert.match(edited, /[#&]s=/);
  const reopened = await open(t, edited.slice(base.length));
  assert.equal(await reopened.inputValue("#editor"), text);
  assert.deepEqual(await view(reopened).then((v) => v.a), await view(page).then((v) => v.a));
});

test("hosts show down, overloaded and greylisting by shape and label, with their load", async (t) => {
  const hostAt = async (file, ms, id) => {
    const page = await open(t, `#f=${file}&t=${ms}`);
    await page.waitForFunction((v) => Number(document.getElementById("time").dataset.ms) === v && !window.mxsim.state.busy, ms);
    const g = page.locator(`section[data-lane="A"] g.host[data-host="${id}"]`);
    return { page, state: await g.getAttribute("data-state"), label: await g.locator("text.host-state").textContent(), shape: await g.locator("path.shape").getAttribute("d") };
  };
  // retry-storm.toml: the relay is down from 1h to 1h30, then its 20 servers are all busy
  // with a backlog of retries (tests/snapshot.rs checks the same instants in core).
  const down = await hostAt("scenarios/retry-storm.toml", 4_500_000, "relay.example.net");
  assert.equal(down.state, "down");
  assert.match(down.label, /^down · /);
  const full = await hostAt("scenarios/retry-storm.toml", 7_200_000, "relay.example.net");
  assert.equal(full.state, "overloaded");
  assert.match(full.label, /^overloaded · \d+ contacts · 20\/20 busy, \d+ waiting$/);
  assert.notEqual(full.shape, down.shape, "a shape per state, not only a colour");
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await full.page.locator('section[data-lane="A"]').screenshot({ path: join(SHOTS, "web-overloaded.png") });
  }
  // Messages move: a connection waiting in the relay's backlog is further along its link a
  // minute later (the sender → relay link runs left to right).
  const dots = () => full.page.$$eval('section[data-lane="A"] circle.message', (cs) => Object.fromEntries(cs.map((c) => [c.dataset.message, Number(c.getAttribute("cx"))])));
  const before = await dots();
  await full.page.$eval("#scrub", (e) => {
    e.value = "7260000";
    e.dispatchEvent(new Event("change"));
  });
  await full.page.waitForFunction(() => document.getElementById("time").dataset.ms === "7260000" && !window.mxsim.state.busy);
  const later = await dots();
  const both = Object.keys(before).filter((id) => id in later);
  assert.ok(both.length > 50, `messages still in flight a minute later: ${both.length}`);
  assert.ok(both.every((id) => later[id] >= before[id]), "no message goes backwards");
  assert.ok(both.filter((id) => later[id] > before[id]).length > both.length / 2, "most have moved on");
  const grey = await hostAt("scenarios/greylisting.toml", 1_800_000, "mx.example.com");
  assert.equal(grey.state, "greylisting");
  assert.notEqual(grey.shape, full.shape);
  // Keyboard focus (not only hover) shows the host's routing metrics as text.
  await grey.page.focus('section[data-lane="A"] g.host[data-host="mx.example.com"]');
  const detail = await grey.page.textContent('section[data-lane="A"] .host-detail');
  assert.match(detail, /^mx\.example\.com \(greylisting\) · contacts: \d+ · attempts: \d+, successes: \d+ · success rate: [\d.]+% · failed 451 4\.7\.1: \d+/);
  // The legend names every state with its shape.
  assert.deepEqual(
    await grey.page.$$eval('section[data-lane="A"] .legend span', (s) => s.map((e) => e.textContent.trim())),
    ["up", "down", "overloaded", "greylisting", "flaky"],
  );
});

test("with about 1,000 messages in flight the page keeps drawing and pausing works", async (t) => {
  // retry-storm.toml doubled (40 sessions, 6,000 messages an hour): after the relay's outage
  // its backlog holds about 1,000 attempts at once (the CLI's queue series says 977–1,015).
  const text = readFileSync(join(root, "scenarios/retry-storm.toml"), "utf8")
    .replace("poisson_per_hour = 3000", "poisson_per_hour = 6000")
    .replace("sessions = 20,", "sessions = 40,");
  assert.notEqual(text, readFileSync(join(root, "scenarios/retry-storm.toml"), "utf8"));
  const page = await open(t, "#f=scenarios/retry-storm.toml");
  await page.fill("#editor", text);
  await page.click("#run-text");
  await idle(page);
  await page.$eval("#scrub", (e) => {
    e.value = "7200000";
    e.dispatchEvent(new Event("change"));
  });
  await page.waitForFunction(() => document.getElementById("time").dataset.ms === "7200000" && !window.mxsim.state.busy, null, { timeout: 120_000 });
  await page.selectOption("#speed", "3600000");
  // Frames drawn by the page (requestAnimationFrame) and simulation updates (advance replies).
  await page.evaluate(() => {
    window.drawn = 0;
    const count = () => {
      window.drawn++;
      requestAnimationFrame(count);
    };
    requestAnimationFrame(count);
  });
  const sample = () =>
    page.evaluate(async () => ({
      drawn: window.drawn,
      at: performance.now(),
      events: Number(document.querySelector('table[data-lane="A"] td[data-metric="events"]').dataset.value),
      inFlight: window.mxsim.state.lanes[0].frame.snapshot.queue.in_flight,
      dots: document.querySelectorAll('section[data-lane="A"] circle.message').length,
    }));
  await page.click("#play");
  await page.waitForTimeout(2_000);
  const a = await sample();
  await page.waitForTimeout(10_000);
  const b = await sample();
  const seconds = (b.at - a.at) / 1000;
  const fps = (b.drawn - a.drawn) / seconds;
  const eventsPerSecond = (b.events - a.events) / seconds;
  t.diagnostic(`${b.inFlight} messages in flight (${b.dots} drawn): ${fps.toFixed(1)} frames/s, ${Math.round(eventsPerSecond)} events/s`);
  assert.ok(b.inFlight >= 800 && b.inFlight <= 1300, `about 1,000 in flight: ${b.inFlight}`);
  assert.ok(fps >= 20, `the page keeps drawing: ${fps.toFixed(1)} frames/s`);
  assert.ok(eventsPerSecond > 50_000, `the run moves: ${eventsPerSecond} events/s`);
  // Pausing takes effect within a frame or two, whatever the load.
  const pressed = Date.now();
  await page.click("#play");
  await idle(page);
  const took = Date.now() - pressed;
  assert.equal(await page.textContent("#status"), "paused");
  assert.ok(took < 2_000, `paused in ${took} ms`);
});

test("nothing on the page moves while a run plays (no layout jumps), on a desktop and a phone", async (t) => {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    // retry-storm's status says the run is limited by the event budget: the longest text.
    const page = await open(t, "#f=scenarios/retry-storm.toml&b=postfix", viewport);
    const tops = () =>
      page.$$eval("#about, #lanes, section.lane .metrics, .host-detail, .chart, #versus", (es) =>
        es.map((e) => { const r = e.getBoundingClientRect(); return `${e.id || e.className} ${Math.round(r.top + window.scrollY)} ${Math.round(r.height)}`; }));
    const before = await tops();
    await page.selectOption("#speed", "3600000");
    await page.click("#play");
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("running (limited"), null, { timeout: 30_000 });
    await page.waitForTimeout(1_000);
    assert.deepEqual(await tops(), before, `${viewport.width}×${viewport.height}`);
    await page.click("#play");
    await idle(page);
  }
});

test("keyboard controls: Space, '.', 'a', '[', ']' and Home", async (t) => {
  const page = await open(t, "#f=scenarios/flaky-relay-443.toml");
  const key = async (k) => {
    await page.evaluate(() => document.activeElement?.blur());
    await page.keyboard.press(k);
  };
  await key(".");
  await idle(page);
  assert.equal((await metrics(page)).events, "1");
  await key("a");
  await idle(page);
  assert.ok(Number((await metrics(page)).events) > 1);
  const speed = () => page.$eval("#speed", (e) => e.selectedIndex);
  const s0 = await speed();
  await key("]");
  assert.equal(await speed(), s0 + 1);
  await key("[");
  await key("[");
  assert.equal(await speed(), s0 - 1);
  await key("Space");
  await page.waitForFunction(() => window.mxsim.state.playing);
  await key("Space");
  await page.waitForFunction(() => !window.mxsim.state.playing);
  await idle(page);
  assert.equal(await page.textContent("#status"), "paused");
  await key("Home");
  await page.waitForFunction(() => document.getElementById("time").dataset.ms === "0" && !window.mxsim.state.busy);
});

test("the main views at 1280×800 and on a phone (screenshots when MXSIM_SCREENSHOTS is set)", async (t) => {
  for (const [name, viewport] of [["web-1280", { width: 1280, height: 800 }], ["web-phone", { width: 390, height: 844 }]]) {
    const page = await open(t, "#f=scenarios/flaky-relay-443.toml&b=scenario:policy.on_code={}&t=30600000", viewport);
    await page.waitForFunction(() => Number(document.getElementById("time").dataset.ms) === 30_600_000 && !window.mxsim.state.busy);
    // Nothing wider than the viewport: no sideways scrolling on a phone.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name}: the page is ${overflow}px wider than the viewport`);
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      // On a phone the first screen is the controls and the scenario's story; show the run.
      if (viewport.width < 600) await page.locator('section[data-lane="A"]').evaluate((e) => e.scrollIntoView());
      await page.screenshot({ path: join(SHOTS, `${name}.png`) });
      await page.locator("#versus").scrollIntoViewIfNeeded();
      await page.fill("#compare-seeds", "5");
      await page.click("#compare");
      await page.waitForSelector("#comparison-table", { timeout: 120_000 });
      await page.click('[data-pick="worst"]');
      await page.waitForSelector("#message h3", { timeout: 60_000 });
      await page.locator("#versus").evaluate((e) => e.scrollIntoView());
      await page.screenshot({ path: join(SHOTS, `${name}-compare.png`) });
      await page.locator("#message").evaluate((e) => e.scrollIntoView());
      await page.screenshot({ path: join(SHOTS, `${name}-inspector.png`) });
    }
  }
});

test("a shaped site shows who shares it and what its rate held back, as mxsim run reports", async (t) => {
  const file = "scenarios/shaping-gcra.toml";
  const page = await open(t, `#f=${file}`);
  await playToEnd(page);
  const want = cli("run", file, "--json").queue.sites;
  const shown = await page.$$eval('table[data-lane="A"] td[data-site]', (tds) => tds.map((td) => ({ site: td.dataset.site, held: Number(td.dataset.held), text: td.textContent })));
  assert.deepEqual(shown.map((s) => [s.site, s.held]), want.map((s) => [s.domains.join(","), s.held]));
  assert.match(shown[0].text, /^a\.example, b\.example, c\.example: max_message_rate 100\/min; held 1449 attempts/);
});
