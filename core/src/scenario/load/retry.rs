//! `[policy]` retry fields: the backoff families, `on_code` rules, presets and give-up.
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

/// The retry part of `[policy]`: a preset (or mxsim's defaults) with every field given
/// overriding it.
pub(super) fn read_retry_policy(r: &mut Reader, f: &Fields<'_>) -> Option<RetryPolicy> {
    let preset_names: Vec<&str> = presets().iter().map(|p| p.name).collect();
    let mut policy = match f.get("preset") {
        None => RetryPolicy::simple(Backoff::Exponential {
            initial: SimDuration::from_mins(5),
            factor: 2.0,
            max: Some(SimDuration::from_secs(4000)),
            jitter: Jitter::None,
        }),
        Some(n) => {
            let name = r.string(n, "policy.preset")?;
            match preset(name) {
                Some(p) => p.policy,
                None => {
                    r.unknown_keyword(
                        "policy.preset",
                        n.span.clone(),
                        name,
                        ("preset", "preset"),
                        preset_names.iter().copied(),
                    );
                    return None;
                }
            }
        }
    };
    let mut ok = true;
    if let Some(n) = f.get("retry") {
        match read_backoff(r, n, "policy.retry") {
            Some(b) => policy.default = b,
            None => ok = false,
        }
    }
    if let Some(n) = f.get("on_code") {
        if let Kind::Table(entries) = &n.kind {
            if entries.len() > RULES_MAX {
                r.error(
                    "policy.on_code",
                    n.span.clone(),
                    format!("{} rules; at most {RULES_MAX} are allowed", entries.len()),
                    Some("use wider patterns (\"4.7.*\", \"45x\") to cover several codes".into()),
                );
                return None;
            }
            for e in entries {
                let path = format!("policy.on_code.\"{}\"", e.key);
                let pattern = match CodePattern::parse(&e.key) {
                    Ok(p) => match p.can_fire() {
                        Ok(()) => Some(p),
                        Err(why) => {
                            r.error(
                                &path,
                                e.key_span.clone().or(n.span.clone()),
                                format!("on_code pattern \"{}\" can never fire: {why}", e.key),
                                Some("retry rules apply to transient failures: 4.x.x codes such as \"4.4.3\" or \"4.7.*\", or 4yz basic codes such as \"421\"".into()),
                            );
                            None
                        }
                    },
                    Err(msg) => {
                        r.error(&path, e.key_span.clone().or(n.span.clone()), msg, Some("patterns look like \"4.4.3\", \"4.7.*\", \"4.*.*\", \"421\" or \"45x\"".into()));
                        None
                    }
                };
                match (pattern, read_backoff(r, &e.value, &path)) {
                    (Some(pattern), Some(backoff)) => {
                        policy.on_code.push(CodeRule { pattern, backoff })
                    }
                    _ => ok = false,
                }
            }
        } else {
            r.type_error(
                n,
                "policy.on_code",
                "a table of code pattern = backoff, e.g. { \"4.4.3\" = { fixed = \"1h\" } }",
            );
            ok = false;
        }
    }
    override_field(
        r,
        f,
        "queue_lifetime",
        &mut policy.queue_lifetime,
        &mut ok,
        |r, n, p| r.positive_duration(n, p),
    );
    let give_up = ("give-up mode", GiveUp::NAMES.as_slice());
    keyword_field(
        r,
        f,
        "give_up",
        give_up,
        GiveUp::from_name,
        &mut policy.give_up,
        &mut ok,
    );
    let counts = ("count", BackoffCounts::NAMES.as_slice());
    keyword_field(
        r,
        f,
        "backoff_counts",
        counts,
        BackoffCounts::from_name,
        &mut policy.backoff_counts,
        &mut ok,
    );
    let check = match f.get("max_attempts_check") {
        None => policy
            .max_attempts
            .map_or(MaxAttemptsCheck::AtFailure, |(_, c)| c),
        Some(n) => match r.string(n, "policy.max_attempts_check") {
            Some("failure") => MaxAttemptsCheck::AtFailure,
            Some("next-due") => MaxAttemptsCheck::AtNextDue,
            Some(other) => {
                r.unknown_keyword(
                    "policy.max_attempts_check",
                    n.span.clone(),
                    other,
                    ("check", "check"),
                    ["failure", "next-due"],
                );
                ok = false;
                MaxAttemptsCheck::AtFailure
            }
            None => {
                ok = false;
                MaxAttemptsCheck::AtFailure
            }
        },
    };
    if let Some(n) = f.get("max_attempts") {
        match r.unsigned(n, "policy.max_attempts", 100_000) {
            Some(0) => {
                r.error(
                    "policy.max_attempts",
                    n.span.clone(),
                    "must be at least 1".into(),
                    None,
                );
                ok = false;
            }
            Some(v) => policy.max_attempts = Some((v as u32, check)),
            None => ok = false,
        }
    } else if let Some((n, _)) = policy.max_attempts {
        policy.max_attempts = Some((n, check));
    }
    override_field(
        r,
        f,
        "honor_hints",
        &mut policy.honor_hints,
        &mut ok,
        |r, n, p| r.boolean(n, p),
    );
    if let Some(n) = f.get("queue_scan") {
        match read_queue_scan(r, n) {
            Some(scan) => policy.queue_scan = scan,
            None => ok = false,
        }
    }
    if let Some(n) = f.get("delay_warnings") {
        match r.array(n, "policy.delay_warnings") {
            Some(items) => {
                let mut v = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match r.positive_duration(item, &format!("policy.delay_warnings[{i}]")) {
                        Some(d) => v.push(d),
                        None => ok = false,
                    }
                }
                v.sort();
                policy.delay_warnings = v;
            }
            None => ok = false,
        }
    }
    ok.then_some(policy)
}

