//! Statistics over runs: means with 95% confidence intervals, paired differences (common
//! random numbers) and unpaired (Welch) differences. Pure functions over numbers, so the CLI's
//! `compare` and the browser compute the same intervals (DESIGN §8).
//!
//! Intervals are Student-t intervals: mean ± t(0.975, df) · s / √n, the textbook interval for
//! the mean of n independent runs (each seed is one independent replication). A paired
//! difference uses the per-seed differences B − A, so what both policies share (the same
//! outages, the same coin flips: common random numbers) cancels out; the unpaired (Welch)
//! interval treats the same runs as independent samples and shows what pairing bought.

use serde::Serialize;

/// A mean and its two-sided 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// The sample mean.
    pub mean: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
    /// (high − low) / 2.
    pub half_width: f64,
    /// Samples (runs) it rests on.
    pub n: usize,
}

impl Interval {
    /// Whether the interval leaves out zero (a difference that is not chance at 95%).
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }

    fn around(mean: f64, half_width: f64, n: usize) -> Interval {
        Interval {
            mean,
            low: mean - half_width,
            high: mean + half_width,
            half_width,
            n,
        }
    }
}

/// t(0.975, df) for df = 1 … 30 (standard tables).
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 97.5% quantile of Student's t with `df` degrees of freedom (df ≥ 1, possibly
/// fractional for Welch): the table up to 30 (interpolated between whole df), beyond it the
/// Cornish–Fisher expansion around the normal quantile 1.959964 (error below 1e-4 there).
pub fn t_975(df: f64) -> f64 {
    assert!(
        df >= 1.0,
        "t needs at least one degree of freedom, got {df}"
    );
    if df <= 30.0 {
        let lo = df.floor() as usize;
        let frac = df - lo as f64;
        let a = T_975[lo - 1];
        let b = if lo < 30 { T_975[lo] } else { a };
        return a + (b - a) * frac;
    }
    let z = 1.959_963_984_540_054_f64;
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df * df * df)
}

/// The arithmetic mean (`NaN` for no values), summed in order so results are reproducible.
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample variance (n − 1 in the denominator).
fn variance(xs: &[f64], m: f64) -> f64 {
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64
}

/// The mean of `xs` with its 95% interval; `None` for fewer than two values (no spread to
/// estimate).
pub fn mean_interval(xs: &[f64]) -> Option<Interval> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs);
    let se = (variance(xs, m) / xs.len() as f64).sqrt();
    Some(Interval::around(
        m,
        t_975((xs.len() - 1) as f64) * se,
        xs.len(),
    ))
}

/// The paired difference B − A over runs that share their seeds (`a[i]` and `b[i]` come from
/// the same seed): the interval of the mean per-seed difference.
pub fn paired_difference(a: &[f64], b: &[f64]) -> Option<Interval> {
    assert_eq!(a.len(), b.len(), "paired samples come in pairs");
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    mean_interval(&d)
}

/// The unpaired difference B − A (Welch's interval), as if the runs were independent.
pub fn welch_difference(a: &[f64], b: &[f64]) -> Option<Interval> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (ma, mb) = (mean(a), mean(b));
    let (va, vb) = (
        variance(a, ma) / a.len() as f64,
        variance(b, mb) / b.len() as f64,
    );
    let se2 = va + vb;
    let n = a.len().min(b.len());
    if se2 == 0.0 {
        return Some(Interval::around(mb - ma, 0.0, n));
    }
    // Welch–Satterthwaite degrees of freedom.
    let df = se2 * se2 / (va * va / (a.len() - 1) as f64 + vb * vb / (b.len() - 1) as f64);
    Some(Interval::around(
        mb - ma,
        t_975(df.max(1.0)) * se2.sqrt(),
        n,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        assert_eq!(t_975(1.0), 12.706);
        assert_eq!(t_975(29.0), 2.045);
        // Beyond the table: t(0.975, 40) = 2.0211, 60 → 2.0003, 120 → 1.9799, ∞ → 1.96.
        assert!((t_975(40.0) - 2.0211).abs() < 2e-4);
        assert!((t_975(60.0) - 2.0003).abs() < 2e-4);
        assert!((t_975(120.0) - 1.9799).abs() < 2e-4);
        assert!((t_975(1e9) - 1.959_964).abs() < 1e-6);
        // Fractional df interpolate.
        assert!(t_975(2.5) < 4.303 && t_975(2.5) > 3.182);
    }

    #[test]
    fn a_textbook_interval() {
        // 5, 7, 9: mean 7, s = 2, se = 2/√3, t(2) = 4.303 → half-width 4.969.
        let i = mean_interval(&[5.0, 7.0, 9.0]).unwrap();
        assert_eq!(i.mean, 7.0);
        assert!((i.half_width - 4.303 * 2.0 / 3f64.sqrt()).abs() < 1e-12);
        assert!(i.excludes_zero());
        assert!(mean_interval(&[1.0]).is_none());
    }

    #[test]
    fn pairing_removes_what_the_runs_share() {
        // B is A plus 1 with a little noise; A varies a lot from seed to seed.
        let a = [10.0, 50.0, 30.0, 80.0, 20.0, 60.0];
        let b = [11.1, 50.9, 31.0, 81.2, 20.8, 61.0];
        let paired = paired_difference(&a, &b).unwrap();
        let welch = welch_difference(&a, &b).unwrap();
        assert!((paired.mean - welch.mean).abs() < 1e-12);
        assert!(paired.excludes_zero(), "{paired:?}");
        assert!(!welch.excludes_zero(), "{welch:?}");
        assert!(paired.half_width * 20.0 < welch.half_width);
    }

    #[test]
    fn constant_samples_have_zero_width() {
        let i = welch_difference(&[1.0, 1.0], &[3.0, 3.0]).unwrap();
        assert_eq!((i.mean, i.half_width), (2.0, 0.0));
        let p = paired_difference(&[1.0, 2.0], &[2.0, 3.0]).unwrap();
        assert_eq!((p.mean, p.half_width), (1.0, 0.0));
    }
}
