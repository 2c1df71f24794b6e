//! `mxsim run --plot DIR`: the run as SVG pictures (plotters, SVG backend only): the delay
//! distribution, outcomes over time, the queue over time, and each host's success rate over
//! time. Every axis says what it measures and in which unit. `compare --plot` and
//! `sweep --plot` draw theirs in `experiment`.

mod experiment;
pub use experiment::{comparison_plots, sweep_plots};

use crate::Failure;
use mxsim_core::Report;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

const SIZE: (u32, u32) = (900, 500);
const HOURS: f64 = 3_600_000.0;

fn fail(path: &Path, e: impl std::fmt::Display) -> Failure {
    Failure::Input(format!("error: cannot draw {}: {e}", path.display()))
}

/// Seconds as a short duration label: 500ms, 30s, 5m, 2h, 3d.
fn human_s(s: f64) -> String {
    mxsim_core::time::human(mxsim_core::time::SimDuration::from_ms(
        (s * 1000.0).round() as u64
    ))
}

/// Picks a time unit for a span in ms: hours for long runs, minutes for short ones.
fn time_unit(span_ms: f64) -> (f64, &'static str) {
    if span_ms >= 3.0 * HOURS {
        (HOURS, "hours since start")
    } else {
        (60_000.0, "minutes since start")
    }
}

/// A delay-distribution chart on `root` (filled white): delays in seconds on a log axis that
/// spans `delays` (ticks at durations people think in, labelled as durations), the share
/// delivered in % on the other. Returns the chart and the axis's ends (seconds); a delay of
/// 0 is drawn at the low end. `run --plot` and `compare --plot` both draw on it.
fn delay_axes<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    path: &Path,
    caption: &str,
    caption_size: u32,
    delays: impl Iterator<Item = f64> + Clone,
) -> Result<(DelayChart<'a, 'b>, f64, f64), Failure> {
    root.fill(&WHITE).map_err(|e| fail(path, e))?;
    let max_s = delays.clone().fold(0.001f64, f64::max);
    let min_s = delays.filter(|&d| d > 0.0).fold(max_s, f64::min);
    let (lo, hi) = ((min_s / 2.0).max(0.001), (max_s * 2.0).max(min_s * 4.0));
    let ticks = [
        0.01,
        0.1,
        1.0,
        10.0,
        60.0,
        600.0,
        3600.0,
        4.0 * 3600.0,
        86_400.0,
        4.0 * 86_400.0,
    ];
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", caption_size))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (lo..hi).log_scale().with_key_points(
                ticks
                    .into_iter()
                    .filter(|t| (lo..=hi).contains(t))
                    .collect(),
            ),
            0.0..100.0,
        )
        .map_err(|e| fail(path, e))?;
    chart
        .configure_mesh()
        .x_desc("delivery delay after arrival (log scale)")
        .y_desc("messages delivered (% of all)")
        .x_label_formatter(&|s| human_s(*s))
        .draw()
        .map_err(|e| fail(path, e))?;
    Ok((chart, lo, hi))
}

/// The chart [`delay_axes`] builds.
type DelayChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<
        plotters::coord::combinators::WithKeyPoints<plotters::coord::combinators::LogCoord<f64>>,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// Draws the four pictures into `dir`; returns their paths.
