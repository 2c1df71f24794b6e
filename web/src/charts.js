// Charts drawn with uPlot from the reports core computes (`series.buckets`, `delay_cdf`):
// outcomes over time, queue and in-flight over time, and the delay distribution with the SLO
// marks. Lane A solid, lane B dashed; the same colours in every chart.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const HOUR = 3_600_000;
const COLOURS = { delivered: "#009E73", bounced: "#D55E00", expired: "#CC79A7", queued: "#0072B2", in_flight: "#E69F00", cdf: "#0072B2" };
const DASH = [[], [6, 4]];

function hours(ms) {
  return ms / HOUR;
}

function size(container) {
  return { width: Math.max(280, Math.floor(container.clientWidth || 400)), height: 200 };
}

/** A uPlot chart that is rebuilt when the series change and updated in place otherwise. */
class Chart {
  constructor(container, title, xLabel, yLabel, options = {}) {
    this.container = container;
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
    this.options = options;
    this.plot = null;
    this.key = "";
  }

  set(series, data) {
    const key = series.map((s) => s.label).join("|");
    if (this.plot && key === this.key) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.key = key;
    this.container.replaceChildren();
    this.plot = new uPlot(
      {
        title: this.title,
        ...size(this.container),
        scales: { x: { time: false, ...(this.options.xScale ?? {}) }, y: { range: this.options.yRange } },
        axes: [{ label: this.xLabel }, { label: this.yLabel }],
        series: [{ label: this.xLabel }, ...series],
        hooks: this.options.hooks ?? {},
        legend: { live: true },
      },
      data,
      this.container,
    );
  }

  resize() {
    if (this.plot) this.plot.setSize(size(this.container));
  }
}

/** The three charts of the page. */
export class Charts {
  constructor(outcomes, queue, delays) {
    this.outcomes = new Chart(outcomes, "Outcomes over time (cumulative)", "hours", "messages");
    this.queue = new Chart(queue, "Queue and in flight", "hours", "messages");
    this.slo = [];
    const self = this;
    this.delays = new Chart(delays, "Delivery delay distribution (CDF)", "delay (hours)", "share delivered", {
      yRange: [0, 1],
      hooks: {
        draw: [
          (u) => {
            // SLO marks: a dotted vertical line at each `delivered_within` time.
            const ctx = u.ctx;
            ctx.save();
            ctx.setLineDash([3, 3]);
            ctx.strokeStyle = "#555";
            ctx.fillStyle = "#333";
            ctx.font = `${11 * devicePixelRatio}px sans-serif`;
            for (const ms of self.slo) {
              const x = u.valToPos(hours(ms), "x", true);
              if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) continue;
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.fillText(`SLO ${ms / HOUR}h`, x + 3, u.bbox.top + 12 * devicePixelRatio);
            }
            ctx.restore();
          },
        ],
      },
    });
  }

  /** Redraws from the lanes' reports (parsed `mxsim run --json` objects); `slo` in ms. */
  update(reports, names, slo) {
    this.slo = slo;
    const longest = reports.reduce((best, r) => (r.series.buckets.length > best.series.buckets.length ? r : best), reports[0]);
    const x = longest.series.buckets.map((b) => hours(b.t_ms));
    const pad = (values) => x.map((_, i) => (i < values.length ? values[i] : null));
    const outcomeSeries = [];
    const outcomeData = [x];
    const queueSeries = [];
    const queueData = [x];
    reports.forEach((r, lane) => {
      const b = r.series.buckets;
      for (const k of ["delivered", "bounced", "expired"]) {
        let sum = 0;
        outcomeSeries.push({ label: `${names[lane]} ${k}`, stroke: COLOURS[k], dash: DASH[lane], width: 2 });
        outcomeData.push(pad(b.map((v) => (sum += v[k]))));
      }
      for (const k of ["queued", "in_flight"]) {
        queueSeries.push({ label: `${names[lane]} ${k.replace("_", " ")}`, stroke: COLOURS[k], dash: DASH[lane], width: 2 });
        queueData.push(pad(b.map((v) => v[k])));
      }
    });
    this.outcomes.set(outcomeSeries, outcomeData);
    this.queue.set(queueSeries, queueData);
    // The CDFs on one x axis: the union of their delays.
    const xs = [...new Set(reports.flatMap((r) => r.delay_cdf.map((p) => hours(p.delay_ms))))].sort((a, b) => a - b);
    const cdfData = [xs];
    const cdfSeries = [];
    reports.forEach((r, lane) => {
      const points = r.delay_cdf.map((p) => [hours(p.delay_ms), p.share]);
      let j = -1;
      cdfData.push(
        xs.map((xv) => {
          while (j + 1 < points.length && points[j + 1][0] <= xv) j++;
          return j < 0 ? 0 : points[j][1];
        }),
      );
      cdfSeries.push({ label: `${names[lane]} delivered`, stroke: lane ? "#56B4E9" : COLOURS.cdf, dash: DASH[lane], width: 2, paths: uPlot.paths.stepped({ align: 1 }) });
    });
    if (xs.length === 0) {
      xs.push(0);
      cdfData.forEach((d, i) => i > 0 && d.push(0));
    }
    this.delays.set(cdfSeries, cdfData);
  }

  resize() {
    this.outcomes.resize();
    this.queue.resize();
    this.delays.resize();
  }
}
