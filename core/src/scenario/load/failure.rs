//! A host's `failure` model and `reject` share (`[[hosts]]`).
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

pub(super) fn read_failure(r: &mut Reader, node: &Node, path: &str) -> Option<Availability> {
    let (kind, payload) = r.variant(node, path, &["none"], &["bernoulli", "markov", "schedule"])?;
    let path = join(path, kind);
    match (kind, payload) {
        ("none", _) => Some(Availability::AlwaysUp),
        ("bernoulli", Some(p)) => {
            let f = r.table(p, &path, &["p"])?;
            match f.get("p") {
                Some(n) => r
                    .probability(n, &f.path_of("p"))
                    .map(|p| Availability::Bernoulli { p }),
                None => {
                    r.missing(
                        &f,
                        "p",
                        "the probability that an attempt finds the host down, e.g. p = 0.2",
                    );
                    None
                }
            }
        }
        ("markov", Some(p)) => {
            let f = r.table(p, &path, &["mean_up", "mean_down"])?;
            let mut get = |key: &str, help: &str| {
                required(r, &f, key, help, |r, n, p| r.positive_duration(n, p))
            };
            let up = get(
                "mean_up",
                "mean length of an up period, e.g. mean_up = \"3h\"",
            );
            let down = get(
                "mean_down",
                "mean length of an outage, e.g. mean_down = \"40m\"",
            );
            Some(Availability::Markov {
                mean_up_ms: up?.as_ms() as f64,
                mean_down_ms: down?.as_ms() as f64,
            })
        }
        ("schedule", Some(p)) => {
            let items = r.array(p, &path)?;
            let mut windows = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let wpath = format!("{path}[{i}]");
                let Some(f) = r.table(item, &wpath, &["from", "to"]) else {
                    continue;
                };
                let from = f
                    .get("from")
                    .and_then(|n| r.duration(n, &f.path_of("from")));
                let to = f.get("to").and_then(|n| r.duration(n, &f.path_of("to")));
                if f.get("from").is_none() {
                    r.missing(
                        &f,
                        "from",
                        "start of the outage as an offset from the run start, e.g. from = \"2h\"",
                    );
                }
                if f.get("to").is_none() {
                    r.missing(&f, "to", "end of the outage, e.g. to = \"3h\"");
                }
                if let (Some(from), Some(to)) = (from, to) {
                    if to <= from {
                        r.error(
                            &wpath,
                            item.span.clone(),
                            format!("outage window ends ({to}) before it starts ({from})"),
                            Some("`to` must be later than `from`".into()),
                        );
                    } else {
                        windows.push((SimTime(from.as_ms()), SimTime(to.as_ms())));
                    }
                }
            }
            Some(Availability::Schedule {
                down: merge_windows(windows),
            })
        }
        _ => None,
    }
}

pub(super) fn read_reject(r: &mut Reader, node: &Node, path: &str) -> Option<RejectSpec> {
    let f = r.table(node, path, &["share", "code"])?;
    let share = required(
        r,
        &f,
        "share",
        "the share of attempts refused permanently, e.g. share = 0.01",
        |r, n, p| r.probability(n, p),
    );
    let reply = match f.get("code") {
        None => Some(crate::smtp::codes::UNKNOWN_USER),
        Some(n) => {
            let cpath = f.path_of("code");
            let text = r.string(n, &cpath)?;
            match EnhancedCode::parse(text) {
                Ok(code) if code.class == 5 => Some(permanent_reply(code)),
                Ok(_) => {
                    r.error(
                        &cpath,
                        n.span.clone(),
                        format!("reject code \"{text}\" is not permanent"),
                        Some("a reject is a 5.x.x code, e.g. \"5.1.1\" or \"5.7.1\"".into()),
                    );
                    None
                }
                Err(e) => {
                    r.error(
                        &cpath,
                        n.span.clone(),
                        e,
                        Some("e.g. \"5.1.1\" (unknown user) or \"5.7.1\" (policy)".into()),
                    );
                    None
                }
            }
        }
    };
    Some(RejectSpec {
        share: share?,
        reply: reply?,
    })
}

/// The 5yz basic code IANA pairs with `code`, or 550.
pub(super) fn permanent_reply(code: EnhancedCode) -> Reply {
    let basic = lookup(code)
        .and_then(|i| i.basic.iter().copied().find(|b| b / 100 == 5))
        .unwrap_or(550);
    Reply::new(basic, code)
}
