//! `--csv DIR`: the report's tables as CSV files, one per table, for spreadsheets and CI.
//!
//! Every number comes from the same `Report` the JSON shows (a test reads the files back and
//! compares them with `--json`). Columns are named like the JSON fields; times are ms.

use crate::Failure;
use mxsim_core::report::Tally;
use mxsim_core::Report;
use std::collections::BTreeSet;
use std::path::Path;

/// Creates `dir` if needed; a path that cannot be a directory is invalid input (exit 2),
/// found before the run (`--csv DIR`, `--plot DIR`).
pub fn prepare_dir(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::Input(format!(
            "error: cannot create the output directory {}: {e}\n  help: --csv and --plot take a directory path",
            dir.display()
        ))
    })
}

fn write(dir: &Path, name: &str, rows: Vec<Vec<String>>) -> Result<(), Failure> {
    let path = dir.join(name);
    let fail = |e: &dyn std::fmt::Display| {
        Failure::Input(format!("error: cannot write {}: {e}", path.display()))
    };
    let mut w = csv::Writer::from_path(&path).map_err(|e| fail(&e))?;
    for row in rows {
        w.write_record(&row).map_err(|e| fail(&e))?;
    }
    w.flush().map_err(|e| fail(&e))
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |x| x.to_string())
}

/// `451 4.4.1=3;421 4.3.2=1`: a failures table in one cell.
fn failures(t: &Tally) -> String {
    t.failures
        .iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn tally(t: &Tally) -> [String; 3] {
    [
        t.attempts.to_string(),
        t.successes.to_string(),
        opt(t.success_rate),
    ]
}

/// Writes every table of an observed run's report into `dir`.
pub fn write_run(dir: &Path, r: &Report) -> Result<(), Failure> {
    write(dir, "outcomes.csv", outcomes(r))?;
    let (Some(routing), Some(series)) = (&r.routing, &r.series) else {
        return Ok(());
    };
    let mut hosts = vec![strings(&[
        "host",
        "role",
        "attempts",
        "successes",
        "success_rate",
        "failures_caused",
        "failed_attempts_caused",
        "delay_added_ms",
        "failing_ms",
        "windows",
        "failures",
    ])];
    let mut windows = vec![strings(&[
        "host", "from_ms", "to_ms", "failures", "contacts",
    ])];
    for h in &routing.hosts {
        let mut row = vec![h.host.clone(), h.role.to_string()];
        row.extend(tally(&h.tally));
        row.extend([
            h.failures_caused.to_string(),
            h.failed_attempts_caused.to_string(),
            h.delay_added_ms.to_string(),
            h.failing_ms.to_string(),
            h.windows.len().to_string(),
            failures(&h.tally),
        ]);
        hosts.push(row);
        for w in &h.windows {
            windows.push(vec![
                h.host.clone(),
                w.from_ms.to_string(),
                w.to_ms.to_string(),
                w.failures.to_string(),
                w.contacts.to_string(),
            ]);
        }
    }
    write(dir, "hosts.csv", hosts)?;
    write(dir, "windows.csv", windows)?;
    let mut links = vec![strings(&[
        "from",
        "to",
        "attempts",
        "successes",
        "success_rate",
        "failures",
    ])];
    for l in &routing.links {
        let mut row = vec![l.from.clone(), l.to.clone()];
        row.extend(tally(&l.tally));
        row.push(failures(&l.tally));
        links.push(row);
    }
    write(dir, "links.csv", links)?;
    let mut routes = vec![strings(&[
        "route",
        "attempts",
        "successes",
        "success_rate",
        "delay_added_ms",
        "failures",
    ])];
    for rt in &routing.routes {
        let mut row = vec![rt.route.clone()];
        row.extend(tally(&rt.tally));
        row.push(rt.delay_added_ms.to_string());
        row.push(failures(&rt.tally));
        routes.push(row);
    }
    write(dir, "routes.csv", routes)?;
    // One column per deferral code seen anywhere, so every row has the same columns.
    let codes: BTreeSet<&String> = series
        .buckets
        .iter()
        .flat_map(|b| b.deferred_by_code.keys())
        .collect();
    let mut head = strings(&[
        "t_ms",
        "arrivals",
        "attempts",
        "delivered",
        "bounced",
        "expired",
        "deferred",
        "queued",
        "in_flight",
    ]);
    head.extend(codes.iter().map(|c| format!("deferred_{c}")));
    let mut rows = vec![head];
    for b in &series.buckets {
        let mut row: Vec<String> = [
            b.t_ms,
            b.arrivals,
            b.attempts,
            b.delivered,
            b.bounced,
            b.expired,
            b.deferred,
            b.queued,
            b.in_flight,
        ]
        .iter()
        .map(u64::to_string)
        .collect();
        row.extend(
            codes
                .iter()
                .map(|c| b.deferred_by_code.get(*c).copied().unwrap_or(0).to_string()),
        );
        rows.push(row);
    }
    write(dir, "series.csv", rows)?;
    let mut host_series = vec![strings(&[
        "t_ms",
        "host",
        "contacts",
        "successes",
        "success_rate",
    ])];
    for h in &series.hosts {
        for p in &h.points {
            host_series.push(vec![
                p.t_ms.to_string(),
                h.host.clone(),
                p.contacts.to_string(),
                p.successes.to_string(),
                p.success_rate.to_string(),
            ]);
        }
    }
    write(dir, "host_series.csv", host_series)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `metric,value` rows: outcomes, delays (plain and censored), SLO shares, attempts.
fn outcomes(r: &Report) -> Vec<Vec<String>> {
    let o = &r.outcomes;
    let d = &r.delay_ms;
    let c = &r.delay_censored_ms;
    let mut rows: Vec<(String, String)> = vec![
        ("scenario".into(), r.scenario.clone()),
        ("seed".into(), r.seed.to_string()),
        ("digest".into(), r.digest.clone()),
        ("generated".into(), o.generated.to_string()),
        ("delivered".into(), o.delivered.to_string()),
        ("bounced".into(), o.bounced.to_string()),
        ("expired".into(), o.expired.to_string()),
        ("queued".into(), o.queued.to_string()),
        ("delay_p50_ms".into(), opt(d.p50)),
        ("delay_p90_ms".into(), opt(d.p90)),
        ("delay_p95_ms".into(), opt(d.p95)),
        ("delay_p99_ms".into(), opt(d.p99)),
        ("delay_max_ms".into(), opt(d.max)),
        ("delay_mean_ms".into(), opt(d.mean)),
        ("delay_censored_p50_ms".into(), opt(c.p50)),
        ("delay_censored_p90_ms".into(), opt(c.p90)),
        ("delay_censored_p95_ms".into(), opt(c.p95)),
        ("delay_censored_p99_ms".into(), opt(c.p99)),
    ];
    for w in &r.delivered_within {
        rows.push((
            format!("delivered_within_{}ms_share", w.within_ms),
            opt(w.share),
        ));
    }
    rows.push(("attempts_total".into(), r.attempts.total.to_string()));
    rows.push(("attempts_per_message".into(), opt(r.attempts.per_message)));
    rows.push(("queued_peak".into(), r.queued_peak.to_string()));
    let mut out = vec![strings(&["metric", "value"])];
    out.extend(rows.into_iter().map(|(k, v)| vec![k, v]));
    out
}