/// A `[policy]` field naming one of `what.1` (parsed by `parse`) overrides `field`; an
/// unknown name is a diagnostic listing the valid ones.
fn keyword_field<T>(
    r: &mut Reader,
    f: &Fields<'_>,
    key: &str,
    what: (&str, &[&str]),
    parse: fn(&str) -> Option<T>,
    field: &mut T,
    ok: &mut bool,
) {
    let Some(n) = f.get(key) else { return };
    let path = format!("policy.{key}");
    match r.string(n, &path).map(|s| (s, parse(s))) {
        Some((_, Some(v))) => *field = v,
        Some((s, None)) => {
            r.unknown_keyword(
                &path,
                n.span.clone(),
                s,
                (what.0, what.0),
                what.1.iter().copied(),
            );
            *ok = false;
        }
        None => *ok = false,
    }
}

pub(super) fn read_backoff(r: &mut Reader, node: &Node, path: &str) -> Option<Backoff> {
    let names: Vec<&str> = presets().iter().map(|p| p.name).collect();
    let (kind, payload) = r.variant(
        node,
        path,
        &names,
        &[
            "fixed",
            "exponential",
            "list",
            "age_clamp",
            "queue_run",
            "exim",
        ],
    )?;
    let Some(payload) = payload else {
        // A preset name in a backoff position means that preset's backoff.
        return preset(kind).map(|p| p.policy.default);
    };
    let path = join(path, kind);
    match kind {
        "fixed" => r
            .positive_duration(payload, &path)
            .map(|interval| Backoff::Fixed { interval }),
        "queue_run" => r
            .positive_duration(payload, &path)
            .map(|interval| Backoff::QueueRun { interval }),
        "exim" => read_exim(r, payload, &path),
        "list" => read_list(r, payload, &path),
        "age_clamp" => {
            let f = r.table(payload, &path, &["min", "max"])?;
            let mut get = |key: &str, help: &str| {
                required(r, &f, key, help, |r, n, p| r.positive_duration(n, p))
            };
            let min = get("min", "Postfix minimal_backoff_time, e.g. min = \"5m\"");
            let max = get("max", "Postfix maximal_backoff_time, e.g. max = \"4000s\"");
            let (min, max) = (min?, max?);
            if max < min {
                r.error(
                    &f.path_of("max"),
                    f.get("max").and_then(|n| n.span.clone()),
                    format!("max ({max}) is below min ({min})"),
                    None,
                );
                return None;
            }
            Some(Backoff::AgeClamp { min, max })
        }
        _ => {
            let f = r.table(payload, &path, &["initial", "factor", "max", "jitter"])?;
            let initial = required(
                r,
                &f,
                "initial",
                "the first retry's delay, e.g. initial = \"5m\"",
                |r, n, p| r.positive_duration(n, p),
            );
            let factor = f.get("factor").map_or(Some(2.0), |n| {
                r.number_in(n, &f.path_of("factor"), 1.0, 100.0, "factor")
            });
            let max = match f.get("max") {
                Some(n) => r.positive_duration(n, &f.path_of("max")).map(Some),
                None => Some(None),
            };
            let jitter = match f.get("jitter") {
                None => Some(Jitter::None),
                Some(n) => r.string(n, &f.path_of("jitter")).and_then(|s| {
                    Jitter::from_name(s).or_else(|| {
                        r.unknown_keyword(
                            &f.path_of("jitter"),
                            n.span.clone(),
                            s,
                            ("jitter", "jitter"),
                            Jitter::NAMES,
                        );
                        None
                    })
                }),
            };
            if let (Some(i), Some(Some(m))) = (initial, max) {
                if m < i {
                    r.error(
                        &f.path_of("max"),
                        f.get("max").and_then(|n| n.span.clone()),
                        format!("max ({m}) is below initial ({i})"),
                        Some("the cap must be at least the first delay".into()),
                    );
                }
            }
            Some(Backoff::Exponential {
                initial: initial?,
                factor: factor?,
                max: max?,
                jitter: jitter?,
            })
        }
    }
}

