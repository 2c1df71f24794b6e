// The page's panels drawn from core's JSON (reports, comparisons, traces, explanations):
// metrics tables, the A vs B difference table, the failure analysis, the message inspector
// and the code explainer. DOM calls and textContent only: scenario text is never HTML.
import { duration, human, number, percent, points } from "./format.js";

/** Creates an element with text and attributes. */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "on") for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
    else if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** The run facts shown per lane before its metrics: [key, label, value of a report, text].
 *  The keys are `data-metric` attributes (the browser tests read them against `mxsim run
 *  --json`). */
const FACTS = [
  ["generated", "messages", (r) => r.outcomes.generated, number],
  ["delivered", "delivered", (r) => r.outcomes.delivered, number],
  ["bounced", "bounced", (r) => r.outcomes.bounced, number],
  ["expired", "expired", (r) => r.outcomes.expired, number],
  ["queued", "still queued", (r) => r.outcomes.queued, number],
];
const TRAILER = [
  ["events", "events", (r) => r.events, number],
  ["digest", "trace digest", (r) => r.digest, String],
];

/** A value in its unit (core's metric registry gives every metric one; `censored`: a missing
 *  value is a share of messages never delivered, "not reached"). */
export function inUnit(unit, x, censored = false) {
  if (x === null || x === undefined) return censored ? "not reached" : "–";
  if (unit === "duration") return human(x);
  if (unit === "share") return percent(x);
  return number(x);
}

/** The lane's rows: facts, then the report's `metrics` (core's registry readings: names,
 *  units, values and their printed text are core's, none is computed here; the text is
 *  rounded but never across the run's SLO times, core/src/figures.rs), then events and digest. */
function laneRows(r) {
  const reading = (m) => [m.name, m.name.replaceAll("_", " "), () => m.value, (x) => m.text ?? inUnit(m.unit, x, m.censored), m.unit];
  return [...FACTS, ...r.metrics.map(reading), ...TRAILER];
}

/** A lane's metrics table from its report. */
export function metricsTable(report, lane) {
  const cut = report.cut ? [h("tr", {}, h("th", { scope: "row" }, "cut short"), h("td", { "data-cut": report.cut.limit }, `by ${report.cut.limit} at ${human(report.cut.at_ms)}: the metrics describe part of the scenario`))] : [];
  // Shaped sites (core's report: who shares each, its limits, what shaping held back).
  const sites = (report.queue.sites ?? []).map((s) => {
    const waits = s.held ? `, waits ${human(s.held_ms)} in all` : "";
    return h("tr", {}, h("th", { scope: "row" }, "shaped site"), h("td", { "data-site": s.domains.join(","), "data-held": s.held }, `${s.domains.join(", ")}: ${s.limits}; held ${s.held} attempts${waits}`));
  });
  return h(
    "table",
    { class: "numbers", "data-lane": lane },
    h("tbody", {}, ...cut, ...sites, ...laneRows(report).map(([key, label, get, show]) => {
      const v = get(report);
      return h("tr", {}, h("th", { scope: "row" }, label), h("td", { "data-metric": key, "data-value": v ?? "" }, show(v)));
    })),
  );
}

/** Single-seed A vs B: each metric of both runs and B − A (rows by name, as in A). */
export function differenceTable(a, b) {
  const rowsB = new Map(laneRows(b).map((row) => [row[0], row]));
  const rows = laneRows(a).filter(([k]) => k !== "digest" && k !== "events" && rowsB.has(k)).map(([key, label, get, show, unit]) => {
    const x = get(a);
    const y = rowsB.get(key)[2](b);
    const d = x === null || y === null ? null : y - x;
    const shown = d === null ? "–" : unit === "share" ? points(d) : unit === "duration" ? human(d) : number(d);
    return h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, show(x)), h("td", {}, rowsB.get(key)[3](y)), h("td", { "data-diff": key }, d > 0 ? `+${shown}` : shown));
  });
  return [h("thead", {}, h("tr", {}, h("th", {}, "metric (this seed)"), h("th", {}, "A"), h("th", {}, "B"), h("th", {}, "B − A"))), h("tbody", {}, ...rows)];
}

/** Several seeds: core's comparison as the answer to "is B better, and by how much?" (each
 *  difference's verdict comes from core, which knows each metric's better direction), then
 *  the table (means, paired differences with 95% intervals, and the unpaired widths). */
