// Text for numbers and simulated times, as the CLI prints them (durations like 1h23m4s).

/** A duration in ms as `2d3h4m5s` (ms kept below a minute), "0s" for zero. */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  const sign = ms < 0 ? "−" : "";
  let rest = Math.round(Math.abs(ms));
  const units = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]];
  let out = "";
  for (const [u, n] of units) {
    const k = Math.floor(rest / n);
    if (k > 0) {
      out += `${k}${u}`;
      rest -= k * n;
    }
  }
  if (rest > 0) out += `${rest}ms`;
  return sign + (out || "0s");
}

/** A duration in ms rounded to at most two units, as the CLI's reports print it (core's
 *  `time::human`): "250ms", "12.5s", "1h20m", "4d3h". For tables; the clock stays exact. */
export function human(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms < 0) return "−" + human(-ms);
  const v = Math.round(ms);
  if (v < 1000) return `${v}ms`;
  if (v < 60_000) {
    const tenths = Math.floor((v + 50) / 100);
    return tenths % 10 === 0 ? `${tenths / 10}s` : `${Math.floor(tenths / 10)}.${tenths % 10}s`;
  }
  const units = [["d", 86_400_000, "h", 3_600_000], ["h", 3_600_000, "m", 60_000], ["m", 60_000, "s", 1000]];
  const [big, bigMs, small, smallMs] = units.find(([, n]) => v >= n);
  const rounded = Math.floor((v + smallMs / 2) / smallMs) * smallMs;
  const whole = Math.floor(rounded / bigMs);
  const rest = Math.floor((rounded % bigMs) / smallMs);
  return rest === 0 ? `${whole}${big}` : `${whole}${big}${rest}${small}`;
}

/** Parses "90s", "1h30m", "2d", "250ms" or a bare number of seconds; null when not a time. */
export function parseDuration(text) {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/g;
  const n = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  let used = 0;
  for (const m of t.matchAll(re)) {
    total += Number(m[1]) * n[m[2]];
    used += m[0].length;
  }
  return used === t.length && used > 0 ? total : null;
}

/** A share as a percentage with `digits` decimals. */
export function percent(x, digits = 2) {
  return x === null || x === undefined ? "–" : `${(x * 100).toFixed(digits)}%`;
}

/** A difference of two shares in percentage points ("+9.98 pp" is not 9.98% more). */
export function points(x) {
  return x === null || x === undefined ? "–" : `${(x * 100).toFixed(2)} pp`;
}

/** A plain number, at most 4 significant decimals. */
export function number(x) {
  if (x === null || x === undefined) return "–";
  return Number.isInteger(x) ? String(x) : x.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
}
