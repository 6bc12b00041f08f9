//! Statistics of a sweep: mean, sample standard deviation and the two-sided 95 % Student-t
//! interval `mean ± t(0.975, n−1) · sd / √n`.
//!
//! Missing and non-finite values are left out (`n` counts the values used). Undefined results
//! (no values; sd and interval with fewer than two) are `None`, written as null. The t quantile
//! comes from statrs up to 10,000 degrees of freedom and is the normal quantile 1.959964 above
//! (statrs 0.19's `StudentsT::inverse_cdf` is wrong beyond about 1e6 degrees of freedom and hangs near 2e7).
//!
//! A 0/1 metric ([`SHARE_METRICS`]: a run's value is 1 or 0, so its mean is a share of runs, such
//! as `converged`) gets the Wilson score interval instead (Wilson 1927; Agresti & Coull 1998): it
//! stays within [0, 1] and does not collapse to [1, 1] when every run is 1. Paired differences of
//! such a metric lie in [−1, 1]; their t interval is clipped to that range
//! ([`bounded_t_interval`]). Which metrics are shares is decided by name, not from the values: a
//! count or a time that happens to be 0 or 1 in every run (`orders_rejected` = 0) keeps its
//! t interval ([0, 0] when constant).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The normal 97.5 % quantile.
const Z_975: f64 = 1.959_963_984_540_054;
/// Above this many degrees of freedom the normal quantile is used.
const MAX_T_DF: f64 = 1e4;

/// Summary of one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Values used.
    pub n: u64,
    /// Mean (`None` when n = 0).
    pub mean: Option<f64>,
    /// Sample sd, n − 1 denominator (`None` when n < 2).
    pub sd: Option<f64>,
    /// Lower end of the 95 % interval (`None` when n < 2).
    pub low: Option<f64>,
    /// Upper end.
    pub high: Option<f64>,
}