export function comparisonTable(c) {
  // Units come from core's metric registry (`m.unit`), never from the metric's name.
  const share = (m) => m.unit === "share";
  const fmt = (m, x) => inUnit(m.unit, x);
  // A difference of two shares is in percentage points, not a relative percentage.
  const fmtDiff = (m, x) => (share(m) ? points(x) : fmt(m, x));
  const notReached = (m, k) => `not reached in ${m.undefined[k]} of ${c.seeds.length} seeds`;
  const pm = (m, i, k) => (i ? `${fmt(m, i.mean)} ± ${fmt(m, i.half_width)}` : m.censored && m.undefined[k] ? notReached(m, k) : "–");
  // A censored percentile one policy never reached: the difference is certain and infinite
  // (null in JSON); its verdict says which way.
  const signed = (m, i) => {
    if (!i) return "–";
    if (i.mean === null) return m.differences[0]?.verdict === "worse" ? `B ${notReached(m, 1)}` : `A ${notReached(m, 0)}`;
    return `${i.mean > 0 ? "+" : ""}${fmtDiff(m, i.mean)} ± ${fmtDiff(m, i.half_width)}`;
  };
  const rows = c.metrics.map((m) => {
    const d = m.differences[0];
    const sig = d?.significant;
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, m.metric),
      ...m.policies.map((p, k) => h("td", {}, pm(m, p, k))),
      h("td", { class: sig ? "sig" : "", "data-paired": m.metric, "data-verdict": d?.verdict ?? "" }, `${signed(m, d?.paired)}${sig ? " *" : ""}`),
      h("td", {}, d && d.paired.mean !== null ? `± ${fmtDiff(m, d.unpaired.half_width)}` : "–"),
    );
  });
  const by = (verdict) => c.metrics.filter((m) => m.differences[0]?.verdict === verdict);
  const listed = (verdict, word) => {
    const ms = by(verdict);
    if (!ms.length) return null;
    return h("li", { "data-verdict": verdict }, h("strong", {}, word), " ", ms.map((m) => `${m.metric.replaceAll("_", " ")} ${signed(m, m.differences[0].paired)}`).join(", "));
  };
  const same = by("no_difference").length;
  return h(
    "div",
    {},
    h(
      "div",
      { id: "verdict", class: "verdict" },
      h("p", {}, `B (${c.policies[1]}) against A (${c.policies[0]}) over ${c.seeds.length} seeds, paired 95% intervals:`),
      h(
        "ul",
        {},
        listed("better", "better on"),
        listed("worse", "worse on"),
        listed("changed", "changed:"),
        h("li", { "data-verdict": "no_difference" }, `no difference these seeds can tell from chance on ${same} metric${same === 1 ? "" : "s"}`),
      ),
    ),
    c.cut_runs.length ? h("p", { class: "note", id: "cut-runs" }, `${c.cut_runs.length} run${c.cut_runs.length === 1 ? " was" : "s were"} cut short by a limit (${c.cut_runs.slice(0, 3).map((r) => `${r.policy} seed ${r.seed}: ${r.cut.limit} at ${human(r.cut.at_ms)}`).join("; ")}${c.cut_runs.length > 3 ? " …" : ""}): these numbers describe part of the scenario, so mxsim compare would call the verdict inconclusive.`) : null,
    h("p", { class: "note" }, `${c.seeds.length} seeds (${c.seeds[0]} …). Delays are censored: mail never delivered counts as infinitely late. 95% intervals; * marks a paired difference whose interval excludes zero; pp: percentage points. The last column is how wide the interval would be without pairing.`),
    h(
      "table",
      { class: "numbers", id: "comparison-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "metric"), ...c.policies.map((p, i) => h("th", {}, `${"AB"[i]}: ${p}`)), h("th", {}, "B − A paired"), h("th", {}, "unpaired"))),
      h("tbody", {}, ...rows),
    ),
  );
}

/** The failure analysis of a report: culprit, suspects with their codes and failure windows,
 *  and where 4.4.3 came from. `onHost(id)` highlights a host; `onTime(ms)` jumps there. */
