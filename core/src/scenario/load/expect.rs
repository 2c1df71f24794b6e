//! `[expect]`: bounds on report metrics and their verdicts.
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

pub(super) fn read_expect(
    r: &mut Reader,
    top: &Fields<'_>,
    hosts: &[HostSpec],
    policy: Option<&Policy>,
) -> Vec<Expectation> {
    let Some(node) = top.get("expect") else {
        return Vec::new();
    };
    // The scalar metrics of the registry, then the table forms.
    let scalars: Vec<&'static str> = crate::metric::FAMILIES
        .iter()
        .map(|f| f.name)
        .filter(|n| Metric::parse(n).is_ok())
        .collect();
    let mut allowed = scalars.clone();
    allowed.extend([
        "bounced_with",
        "host_share",
        "delivered_within",
        "culprit",
        "seeds",
    ]);
    let metrics = format!(
        " [expect] takes: {} (`mxsim metrics` says what each metric measures)",
        allowed.join(", ")
    );
    let Some(f) = r.table_with_help(node, "expect", &allowed, &metrics) else {
        return Vec::new();
    };
    // SLO times named by bounds are added to the scenario's, so only mechanisms are checked.
    let measurable = measurable_of(hosts, policy, &[]);
    let mut out = Vec::new();
    for name in scalars {
        if let Some(n) = f.get(name) {
            let metric = Metric::parse(name).expect("scalars parse");
            let path = f.path_of(name);
            if let Err(why) = metric.measurable(&measurable) {
                let (message, help) = why.split_once("\n  help: ").unwrap_or((&why, ""));
                r.error(
                    &path,
                    n.span.clone(),
                    format!("cannot bound {message}"),
                    (!help.is_empty()).then(|| help.to_string()),
                );
            } else if let Some((min, max)) = read_bound(r, n, &path, metric.is_duration()) {
                out.push(Expectation {
                    name: name.to_string(),
                    metric,
                    min,
                    max,
                });
            }
        }
    }
    if let Some(n) = f.get("bounced_with") {
        if let Kind::Table(entries) = &n.kind {
            for e in entries {
                let path = format!("expect.bounced_with.\"{}\"", e.key);
                match EnhancedCode::parse(&e.key) {
                    Ok(code) => {
                        if let Some((min, max)) = read_bound(r, &e.value, &path, false) {
                            out.push(Expectation {
                                name: format!("bounced_with.\"{code}\""),
                                metric: Metric::BouncedWith(code.to_string()),
                                min,
                                max,
                            });
                        }
                    }
                    Err(msg) => r.error(&path, e.key_span.clone(), msg, None),
                }
            }
        } else {
            r.type_error(n, "expect.bounced_with", "a table of code = { min, max }");
        }
    }
    if let Some(n) = f.get("host_share") {
        if let Kind::Table(entries) = &n.kind {
            for e in entries {
                let path = format!("expect.host_share.\"{}\"", e.key);
                if resolve_host(r, &e.key, e.key_span.clone(), &path, hosts, Want::Any).is_none() {
                    // Reported.
                } else if let Some((min, max)) = read_bound(r, &e.value, &path, false) {
                    out.push(Expectation {
                        name: format!("host_share.\"{}\"", e.key),
                        metric: Metric::HostShare(e.key.clone()),
                        min,
                        max,
                    });
                }
            }
        } else {
            r.type_error(n, "expect.host_share", "a table of host = { min, max }");
        }
    }
    if let Some(n) = f.get("delivered_within") {
        if let Kind::Table(entries) = &n.kind {
            for e in entries {
                let path = format!("expect.delivered_within.\"{}\"", e.key);
                match parse_duration(&e.key) {
                    Ok(d) if d.as_ms() > 0 => {
                        if let Some((min, max)) = read_bound(r, &e.value, &path, false) {
                            out.push(Expectation {
                                name: format!("delivered_within.\"{}\"", e.key),
                                metric: Metric::DeliveredWithin(d.as_ms()),
                                min,
                                max,
                            });
                        }
                    }
                    Ok(_) => r.error(
                        &path,
                        e.key_span.clone(),
                        "the time must be positive".into(),
                        Some("e.g. \"4h\"".into()),
                    ),
                    Err(err) => r.error(
                        &path,
                        e.key_span.clone(),
                        err.message,
                        Some("keys are durations, e.g. delivered_within = { \"4h\" = { min = 0.99 } }".into()),
                    ),
                }
            }
        } else {
            r.type_error(
                n,
                "expect.delivered_within",
                "a table of time = { min, max }, e.g. { \"4h\" = { min = 0.99 } }",
            );
        }
    }
    if let Some(n) = f.get("culprit") {
        if let Some(name) = r.string(n, "expect.culprit") {
            if resolve_host(r, name, n.span.clone(), "expect.culprit", hosts, Want::Any).is_some() {
                out.push(Expectation {
                    name: "culprit".into(),
                    metric: Metric::Culprit(name.to_string()),
                    min: Some(1.0),
                    max: None,
                });
            }
        }
    }
    out
}

pub(super) fn read_bound(
    r: &mut Reader,
    node: &Node,
    path: &str,
    duration: bool,
) -> Option<(Option<f64>, Option<f64>)> {
    let f = r.table(node, path, &["min", "max"])?;
    let mut get = |key: &str| -> Option<Option<f64>> {
        let n = f.get(key)?;
        let p = f.path_of(key);
        Some(if duration {
            match &n.kind {
                Kind::Str(s) => match parse_duration(s) {
                    Ok(d) => Some(d.as_ms() as f64),
                    Err(e) => {
                        r.error(
                            &p,
                            n.span.clone(),
                            e.message,
                            Some("delay bounds are durations such as \"6h\"".into()),
                        );
                        None
                    }
                },
                _ => {
                    r.type_error(n, &p, "a duration such as \"6h\"");
                    None
                }
            }
        } else {
            r.number(n, &p)
        })
    };
    let min = get("min");
    let max = get("max");
    if min.is_none() && max.is_none() && f.get("min").is_none() && f.get("max").is_none() {
        r.error(
            path,
            node.span.clone(),
            "a bound needs `min`, `max` or both".into(),
            None,
        );
        return None;
    }
    let (min, max) = (min.flatten(), max.flatten());
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            r.error(
                path,
                node.span.clone(),
                format!("min ({lo}) is above max ({hi})"),
                None,
            );
            return None;
        }
    }
    Some((min, max))
}

/// Most seeds `[expect] seeds` may ask for (each is a whole run per `mxsim check`).
pub const EXPECT_SEEDS_MAX: u64 = 10_000;

/// `[expect] seeds = N`: bounds apply to the mean over N seeds (the scenario's and the ones
/// after it), at least 2.
pub(super) fn read_expect_seeds(r: &mut Reader, top: &Fields<'_>) -> Option<u32> {
    let Some(Kind::Table(entries)) = top.get("expect").map(|n| &n.kind) else {
        return None;
    };
    let e = entries.iter().find(|e| e.key == "seeds")?;
    match r.unsigned(&e.value, "expect.seeds", EXPECT_SEEDS_MAX)? {
        n if n >= 2 => Some(n as u32),
        _ => {
            r.error(
                "expect.seeds",
                e.value.span.clone(),
                "at least 2 seeds: a mean over one run has no interval".into(),
                Some("write e.g. seeds = 20, or remove it to check the scenario's one seed".into()),
            );
            None
        }
    }
}
