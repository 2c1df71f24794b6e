//! Pictures of experiments: `compare --plot` (the policies' delay distributions overlaid; each
//! candidate's paired difference against the baseline with its 95% interval) and
//! `sweep --plot` (the cells on two metrics, the Pareto front joined).

use super::{delay_axes, fail, human_s, SIZE};
use crate::Failure;
use mxsim_core::compare::Comparison;
use mxsim_core::sweep::Sweep;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Okabe–Ito colours: told apart with the common kinds of colour blindness.
const COLOURS: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

fn colour(k: usize) -> RGBColor {
    COLOURS[k % COLOURS.len()]
}

/// Draws `compare-delay-cdf.svg` and `compare-differences.svg`; `cdfs[p]` is policy p's
/// pooled delay distribution as (share, delay ms) steps (`experiment::pooled_delay_cdf`).
pub fn comparison_plots(
    dir: &Path,
    file: &str,
    c: &Comparison,
    cdfs: &[Vec<(f64, f64)>],
) -> Result<Vec<PathBuf>, Failure> {
    let mut written = Vec::new();
    let path = dir.join("compare-delay-cdf.svg");
    {
        let root = SVGBackend::new(&path, SIZE).into_drawing_area();
        let caption = format!(
            "{file}: share delivered by each delay per policy ({} seeds pooled)",
            c.seeds.len()
        );
        let delays = cdfs.iter().flatten().map(|&(_, d)| d / 1000.0);
        let (mut chart, lo, _) = delay_axes(&root, &path, &caption, 18, delays)?;
        for (k, (name, cdf)) in c.policies.iter().zip(cdfs).enumerate() {
            let style = colour(k).stroke_width(if k == 0 { 3 } else { 2 });
            let points: Vec<(f64, f64)> = cdf
                .iter()
                .map(|&(share, d)| ((d / 1000.0).max(lo), share * 100.0))
                .collect();
            let label = if k == 0 {
                format!("{name} (baseline)")
            } else {
                name.clone()
            };
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(|e| fail(&path, e))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(&path, e))?;
        root.present().map_err(|e| fail(&path, e))?;
    }
    written.push(path);

    // Paired differences relative to the baseline's mean, so metrics of different units share
    // one axis. Metrics whose baseline mean is 0 have no relative difference and are left out.
    let path = dir.join("compare-differences.svg");
    {
        struct Bar {
            row: usize,
            candidate: usize,
            mean: f64,
            low: f64,
            high: f64,
            significant: bool,
        }
        let mut rows: Vec<String> = Vec::new();
        let mut bars = Vec::new();
        for m in &c.metrics {
            let Some(base) = m.policies[0].map(|i| i.mean.abs()).filter(|&b| b > 0.0) else {
                continue;
            };
            let row = rows.len();
            let mut any = false;
            let mut unreached = false;
            for (j, d) in m.differences.iter().enumerate() {
                if d.as_ref().is_some_and(|d| !d.paired.mean.is_finite()) {
                    // A percentile one policy never reached: no bar has an infinite length.
                    unreached = true;
                } else if let Some(d) = d {
                    any = true;
                    bars.push(Bar {
                        row,
                        candidate: j + 1,
                        mean: d.paired.mean / base * 100.0,
                        low: d.paired.low / base * 100.0,
                        high: d.paired.high / base * 100.0,
                        significant: d.significant,
                    });
                }
            }
            if unreached {
                rows.push(format!("{} (not reached: ∞)", m.metric));
            } else if any {
                rows.push(m.metric.clone());
            }
        }
        let extent = bars
            .iter()
            .flat_map(|b| [b.low.abs(), b.high.abs()])
            .fold(1.0f64, f64::max)
            * 1.1;
        let height = (120 + 28 * rows.len() as u32).max(300);
        let root = SVGBackend::new(&path, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&path, e))?;
        let n = rows.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{file}: paired difference against {} (95% interval)",
                    c.policies[0]
                ),
                ("sans-serif", 18),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(190)
            .build_cartesian_2d(-extent..extent, -0.5..n - 0.5)
            .map_err(|e| fail(&path, e))?;
        let names = rows.clone();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows.len().max(1))
            .y_label_formatter(&move |y| {
                let i = y.round();
                if (y - i).abs() < 1e-6 && i >= 0.0 {
                    // The first metric on top.
                    let k = names.len().checked_sub(1 + i as usize);
                    k.and_then(|k| names.get(k)).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc("candidate − baseline, % of the baseline's mean (filled: interval excludes 0)")
            .draw()
            .map_err(|e| fail(&path, e))?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n - 0.5)],
                BLACK.stroke_width(1),
            )))
            .map_err(|e| fail(&path, e))?;
        let candidates = c.policies.len() - 1;
        let offset = |k: usize| {
            if candidates <= 1 {
                0.0
            } else {
                (k as f64 - 1.0) / (candidates as f64 - 1.0) * 0.5 - 0.25
            }
        };
        for k in 1..c.policies.len() {
            let style = colour(k);
            let mine: Vec<&Bar> = bars.iter().filter(|b| b.candidate == k).collect();
            chart
                .draw_series(mine.iter().map(|b| {
                    let y = n - 1.0 - b.row as f64 - offset(k);
                    PathElement::new(vec![(b.low, y), (b.high, y)], style.stroke_width(2))
                }))
                .map_err(|e| fail(&path, e))?
                .label(c.policies[k].clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], style.stroke_width(2))
                });
            chart
                .draw_series(mine.iter().map(|b| {
                    let y = n - 1.0 - b.row as f64 - offset(k);
                    let fill = if b.significant {
                        style.filled()
                    } else {
                        style.stroke_width(2)
                    };
                    Circle::new((b.mean, y), 5, fill)
                }))
                .map_err(|e| fail(&path, e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(&path, e))?;
        root.present().map_err(|e| fail(&path, e))?;
    }
    written.push(path);
    Ok(written)
}

