//! Closed-form validations (`reference/smtp-facts.md` §7): the simulator's statistics must match
//! exact results within a tolerance derived from the standard error (4 σ of the estimator), not
//! picked by eye. Attempts take no simulated time here (zero latency), as the formulas assume.

mod common;

use common::{load, run_traced};
use mxsim_core::trace::TraceKind;

const P: f64 = 0.3;

/// Delivery delays (ms) and attempt counts of every delivered message, from the trace.
fn delivered(text: &str) -> (Vec<f64>, Vec<f64>, u64) {
    let sim = run_traced(load(text));
    let mut delays = Vec::new();
    let mut attempts = std::collections::BTreeMap::new();
    for r in sim.trace() {
        match &r.kind {
            TraceKind::Attempt { n, .. } => {
                attempts.insert(r.message, *n);
            }
            TraceKind::Delivered { delay_ms } => delays.push(*delay_ms as f64),
            _ => {}
        }
    }
    let report = sim.report();
    assert_eq!(report.outcomes.delivered as usize, delays.len());
    (
        delays,
        attempts.values().map(|&n| f64::from(n)).collect(),
        report.outcomes.generated,
    )
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Asserts |measured − expected| ≤ 4·sd/√n.
fn assert_within(what: &str, measured: f64, expected: f64, sd: f64, n: usize) {
    let tolerance = 4.0 * sd / (n as f64).sqrt();
    assert!(
        (measured - expected).abs() <= tolerance,
        "{what}: measured {measured:.4}, expected {expected:.4} ± {tolerance:.4} (4 standard errors, n = {n})"
    );
}

fn single_mx(failure: &str, retry: &str, messages_per_hour: u32) -> String {
    format!(
        r#"
name = "closed form"
seed = 2024
[workload]
arrivals = {{ poisson_per_hour = {messages_per_hour}, for = "1h" }}
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx"
role = "mx"
failure = {failure}
[[links]]
from = "out"
to = "mx"
[[domains]]
name = "example.net"
mx = [{{ preference = 10, host = "mx" }}]
[policy]
retry = {retry}
queue_lifetime = "5d"
"#
    )
}

/// E[D] and E[D²] for attempt times `t` (seconds) when each attempt fails independently with p.
fn independent_moments(t: &[f64], p: f64) -> (f64, f64) {
    let (mut m1, mut m2, mut reach) = (0.0, 0.0, 1.0);
    for &tk in t {
        m1 += tk * reach * (1.0 - p);
        m2 += tk * tk * reach * (1.0 - p);
        reach *= p;
    }
    (m1, m2)
}

/// Naive doubling attempt times: gaps 300, 600, 1200, 2400, then 4000 s (smtp-facts §7).
fn naive_doubling(n: usize) -> Vec<f64> {
    let mut t: Vec<f64> = vec![0.0];
    for k in 0..n {
        let gap = (300.0 * 2f64.powi(k as i32)).min(4000.0);
        t.push(t[k] + gap);
    }
    t
}

/// Postfix-exact attempt times: next = now + clamp(age, 300, 4000) (smtp-facts §7).
fn postfix_exact(n: usize) -> Vec<f64> {
    let mut t: Vec<f64> = vec![0.0];
    for k in 0..n {
        let gap = t[k].clamp(300.0, 4000.0);
        t.push(t[k] + gap);
    }
    t
}

#[test]
fn independent_failures_with_a_fixed_interval_give_geometric_delays() {
    // D = 600 s · K with K ~ Geometric: E[D] = 600·p/(1−p), sd = 600·√p/(1−p);
    // E[attempts] = 1/(1−p), sd = √p/(1−p); P(first attempt succeeds) = 1 − p.
    let (delays, attempts, generated) = delivered(&single_mx(
        "{ bernoulli = { p = 0.3 } }",
        "{ fixed = \"10m\" }",
        100_000,
    ));
    let n = delays.len();
    assert_eq!(
        n as u64, generated,
        "nothing may bounce or expire at p = 0.3 over 5 days"
    );
    assert_within(
        "E[D] ms",
        mean(&delays),
        600_000.0 * P / (1.0 - P),
        600_000.0 * P.sqrt() / (1.0 - P),
        n,
    );
    assert_within(
        "E[attempts]",
        mean(&attempts),
        1.0 / (1.0 - P),
        P.sqrt() / (1.0 - P),
        n,
    );
    let first = delays.iter().filter(|&&d| d == 0.0).count() as f64 / n as f64;
    assert_within(
        "P(first attempt)",
        first,
        1.0 - P,
        (P * (1.0 - P)).sqrt(),
        n,
    );
}

#[test]
fn independent_failures_with_naive_doubling_match_the_reference() {
    // smtp-facts §7.1: naive doubling (300 s ×2, cap 4000 s) at p = 0.3 gives E[D] = 209.726 s.
    let t = naive_doubling(200);
    let (m1, m2) = independent_moments(&t, P);
    assert!((m1 - 209.726).abs() < 0.001, "closed form itself: {m1}");
    let retry = "{ exponential = { initial = \"5m\", factor = 2.0, max = \"4000s\" } }";
    let (delays, _, _) = delivered(&single_mx("{ bernoulli = { p = 0.3 } }", retry, 100_000));
    let secs: Vec<f64> = delays.iter().map(|d| d / 1000.0).collect();
    assert_within("E[D] s", mean(&secs), m1, (m2 - m1 * m1).sqrt(), secs.len());
    // P(delivered by 600 s) = 1 − p² (two attempts, at 0 and 300 s), smtp-facts §7.1 table.
    let by_600 = secs.iter().filter(|&&d| d <= 600.0).count() as f64 / secs.len() as f64;
    assert_within(
        "P(by 600 s)",
        by_600,
        1.0 - P * P,
        (P * P * (1.0 - P * P)).sqrt(),
        secs.len(),
    );
}

#[test]
fn full_jitter_matches_the_reference() {
    // smtp-facts §7.4: full jitter, base 300 s, cap 4000 s, p = 0.3: E[D] = 104.863 s and
    // P(delivered by 300 s) = 0.926147. Var from E[T_k²] = Σ c_j²/12 + (Σ c_j/2)².
    let caps: Vec<f64> = (0..200)
        .map(|k| (300.0 * 2f64.powi(k.min(30))).min(4000.0))
        .collect();
    let (mut m1, mut m2, mut reach) = (0.0, 0.0, 1.0);
    let (mut mean_t, mut var_t) = (0.0, 0.0);
    for c in &caps {
        m1 += mean_t * reach * (1.0 - P);
        m2 += (var_t + mean_t * mean_t) * reach * (1.0 - P);
        reach *= P;
        mean_t += c / 2.0;
        var_t += c * c / 12.0;
    }
    assert!((m1 - 104.863).abs() < 0.001, "closed form itself: {m1}");
    let retry =
        "{ exponential = { initial = \"5m\", factor = 2.0, max = \"4000s\", jitter = \"full\" } }";
    let (delays, _, _) = delivered(&single_mx("{ bernoulli = { p = 0.3 } }", retry, 100_000));
    let secs: Vec<f64> = delays.iter().map(|d| d / 1000.0).collect();
    assert_within("E[D] s", mean(&secs), m1, (m2 - m1 * m1).sqrt(), secs.len());
    let p300 = 0.926147;
    let by_300 = secs.iter().filter(|&&d| d <= 300.0).count() as f64 / secs.len() as f64;
    assert_within(
        "P(by 300 s)",
        by_300,
        p300,
        (p300 * (1.0 - p300)).sqrt(),
        secs.len(),
    );
}

/// Survival S_k after attempts at `t` (s) on a two-state Markov host, and the moments of D
/// (smtp-facts §7.3): S_0 = 1 − A, S_k = S_{k−1}·P_DD(t_k − t_{k−1}).
fn markov_moments(t: &[f64], up: f64, down: f64) -> (Vec<f64>, f64, f64) {
    let (lambda, mu) = (1.0 / up, 1.0 / down);
    let a = mu / (lambda + mu);
    let p_dd = |dt: f64| (1.0 - a) + a * (-(lambda + mu) * dt).exp();
    let mut s = vec![1.0 - a];
    for k in 1..t.len() {
        let prev = s[k - 1];
        s.push(prev * p_dd(t[k] - t[k - 1]));
    }
    let (mut m1, mut m2, mut before) = (0.0, 0.0, 1.0);
    for (k, &tk) in t.iter().enumerate() {
        let p_deliver_here = before - s[k];
        m1 += tk * p_deliver_here;
        m2 += tk * tk * p_deliver_here;
        before = s[k];
    }
    (s, m1, m2)
}

#[test]
fn two_state_markov_host_matches_the_closed_form() {
    // Goal: correlated outages (mean up 9 h, down 1 h, A = 0.9) — the most sensitive test of
    // state handling (smtp-facts §7.3). Method: 400 domains, each with its own Markov MX, and
    // 40 messages/h over 100 days, so a host sees one message per 10 h on average, far beyond
    // the relaxation time 1/(λ+μ) = 54 min: messages are nearly independent samples.
    let (up, down) = (9.0 * 3600.0, 3600.0);
    // The formula reproduces the reference's worked numbers for the Postfix-exact schedule.
    let (s_ref, m_ref, _) = markov_moments(&postfix_exact(200), up, down);
    assert!(
        (m_ref - 490.845).abs() < 0.01,
        "closed form itself: {m_ref}"
    );
    assert!((s_ref[4] - 0.051818).abs() < 1e-6, "S4 {}", s_ref[4]);

    let hosts = 400;
    let mut text = String::from("name = \"markov\"\nseed = 99\n[workload]\narrivals = { poisson_per_hour = 40, for = \"100d\" }\n");
    text.push_str("[[hosts]]\nid = \"out\"\nrole = \"sender\"\n");
    for i in 0..hosts {
        text.push_str(&format!(
            "[[hosts]]\nid = \"mx{i}\"\nrole = \"mx\"\nfailure = {{ markov = {{ mean_up = \"9h\", mean_down = \"1h\" }} }}\n[[links]]\nfrom = \"out\"\nto = \"mx{i}\"\n[[domains]]\nname = \"d{i}.example\"\nmx = [{{ preference = 10, host = \"mx{i}\" }}]\n"
        ));
    }
    text.push_str("[policy]\nretry = { exponential = { initial = \"5m\", factor = 2.0, max = \"4000s\" } }\nqueue_lifetime = \"5d\"\n");
    let (delays, _, generated) = delivered(&text);
    assert_eq!(delays.len() as u64, generated);
    let t = naive_doubling(200);
    let (s, m1, m2) = markov_moments(&t, up, down);
    let secs: Vec<f64> = delays.iter().map(|d| d / 1000.0).collect();
    let n = secs.len();
    assert_within("E[D] s", mean(&secs), m1, (m2 - m1 * m1).sqrt(), n);
    // PASTA: an arrival finds the host down with probability 1 − A = 0.1.
    let first_failed = secs.iter().filter(|&&d| d > 0.0).count() as f64 / n as f64;
    assert_within(
        "P(first attempt fails)",
        first_failed,
        0.1,
        (0.1f64 * 0.9).sqrt(),
        n,
    );
    // Tail: undelivered after the attempts at 0, 300, 900, 2100 s, i.e. still waiting past 2100 s.
    let tail = secs.iter().filter(|&&d| d > 2100.0).count() as f64 / n as f64;
    assert_within("P(D > 2100 s)", tail, s[3], (s[3] * (1.0 - s[3])).sqrt(), n);
}

/// The paired 95% interval of `mxsim compare` covers a known difference about 95% of the
/// time. Two fixed intervals under independent failures (p per attempt, attempts taking no
/// time): a message needing N attempts waits (N − 1)·T, E[N − 1] = p/(1 − p), so the mean
/// delay differs by exactly (T_B − T_A)·p/(1 − p). 200 replications of 10 seeds each: the
/// count of intervals that cover the truth must be 90–99% (a binomial 95% rate is 95 ± 1.5%).
#[test]
fn the_paired_interval_covers_a_known_difference_at_its_nominal_rate() {
    use mxsim_core::compare::{compare, Reading};
    use mxsim_core::experiment::{run_reduced, seeds_from};
    use mxsim_core::metric::Metric;
    let a = load(&single_mx(
        "{ bernoulli = { p = 0.3 } }",
        "{ fixed = \"10m\" }",
        60,
    ));
    let b = load(&single_mx(
        "{ bernoulli = { p = 0.3 } }",
        "{ fixed = \"30m\" }",
        60,
    ));
    let truth = (1800.0 - 600.0) * 1000.0 * P / (1.0 - P);
    let (replications, seeds) = (200u64, 10u64);
    let mut covered = 0;
    for rep in 0..replications {
        let seeds = seeds_from(1 + rep * seeds, seeds);
        let runs = |s: &mxsim_core::Scenario| -> Vec<Vec<Reading>> {
            seeds
                .iter()
                .map(|&seed| {
                    let mut s = s.clone();
                    s.seed = seed;
                    run_reduced(s, &[Metric::parse("delay_mean").unwrap()]).readings
                })
                .collect()
        };
        let c = compare(
            vec!["a".into(), "b".into()],
            seeds.clone(),
            &[runs(&a), runs(&b)],
        );
        let m = c.metrics.iter().find(|m| m.metric == "delay_mean").unwrap();
        let d = m.differences[0].as_ref().unwrap().paired;
        if d.low <= truth && truth <= d.high {
            covered += 1;
        }
    }
    let rate = f64::from(covered) / replications as f64;
    eprintln!("paired interval coverage: {covered}/{replications}");
    assert!(
        (0.90..=0.99).contains(&rate),
        "the paired 95% interval covered the true difference {truth:.0} ms in {:.1}% of {replications} replications",
        rate * 100.0
    );
}