pub fn write_plots(dir: &Path, r: &Report) -> Result<Vec<PathBuf>, Failure> {
    let (Some(series), Some(cdf)) = (&r.series, &r.delay_cdf) else {
        return Ok(Vec::new());
    };
    let mut written = Vec::new();
    let title = |what: &str| format!("{}: {what} (seed {})", r.scenario, r.seed);

    // 1. The delay distribution over every message (censored: it tops out at the share
    //    delivered), with the SLO times marked.
    let path = dir.join("delay-cdf.svg");
    {
        let root = SVGBackend::new(&path, SIZE).into_drawing_area();
        let delays = cdf.iter().map(|p| p.delay_ms as f64 / 1000.0);
        let (mut chart, lo, hi) =
            delay_axes(&root, &path, &title("delay distribution"), 20, delays)?;
        let x_max = hi;
        let unit = 1000.0;
        let points: Vec<(f64, f64)> = cdf
            .iter()
            .map(|p| ((p.delay_ms as f64 / unit).max(lo), p.share * 100.0))
            .collect();
        chart
            .draw_series(LineSeries::new(points, BLUE.stroke_width(2)))
            .map_err(|e| fail(&path, e))?
            .label("delivered by that delay (undelivered never reach the top)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        for w in &r.delivered_within {
            let x = w.within_ms as f64 / unit;
            if x <= x_max && x >= lo {
                let y = w.share.unwrap_or(0.0) * 100.0;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, 0.0), (x, 100.0)],
                        RED.mix(0.4),
                    )))
                    .map_err(|e| fail(&path, e))?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!(
                            "{:.1}% within {}",
                            y,
                            mxsim_core::time::human(mxsim_core::time::SimDuration::from_ms(
                                w.within_ms
                            ))
                        ),
                        (x, (y - 6.0).max(2.0)),
                        {
                            // Labels right of the middle hang to the left of their line.
                            let h = if x > (lo * hi).sqrt() {
                                HPos::Right
                            } else {
                                HPos::Left
                            };
                            ("sans-serif", 14)
                                .into_font()
                                .color(&RED)
                                .pos(Pos::new(h, VPos::Top))
                        },
                    )))
                    .map_err(|e| fail(&path, e))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(&path, e))?;
        root.present().map_err(|e| fail(&path, e))?;
    }
    written.push(path);

    let buckets = &series.buckets;
    let span = buckets.last().map_or(1, |b| b.t_ms + series.every_ms) as f64;
    let (unit, x_label) = time_unit(span);
    let per = mxsim_core::time::human(mxsim_core::time::SimDuration::from_ms(series.every_ms));
    let over_time = |pick: Bucket| -> Vec<(f64, f64)> {
        buckets
            .iter()
            .map(|b| (b.t_ms as f64 / unit, pick(b) as f64))
            .collect()
    };
    let frame = TimeChart {
        x_max: span / unit,
        x_label,
    };

    // 2. Outcomes over time, per bucket.
    let orange = RGBColor(230, 140, 0);
    let path = dir.join("outcomes.svg");
    frame.draw(
        &path,
        &title("outcomes over time"),
        &format!("messages per {per}"),
        None,
        vec![
            ("arrived".into(), BLACK, over_time(|b| b.arrivals)),
            ("delivered".into(), GREEN, over_time(|b| b.delivered)),
            (
                "deferred (attempts)".into(),
                orange,
                over_time(|b| b.deferred),
            ),
            ("bounced".into(), RED, over_time(|b| b.bounced)),
            ("expired".into(), MAGENTA, over_time(|b| b.expired)),
        ],
    )?;
    written.push(path);

    // 3. The queue over time.
    let path = dir.join("queue.svg");
    frame.draw(
        &path,
        &title("queue over time"),
        "messages",
        None,
        vec![
            (
                "in a queue (not yet delivered, bounced or expired)".into(),
                BLUE,
                over_time(|b| b.queued),
            ),
            (
                "attempts under way".into(),
                orange,
                over_time(|b| b.in_flight),
            ),
        ],
    )?;
    written.push(path);

    // 4. Each contacted host's success rate per bucket (only buckets it was contacted in).
    let path = dir.join("host-success.svg");
    frame.draw(
        &path,
        &title("success rate per host"),
        &format!("contacts answered with success (% per {per})"),
        Some(105.0),
        series
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let c = Palette99::pick(i).to_rgba();
                (
                    h.host.clone(),
                    RGBColor(c.0, c.1, c.2),
                    h.points
                        .iter()
                        .map(|p| (p.t_ms as f64 / unit, p.success_rate * 100.0))
                        .collect(),
                )
            })
            .collect(),
    )?;
    written.push(path);
    Ok(written)
}

/// A count read from one bucket.
type Bucket = fn(&mxsim_core::report::SeriesBucket) -> u64;

/// A named line: label, colour, points.
type Line = (String, RGBColor, Vec<(f64, f64)>);

/// The frame shared by the pictures over time: the x axis from 0 to the run's end.
struct TimeChart {
    x_max: f64,
    x_label: &'static str,
}

impl TimeChart {
    /// Draws `lines` into `path`, the y axis from 0 to `y_max` (default: 10% above the
    /// highest point).
    fn draw(
        &self,
        path: &Path,
        caption: &str,
        y_desc: &str,
        y_max: Option<f64>,
        lines: Vec<Line>,
    ) -> Result<(), Failure> {
        let root = SVGBackend::new(path, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(path, e))?;
        let y_max = y_max.unwrap_or_else(|| {
            lines
                .iter()
                .flat_map(|(_, _, p)| p.iter().map(|q| q.1))
                .fold(1.0, f64::max)
                * 1.1
        });
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..self.x_max, 0.0..y_max)
            .map_err(|e| fail(path, e))?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(y_desc)
            .draw()
            .map_err(|e| fail(path, e))?;
        for (name, color, points) in lines {
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| fail(path, e))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(path, e))?;
        root.present().map_err(|e| fail(path, e))
    }
}