/// n, mean and sample sd of the finite values (Welford's update, stable for large offsets).
pub fn mean_sd(values: &[f64]) -> (u64, Option<f64>, Option<f64>) {
    let mut n = 0u64;
    let mut mean = 0.0;
    let mut m2 = 0.0;
    for &x in values.iter().filter(|x| x.is_finite()) {
        n += 1;
        let delta = x - mean;
        mean += delta / n as f64;
        m2 += delta * (x - mean);
    }
    match n {
        0 => (0, None, None),
        1 => (1, Some(mean), None),
        _ => (n, Some(mean), Some((m2 / (n - 1) as f64).max(0.0).sqrt())),
    }
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom (`df` ≥ 1).
pub fn t_quantile_975(df: f64) -> f64 {
    if df.is_nan() || df < 1.0 {
        return f64::NAN;
    }
    if df > MAX_T_DF {
        return Z_975;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(0.975),
        Err(_) => f64::NAN,
    }
}

/// Mean, sd and 95 % t interval of the finite values.
pub fn t_interval(values: &[f64]) -> Interval {
    let (n, mean, sd) = mean_sd(values);
    let (low, high) = match (mean, sd) {
        (Some(m), Some(s)) => {
            let half = t_quantile_975((n - 1) as f64) * s / (n as f64).sqrt();
            if half.is_finite() { (Some(m - half), Some(m + half)) } else { (None, None) }
        }
        _ => (None, None),
    };
    Interval { n, mean, sd, low, high }
}

/// The summary metrics whose value in a run is 0 or 1 by definition (the mean is a share of runs).
pub const SHARE_METRICS: &[&str] = &["converged"];

/// Whether `metric` is a 0/1 share ([`SHARE_METRICS`]).
pub fn is_share(metric: &str) -> bool {
    SHARE_METRICS.contains(&metric)
}

/// Whether every finite value is 0 or 1 (and there is at least one).
pub fn is_binary(values: &[f64]) -> bool {
    let mut any = false;
    for &x in values.iter().filter(|x| x.is_finite()) {
        if x != 0.0 && x != 1.0 {
            return false;
        }
        any = true;
    }
    any
}

/// Mean, sd and the 95 % Wilson score interval of 0/1 values:
/// `(p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)` with z = 1.959964.
pub fn wilson_interval(values: &[f64]) -> Interval {
    let (n, mean, sd) = mean_sd(values);
    let (low, high) = match mean {
        Some(p) if n > 0 => {
            let (nf, z2) = (n as f64, Z_975 * Z_975);
            let denom = 1.0 + z2 / nf;
            let center = (p + z2 / (2.0 * nf)) / denom;
            let half = Z_975 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
            (Some((center - half).max(0.0)), Some((center + half).min(1.0)))
        }
        _ => (None, None),
    };
    Interval { n, mean, sd, low, high }
}

/// The interval of metric `metric`'s values at one point: Wilson for a share of runs whose
/// values are 0 or 1, else Student-t.
pub fn summary_interval(metric: &str, values: &[f64]) -> Interval {
    if is_share(metric) && is_binary(values) { wilson_interval(values) } else { t_interval(values) }
}

/// A t interval clipped to `[lo, hi]` (for differences of bounded values).
pub fn bounded_t_interval(values: &[f64], lo: f64, hi: f64) -> Interval {
    let mut iv = t_interval(values);
    iv.low = iv.low.map(|x| x.max(lo));
    iv.high = iv.high.map(|x| x.min(hi));
    iv
}

/// Paired differences `a[i] − b[i]` where both are finite (replications that pair up).
pub fn paired_differences(a: &[Option<f64>], b: &[Option<f64>]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter_map(|(x, y)| match (x, y) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Some(x - y),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shares used to get t intervals outside [0, 1] (0.15 [−0.02, 0.32]) and [1, 1] for 20 of 20.
    #[test]
    fn shares_get_wilson_intervals_inside_0_1() {
        let mut v = vec![1.0; 3];
        v.extend(vec![0.0; 17]);
        let iv = summary_interval("converged", &v);
        assert_eq!(iv.mean, Some(0.15));
        let (lo, hi) = (iv.low.unwrap(), iv.high.unwrap());
        // Wilson 95 % for 3 of 20: [0.0524, 0.3604].
        assert!((lo - 0.0524).abs() < 1e-3 && (hi - 0.3604).abs() < 1e-3, "{iv:?}");
        let all = summary_interval("converged", &[1.0; 20]);
        assert!(all.low.unwrap() < 0.85 && all.high == Some(1.0), "{all:?}");
        // A count that is 0 in every run is no share: its interval is [0, 0], not Wilson's [0, 0.16].
        let zero = summary_interval("orders_rejected", &[0.0; 20]);
        assert_eq!((zero.low, zero.high), (Some(0.0), Some(0.0)));
        assert!(!is_binary(&[0.0, 0.5]) && !is_binary(&[]));
        let d = bounded_t_interval(&[1.0, 1.0, 1.0, 0.0, 1.0], -1.0, 1.0);
        assert!(d.high.unwrap() <= 1.0 && d.low.unwrap() >= -1.0);
    }

    #[test]
    fn mean_sd_and_interval_match_hand_values() {
        let iv = t_interval(&[1.0, 2.0, 3.0, 4.0, f64::NAN]);
        assert_eq!(iv.n, 4);
        assert_eq!(iv.mean, Some(2.5));
        let sd = iv.sd.unwrap();
        assert!((sd - 1.290_994_448_735_805_6).abs() < 1e-12);
        // t(0.975, 3) = 3.182446305284263
        let half = 3.182_446_305_284_263 * sd / 2.0;
        assert!((iv.low.unwrap() - (2.5 - half)).abs() < 1e-9, "{iv:?}");
        assert!((iv.high.unwrap() - (2.5 + half)).abs() < 1e-9);
    }

    #[test]
    fn small_samples_are_undefined_not_nan() {
        assert_eq!(t_interval(&[]), Interval { n: 0, mean: None, sd: None, low: None, high: None });
        let one = t_interval(&[7.0]);
        assert_eq!((one.n, one.mean, one.sd, one.low), (1, Some(7.0), None, None));
    }

    #[test]
    fn t_quantile_uses_normal_for_huge_df() {
        assert!((t_quantile_975(1.0) - 12.706_204_736_174_7).abs() < 1e-6);
        assert!((t_quantile_975(30.0) - 2.042_272_456_301_238).abs() < 1e-9);
        assert_eq!(t_quantile_975(1e7), Z_975);
        assert!(t_quantile_975(0.0).is_nan());
    }

    #[test]
    fn pairs_skip_missing() {
        let d = paired_differences(&[Some(3.0), None, Some(5.0)], &[Some(1.0), Some(1.0), Some(f64::NAN)]);
        assert_eq!(d, vec![2.0]);
    }
}
