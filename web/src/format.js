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
 *  `time::human` and `time::rounded`): "250ms", "12.5s", "1h20m", "4d3h"; a value that rounds
 *  into the next unit is printed in it (59m59.9s → "1h"). For tables; the clock stays exact. */
export function human(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms < 0) return "−" + human(-ms);
  const [v, step] = rounded(Math.round(ms));
  if (v < 1000) return `${v}ms`;
  if (step === 100) {
    const tenths = v / 100;
    return tenths % 10 === 0 ? `${tenths / 10}s` : `${Math.floor(tenths / 10)}.${tenths % 10}s`;
  }
  const units = [["d", 86_400_000, "h", 3_600_000], ["h", 3_600_000, "m", 60_000], ["m", 60_000, "s", 1000]];
  const [big, bigMs, small, smallMs] = units.find(([, n]) => v >= n);
  const whole = Math.floor(v / bigMs);
  const rest = Math.floor((v % bigMs) / smallMs);
  return rest === 0 ? `${whole}${big}` : `${whole}${big}${rest}${small}`;
}

/** The value `human` prints and the step it rounds to (core's `time::rounded`). */
function rounded(ms) {
  const near = (step) => Math.floor((ms + step / 2) / step) * step;
  if (ms < 1000) return [ms, 1];
  if (ms < 60_000 && near(100) < 60_000) return [near(100), 100];
  const stepOf = (v) => (v >= 86_400_000 ? 3_600_000 : v >= 3_600_000 ? 60_000 : 1000);
  const v = near(stepOf(ms));
  if (stepOf(v) !== stepOf(ms)) return [Math.max(near(stepOf(v)), v), stepOf(v)];
  return [v, stepOf(ms)];
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

/** A share as a percentage with `digits` decimals; never all or none unless exactly so
 *  (core's `figures::share`: ">99.99%", "<0.01%"). */
export function percent(x, digits = 2) {
  if (x === null || x === undefined) return "–";
  const text = `${(x * 100).toFixed(digits)}%`;
  const step = (10 ** -digits).toFixed(digits);
  if (x < 1 && text === `${(100).toFixed(digits)}%`) return `>${(100 - step).toFixed(digits)}%`;
  if (x > 0 && text === `${(0).toFixed(digits)}%`) return `<${step}%`;
  return text;
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
