//! `[workload]`: arrivals, the domain mix and unknown recipients.
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

/// Largest domain weight: weights are relative, and a bound keeps their sum finite (the
/// sampler needs a finite total) and the error message readable.
pub(super) const WEIGHT_MAX: f64 = 1e9;

pub(super) fn read_workload(
    r: &mut Reader,
    top: &Fields<'_>,
    domains: &[DomainSpec],
    limits: &Limits,
) -> Option<Workload> {
    let Some(node) = top.get("workload") else {
        r.missing(
            top,
            "workload",
            "add [workload] with arrivals = { poisson_per_hour = 600, for = \"1h\" }",
        );
        return None;
    };
    let f = r.table(
        node,
        "workload",
        &["arrivals", "domains", "unknown_recipient_share"],
    )?;
    let arrivals = match f.get("arrivals") {
        Some(n) => read_arrivals(r, n, "workload.arrivals"),
        None => {
            r.missing(
                &f,
                "arrivals",
                "e.g. arrivals = { poisson_per_hour = 600, for = \"1h\" }",
            );
            None
        }
    };
    let unknown_recipient_share = f
        .get("unknown_recipient_share")
        .and_then(|n| r.probability(n, "workload.unknown_recipient_share"))
        .unwrap_or(0.0);
    let names: Vec<&str> = domains.iter().map(|d| d.name.as_str()).collect();
    let mut chosen = Vec::new();
    let problems_before = r.diagnostics.len();
    let mut weights = Vec::new();
    match f.get("domains") {
        None => {
            for i in 0..domains.len() {
                chosen.push(DomainId(i as u32));
                weights.push(1.0);
            }
        }
        Some(n) => {
            for (i, item) in r
                .array(n, "workload.domains")
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let path = format!("workload.domains[{i}]");
                let Some(df) = r.table(item, &path, &["name", "weight"]) else {
                    continue;
                };
                let weight = df.get("weight").map_or(Some(1.0), |w| {
                    r.number_in(w, &df.path_of("weight"), 0.0, WEIGHT_MAX, "weight")
                });
                let id = match df.get("name") {
                    Some(nn) => r.string(nn, &df.path_of("name")).and_then(|name| {
                        match names.iter().position(|d| *d == name) {
                            Some(i) => Some(DomainId(i as u32)),
                            None => {
                                r.unknown_keyword(
                                    &df.path_of("name"),
                                    nn.span.clone(),
                                    name,
                                    ("domain", "domain"),
                                    names.iter().copied(),
                                );
                                None
                            }
                        }
                    }),
                    None => {
                        r.missing(&df, "name", "a domain declared in [[domains]]");
                        None
                    }
                };
                if let (Some(id), Some(w)) = (id, weight) {
                    chosen.push(id);
                    weights.push(w);
                }
            }
        }
    }
    let total: f64 = weights.iter().sum();
    // Only when every entry read cleanly: an invalid weight is reported at its own line, not
    // again as "no positive weight".
    let clean = r.diagnostics.len() == problems_before;
    if clean && !domains.is_empty() && (chosen.is_empty() || total <= 0.0) {
        r.error(
            "workload.domains",
            f.span.clone(),
            "no recipient domain with a positive weight".into(),
            Some("give at least one domain a weight above 0".into()),
        );
    }
    let cumulative_weights = weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect();
    let workload = Workload {
        arrivals: arrivals?,
        domains: chosen,
        cumulative_weights,
        unknown_recipient_share,
    };
    let expected = workload.expected_messages();
    if expected > limits.messages_max as f64 {
        r.error(
            "workload.arrivals",
            f.get("arrivals").and_then(|n| n.span.clone()),
            format!("the workload would generate about {expected:.0} messages, above limits.messages_max = {}", limits.messages_max),
            Some("lower the rate or window, or raise limits.messages_max under [limits] if the machine has the memory".into()),
        );
    }
    Some(workload)
}

pub(super) fn read_arrivals(r: &mut Reader, node: &Node, path: &str) -> Option<Arrivals> {
    let f = r.table(node, path, &["poisson_per_hour", "for", "start", "at"])?;
    match (f.get("poisson_per_hour"), f.get("at")) {
        (Some(rate), None) => {
            let per_hour = r.number_in(rate, &f.path_of("poisson_per_hour"), 0.0, 1e9, "rate");
            let window = required(
                r,
                &f,
                "for",
                "how long messages keep arriving, e.g. for = \"1h\"",
                |r, n, p| r.duration(n, p),
            );
            let start = f.get("start").map_or(Some(SimDuration::ZERO), |n| {
                r.duration(n, &f.path_of("start"))
            });
            Some(Arrivals::Poisson {
                per_hour: per_hour?,
                start: SimTime(start?.as_ms()),
                window: window?,
            })
        }
        (None, Some(at)) => {
            if let Some(n) = f.get("for").or(f.get("start")) {
                r.error(
                    path,
                    n.span.clone(),
                    "`for` and `start` apply to Poisson arrivals only".into(),
                    None,
                );
            }
            let items = r.array(at, &f.path_of("at"))?;
            let mut times: Vec<SimTime> = items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| r.duration(n, &format!("{}[{i}]", f.path_of("at"))))
                .map(|d| SimTime(d.as_ms()))
                .collect();
            times.sort();
            Some(Arrivals::At(times))
        }
        (Some(n), Some(_)) => {
            r.error(
                path,
                n.span.clone(),
                "both `poisson_per_hour` and `at` given".into(),
                Some("use one arrival process".into()),
            );
            None
        }
        (None, None) => {
            r.error(
                path,
                node.span.clone(),
                "no arrival process".into(),
                Some(
                    "write { poisson_per_hour = 600, for = \"1h\" } or { at = [\"0s\", \"5m\"] }"
                        .into(),
                ),
            );
            None
        }
    }
}