export function analysisView(report, { onHost, onTime, onCode }) {
  const a = report.analysis;
  if (!a) return h("p", { class: "note" }, "No analysis yet.");
  const out = [];
  out.push(h("p", {}, a.culprit ? ["Most to blame: ", h("button", { type: "button", "data-host": a.culprit, on: { click: () => onHost(a.culprit) } }, a.culprit)] : "No host has caused failures so far."));
  const list = h("ul", {});
  for (const s of a.suspects.slice(0, 6)) {
    const codes = s.dominant_codes.slice(0, 3).map((c) => [codeButton(c.code, onCode), ` ${percent(c.share, 0)} `]);
    const windows = s.windows.slice(0, 4).map((w) => h("button", { type: "button", class: "window", "data-from": w.from_ms, on: { click: () => { onHost(s.host); onTime(w.from_ms); } } }, `${duration(w.from_ms)}–${duration(w.to_ms)}`));
    list.append(
      h(
        "li",
        {},
        h("button", { type: "button", "data-host": s.host, on: { click: () => onHost(s.host) } }, s.host),
        ` caused ${s.failures_caused} failures (${percent(s.failure_rate, 1)} of its contacts), added ${human(s.delay_added_ms)} of delay; codes `,
        ...codes.flat(),
        windows.length ? [" failing ", ...windows.flatMap((w) => [w, " "])] : "",
      ),
    );
  }
  out.push(list);
  const o = a.origin_443;
  if (o && o.total > 0) {
    const relays = o.relay.map((r) => `${r.relay} could not reach ${r.beyond} (${number(r.count)})`).join(", ");
    const dns = Object.entries(o.dns).map(([resolver, n]) => `resolver ${resolver} (${n})`).join(", ");
    out.push(h("p", {}, `Where 4.4.3 came from (${o.total}): `, [relays, dns].filter(Boolean).join("; ")));
  }
  return out;
}

function codeButton(text, onCode) {
  const m = /\d\.\d{1,3}\.\d{1,3}/.exec(text);
  if (!m) return h("span", {}, text);
  return h("button", { type: "button", class: "codelink", "data-code": m[0], title: `explain ${m[0]}`, on: { click: () => onCode(m[0]) } }, text);
}

/** How a traced message's life ended, in words. */
export function ending(records) {
  const last = records[records.length - 1];
  const arrival = records.find((r) => r.kind === "arrival");
  const age = last && arrival ? duration(last.t_ms - arrival.t_ms) : "";
  if (!last) return "no records";
  if (last.kind === "delivered") return `delivered after ${age}`;
  if (last.kind === "bounced") return `bounced after ${age}`;
  if (last.kind === "expired") return `expired after ${age}`;
  return `still queued after ${age}`;
}

/** A message's route trace: every attempt with its hops (the failed hop marked), the reply,
 *  the wait that followed and the rule that chose it. */
export function messageView(traced, onCode) {
  const items = [];
  let arrived = 0;
  for (const r of traced.records) {
    const at = `${duration(r.t_ms - arrived)}`;
    if (r.kind === "arrival") {
      arrived = r.t_ms;
      items.push(h("li", {}, `arrived at ${duration(r.t_ms)} for ${r.domain}`));
    } else if (r.kind === "attempt") {
      const hops = h("ul", { class: "hops" }, ...(r.hops ?? []).map((hop, i) => h("li", { class: (r.blamed ?? []).includes(i) ? "blamed" : "" }, `${hop.via ? "  via " + hop.via + " → " : ""}${hop.host}: `, codeButton(hop.reply ?? "", onCode), (r.blamed ?? []).includes(i) ? " ← failed here" : "")));
      items.push(h("li", {}, `+${at} attempt ${r.n}: `, codeButton(r.reply ?? "", onCode), hops));
    } else if (r.kind === "deferred") {
      items.push(h("li", {}, `+${at} deferred: wait ${duration(r.retry_at_ms - r.t_ms)} (rule: ${r.rule})`));
    } else if (["delivered", "bounced", "expired", "relayed", "waiting", "gated", "delay_warning"].includes(r.kind)) {
      items.push(h("li", {}, `+${at} ${r.kind.replace("_", " ")}`, r.reply ? [": ", codeButton(r.reply, onCode)] : "", r.host ? ` at ${r.host}` : ""));
    }
  }
  return h("div", { "data-message": traced.message }, h("h3", {}, `Message ${traced.message}: ${ending(traced.records)}`), h("ol", { class: "timeline" }, ...items));
}

/** `mxsim explain` data as a card; `onCode` explains a neighbouring code. */
export function explanationView(e, onCode) {
  return h(
    "div",
    { "data-code": e.code },
    h("h3", {}, `${e.code} — ${e.name}`),
    h("p", {}, e.meaning),
    h("p", {}, h("strong", {}, "Class: "), e.class_meaning),
    h("p", {}, h("strong", {}, "A sender "), e.sender, "."),
    h("p", {}, h("strong", {}, "What to do: "), e.advice),
    e.neighbours?.length ? h("ul", {}, ...e.neighbours.map((n) => h("li", {}, codeButton(n.code, onCode), ` ${n.name}: ${n.difference}`))) : "",
    ...(e.notes ?? []).map((n) => h("p", { class: "note" }, n)),
    h("p", { class: "note" }, `Defined in ${e.defined_in}.`),
  );
}