/// A metric value for an axis: durations in seconds (labelled as durations), others as is.
fn axis_value(v: f64, duration: bool) -> f64 {
    if duration {
        v / 1000.0
    } else {
        v
    }
}

/// A cell on the plot: its two metrics, whether it is on its front, its label.
type Point = (f64, f64, bool, String);

/// Draws `sweep-pareto.svg`: every cell on the two `--pareto` metrics, the front joined and
/// labelled with its parameter values; with a parameter that changes the world, one front per
/// environment, each in its own colour. Nothing without `--pareto`.
pub fn sweep_plots(dir: &Path, file: &str, s: &Sweep) -> Result<Vec<PathBuf>, Failure> {
    let Some([a, b]) = &s.pareto else {
        return Err(Failure::Input(
            "error: sweep --plot draws the Pareto front: give --pareto METRIC,METRIC too".into(),
        ));
    };
    let is_duration = |m: &str| {
        s.cells
            .first()
            .and_then(|c| c.metrics.iter().find(|x| x.metric == m))
            .is_some_and(|x| x.is_duration)
    };
    let (da, db) = (is_duration(a), is_duration(b));
    let (points, point_env): (Vec<Point>, Vec<usize>) = s
        .cells
        .iter()
        .filter_map(|c| {
            let p = (
                axis_value(c.mean(a)?, da),
                axis_value(c.mean(b)?, db),
                c.pareto == Some(true),
                c.values.join(", "),
            );
            Some((p, c.environment))
        })
        .unzip();
    let mut environments: Vec<usize> = point_env.clone();
    environments.sort_unstable();
    environments.dedup();
    let path = dir.join("sweep-pareto.svg");
    let span = |sel: fn(&Point) -> f64| {
        let lo = points.iter().map(sel).fold(f64::INFINITY, f64::min);
        let hi = points.iter().map(sel).fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return 0.0..1.0;
        }
        let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(1e-9);
        (lo - pad)..(hi + pad)
    };
    {
        let root = SVGBackend::new(&path, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{file}: {} cells, Pareto front of {a} and {b}{} (mean over {} seeds)",
                    s.cells.len(),
                    if s.world_params.is_empty() {
                        ""
                    } else {
                        " per environment"
                    },
                    s.seeds.len()
                ),
                ("sans-serif", 16),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(span(|p| p.0), span(|p| p.1))
            .map_err(|e| fail(&path, e))?;
        let fmt = |duration: bool| {
            move |v: &f64| {
                if duration {
                    human_s(v.max(0.0))
                } else {
                    format!("{v:.3}")
                }
            }
        };
        let (fa, fb) = (fmt(da), fmt(db));
        chart
            .configure_mesh()
            .x_desc(a.to_string())
            .y_desc(b.to_string())
            .x_label_formatter(&fa)
            .y_label_formatter(&fb)
            .draw()
            .map_err(|e| fail(&path, e))?;
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| !p.2)
                    .map(|p| Circle::new((p.0, p.1), 4, RGBColor(120, 120, 120).stroke_width(1))),
            )
            .map_err(|e| fail(&path, e))?
            .label("cell")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, RGBColor(120, 120, 120).stroke_width(1)));
        for (k, env) in environments.iter().enumerate() {
            let mut front: Vec<&Point> = points
                .iter()
                .zip(&point_env)
                .filter(|(p, e)| p.2 && *e == env)
                .map(|(p, _)| p)
                .collect();
            front.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.total_cmp(&q.1)));
            let c = colour(k);
            chart
                .draw_series(LineSeries::new(
                    front.iter().map(|p| (p.0, p.1)),
                    c.stroke_width(2),
                ))
                .map_err(|e| fail(&path, e))?;
            let label = match environment_label(s, *env) {
                Some(l) => format!("Pareto front, {l}"),
                None => "on the Pareto front".into(),
            };
            chart
                .draw_series(front.iter().map(|p| Circle::new((p.0, p.1), 5, c.filled())))
                .map_err(|e| fail(&path, e))?
                .label(label)
                .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
        }
        chart
            .draw_series(points.iter().map(|p| {
                let colour = if p.2 { BLACK } else { RGBColor(110, 110, 110) };
                Text::new(
                    format!(" {}", p.3),
                    (p.0, p.1),
                    ("sans-serif", 12).into_font().color(&colour),
                )
            }))
            .map_err(|e| fail(&path, e))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(&path, e))?;
        root.present().map_err(|e| fail(&path, e))?;
    }
    Ok(vec![path])
}

/// "hosts[mx].failure=2h" for the environment of cell `env`, when parameters change the world.
fn environment_label(s: &Sweep, env: usize) -> Option<String> {
    if s.world_params.is_empty() {
        return None;
    }
    let cell = &s.cells[env];
    let parts: Vec<String> = s
        .params
        .iter()
        .zip(&cell.values)
        .filter(|(p, _)| s.world_params.contains(p))
        .map(|(p, v)| format!("{p}={v}"))
        .collect();
    Some(parts.join(", "))
}
