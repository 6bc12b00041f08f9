//! Small numeric helpers shared by the metric tables: quantiles, mean, coefficient of variation,
//! Gini, Pearson correlation and safe ratios.
//!
//! Every helper is NaN-safe and empty-safe: it returns `None` where the quantity is undefined
//! (no values, zero denominator, zero variance) and never panics. Non-finite inputs are ignored.
//! `None` becomes a null cell in the Parquet tables (never NaN), so that DuckDB's `AVG` and
//! pandas' `mean` both skip it.

/// `num / den`, or `None` when `den` is 0 or the result is not finite.
pub fn ratio(num: f64, den: f64) -> Option<f64> {
    if den == 0.0 {
        return None;
    }
    let x = num / den;
    x.is_finite().then_some(x)
}

/// Finite values of `xs`, sorted ascending.
pub fn sorted_finite(xs: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = xs.into_iter().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Quantile `p` in [0, 1] of ascending `sorted` values, linear interpolation between closest
/// ranks (Hyndman–Fan type 7, the default of NumPy and R).
pub fn quantile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !p.is_finite() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    let (a, b) = (sorted.get(lo)?, sorted.get(hi)?);
    Some(a + (b - a) * (h - lo as f64))
}

/// Arithmetic mean of the finite values.
pub fn mean(xs: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (mut n, mut s) = (0usize, 0.0);
    for x in xs.into_iter().filter(|x| x.is_finite()) {
        n += 1;
        s += x;
    }
    ratio(s, n as f64)
}

/// Coefficient of variation (population standard deviation / mean) of the finite values;
/// `None` for fewer than one value or a zero mean.
pub fn cv(xs: &[f64]) -> Option<f64> {
    let m = mean(xs.iter().copied())?;
    let n = xs.iter().filter(|x| x.is_finite()).count() as f64;
    let var = xs.iter().filter(|x| x.is_finite()).map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    ratio(var.sqrt(), m)
}

/// Gini coefficient of non-negative values (0 = equal); `None` for no values or a zero total.
/// Negative values are clamped to 0 (wealth cannot be negative here).
pub fn gini(xs: impl IntoIterator<Item = f64>) -> Option<f64> {
    let v = sorted_finite(xs.into_iter().map(|x| x.max(0.0)));
    let n = v.len() as f64;
    let total: f64 = v.iter().sum();
    if v.is_empty() || total <= 0.0 {
        return None;
    }
    let weighted: f64 = v.iter().enumerate().map(|(i, x)| (i as f64 + 1.0) * x).sum();
    Some((2.0 * weighted) / (n * total) - (n + 1.0) / n)
}

/// Pearson correlation of paired values (pairs with a non-finite member are skipped); `None`
/// with fewer than two pairs or zero variance on either side.
pub fn pearson(pairs: impl IntoIterator<Item = (f64, f64)>) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = pairs.into_iter().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
    if pairs.len() < 2 {
        return None;
    }
    let n = pairs.len() as f64;
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    ratio(sxy, (sxx * syy).sqrt()).map(|r| r.clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_and_handle_empty() {
        let v = sorted_finite([4.0, 1.0, f64::NAN, 3.0, 2.0]);
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(quantile_sorted(&v, 0.5), Some(2.5));
        assert_eq!(quantile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&v, 1.0), Some(4.0));
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }

    #[test]
    fn dispersion_gini_and_correlation() {
        assert_eq!(cv(&[5.0, 5.0, 5.0]), Some(0.0));
        assert_eq!(cv(&[]), None);
        assert_eq!(gini([1.0, 1.0, 1.0, 1.0]), Some(0.0));
        assert!((gini([0.0, 0.0, 0.0, 1.0]).unwrap_or(0.0) - 0.75).abs() < 1e-12);
        assert_eq!(gini([0.0, 0.0]), None);
        assert!((pearson([(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)]).unwrap_or(0.0) - 1.0).abs() < 1e-12);
        assert_eq!(pearson([(1.0, 1.0), (1.0, 2.0)]), None);
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(mean([f64::NAN]), None);
    }
}
