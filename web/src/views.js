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

/** The metrics shown per lane: [key, label, value of a report, text of the value]. The keys
 *  are `data-metric` attributes (the browser tests read them against `mxsim run --json`). */
export const METRICS = [
  ["generated", "messages", (r) => r.outcomes.generated, number],
  ["delivered", "delivered", (r) => r.outcomes.delivered, number],
  ["bounced", "bounced", (r) => r.outcomes.bounced, number],
  ["expired", "expired", (r) => r.outcomes.expired, number],
  ["queued", "still queued", (r) => r.outcomes.queued, number],
  ["delivered_ratio", "delivered ratio", (r) => (r.outcomes.generated ? r.outcomes.delivered / r.outcomes.generated : null), (x) => percent(x)],
  ["delay_p50", "delay p50", (r) => r.delay_ms.p50, human],
  ["delay_p95", "delay p95", (r) => r.delay_ms.p95, human],
  ["delay_p99", "delay p99", (r) => r.delay_ms.p99, human],
  ["delay_mean", "delay mean", (r) => r.delay_ms.mean, human],
  ["attempts_per_message", "attempts per message", (r) => r.attempts.per_message, number],
  ["events", "events", (r) => r.events, number],
  ["digest", "trace digest", (r) => r.digest, String],
];

/** A lane's metrics table from its report. */
export function metricsTable(report, lane) {
  return h(
    "table",
    { class: "numbers", "data-lane": lane },
    h("tbody", {}, ...METRICS.map(([key, label, get, show]) => {
      const v = get(report);
      return h("tr", {}, h("th", { scope: "row" }, label), h("td", { "data-metric": key, "data-value": v ?? "" }, show(v)));
    })),
    ...report.delivered_within.map((w) => h("tr", {}, h("th", { scope: "row" }, `delivered within ${human(w.within_ms)}`), h("td", {}, percent(w.share)))),
  );
}

/** Single-seed A vs B: each metric of both runs and B − A. */
export function differenceTable(a, b) {
  const rows = METRICS.filter(([k]) => k !== "digest" && k !== "events").map(([key, label, get, show]) => {
    const x = get(a);
    const y = get(b);
    const d = x === null || y === null ? null : y - x;
    const shown = d === null ? "–" : key === "delivered_ratio" ? points(d) : show === human ? human(d) : number(d);
    return h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, show(x)), h("td", {}, show(y)), h("td", { "data-diff": key }, d > 0 ? `+${shown}` : shown));
  });
  return [h("thead", {}, h("tr", {}, h("th", {}, "metric (this seed)"), h("th", {}, "A"), h("th", {}, "B"), h("th", {}, "B − A"))), h("tbody", {}, ...rows)];
}

/** Several seeds: core's comparison as the answer to "is B better, and by how much?" (each
 *  difference's verdict comes from core, which knows each metric's better direction), then
 *  the table (means, paired differences with 95% intervals, and the unpaired widths). */
export function comparisonTable(c) {
  const share = (m) => !m.is_duration && (m.metric.endsWith("ratio") || m.metric.startsWith("delivered_within"));
  const fmt = (m, x) => (m.is_duration ? human(x) : share(m) ? percent(x) : number(x));
  // A difference of two shares is in percentage points, not a relative percentage.
  const fmtDiff = (m, x) => (share(m) ? points(x) : fmt(m, x));
  const pm = (m, i) => (i ? `${fmt(m, i.mean)} ± ${fmt(m, i.half_width)}` : "–");
  const signed = (m, i) => (i ? `${i.mean > 0 ? "+" : ""}${fmtDiff(m, i.mean)} ± ${fmtDiff(m, i.half_width)}` : "–");
  const rows = c.metrics.map((m) => {
    const d = m.differences[0];
    const sig = d?.significant;
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, m.metric),
      ...m.policies.map((p) => h("td", {}, pm(m, p))),
      h("td", { class: sig ? "sig" : "", "data-paired": m.metric, "data-verdict": d?.verdict ?? "" }, `${signed(m, d?.paired)}${sig ? " *" : ""}`),
      h("td", {}, d ? `± ${fmtDiff(m, d.unpaired.half_width)}` : "–"),
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
    h("p", { class: "note" }, `${c.seeds.length} seeds (${c.seeds[0]} …). 95% intervals; * marks a paired difference whose interval excludes zero; pp: percentage points. The last column is how wide the interval would be without pairing.`),
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