/// `{ exim = "F,2h,15m; ..." }` or `{ exim = { rules = "...", retry_interval_max = "12h" } }`.
pub(super) fn read_exim(r: &mut Reader, payload: &Node, path: &str) -> Option<Backoff> {
    let (text, text_node, text_path, max) = match &payload.kind {
        Kind::Str(s) => (s.as_str(), payload, path.to_string(), None),
        _ => {
            let f = r.table(payload, path, &["rules", "retry_interval_max"])?;
            let Some(n) = f.get("rules") else {
                r.missing(
                    &f,
                    "rules",
                    "Exim retry rules, e.g. rules = \"F,2h,15m; G,16h,1h,1.5; F,4d,6h\"",
                );
                return None;
            };
            let max = match f.get("retry_interval_max") {
                Some(m) => Some(r.positive_duration(m, &f.path_of("retry_interval_max"))?),
                None => None,
            };
            (
                r.string(n, &f.path_of("rules"))?,
                n,
                f.path_of("rules"),
                max,
            )
        }
    };
    match EximRules::parse(text) {
        Ok(mut rules) => {
            if let Some(m) = max {
                if m > crate::policy::exim::RETRY_INTERVAL_MAX {
                    r.error(
                        path,
                        payload.span.clone(),
                        format!("retry_interval_max {m} is above Exim's ceiling of 24h"),
                        None,
                    );
                    return None;
                }
                rules.interval_max = m;
            }
            Some(Backoff::Exim(rules))
        }
        Err(e) => {
            r.error(
                &text_path,
                text_node.span.clone(),
                e,
                Some("Exim rules look like \"F,2h,15m; G,16h,1h,1.5; F,4d,6h\"".into()),
            );
            None
        }
    }
}

/// `{ list = "1m, 5m*2, 1h*3" }`, `{ list = ["2m", "5m"] }` or
/// `{ list = { delays = ..., repeat_last = false } }`.
pub(super) fn read_list(r: &mut Reader, payload: &Node, path: &str) -> Option<Backoff> {
    let (delays_node, repeat_last) = match &payload.kind {
        Kind::Table(_) => {
            let f = r.table(payload, path, &["delays", "repeat_last"])?;
            let repeat = f
                .get("repeat_last")
                .map_or(Some(true), |n| r.boolean(n, &f.path_of("repeat_last")))?;
            let Some(n) = f.get("delays") else {
                r.missing(
                    &f,
                    "delays",
                    "e.g. delays = \"1m, 5m*2, 1h*3\" or [\"2m\", \"5m\"]",
                );
                return None;
            };
            (n, repeat)
        }
        _ => (payload, true),
    };
    let delays = match &delays_node.kind {
        Kind::Str(s) => {
            match parse_list(s) {
                Ok(v) => v,
                Err(e) => {
                    r.error(path, delays_node.span.clone(), e, Some("write delays as \"1m, 5m*2, 1h*3\" (Haraka syntax) or a list of durations".into()));
                    return None;
                }
            }
        }
        Kind::Array(items) => {
            let mut v = Vec::new();
            for (i, item) in items.iter().enumerate() {
                v.push(r.positive_duration(item, &format!("{path}[{i}]"))?);
            }
            v
        }
        _ => {
            r.type_error(
                delays_node,
                path,
                "a list of durations or a string such as \"1m, 5m*2\"",
            );
            return None;
        }
    };
    if delays.is_empty() {
        r.error(
            path,
            delays_node.span.clone(),
            "empty delay list".into(),
            None,
        );
        return None;
    }
    Some(Backoff::List {
        delays,
        repeat_last,
    })
}

/// `queue_scan = "5m"` (scans at 0, 5m, 10m, …; `"0s"` for none) or `{ every = "5s", phase =
/// "4666ms" }` (scans at 4.666 s, 9.666 s, …: the queue runner's phase relative to t = 0).
fn read_queue_scan(r: &mut Reader, n: &Node) -> Option<Option<crate::policy::QueueScan>> {
    use crate::policy::QueueScan;
    if let Kind::Table(_) = n.kind {
        let f = r.table(n, "policy.queue_scan", &["every", "phase"])?;
        let every = required(
            r,
            &f,
            "every",
            "the time between scans, e.g. every = \"5m\"",
            |r, n, p| r.positive_duration(n, p),
        );
        let phase = match f.get("phase") {
            Some(p) => Some(r.duration(p, &f.path_of("phase"))?),
            None => Some(SimDuration::ZERO),
        };
        let (every, phase) = (every?, phase?);
        if phase >= every {
            r.error(
                &f.path_of("phase"),
                f.get("phase").and_then(|p| p.span.clone()),
                format!("phase {phase} is not shorter than every = {every}"),
                Some("the phase is when the first scan happens, between 0 and `every`".into()),
            );
            return None;
        }
        return Some(Some(QueueScan { every, phase }));
    }
    match r.duration(n, "policy.queue_scan")? {
        d if d.as_ms() == 0 => Some(None),
        d => Some(Some(QueueScan::every(d))),
    }
}
