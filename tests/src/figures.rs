//! Figures across bench runs: quantiles of one run's samples, medians of runs,
//! and the markdown rows that set a server beside its reference.

/// The sample at quantile `q` (0 to 1) of `sorted`; NaN when there are none.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize]
}

/// The median of `values`, in any order.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile(&sorted, 0.5)
}

/// A table row: every run's value of `ours` and `reference`, their medians and
/// the ratio of the medians (ours over the reference).
pub fn row(label: &str, target: &str, ours: &[f64], reference: &[f64]) -> String {
    let list = |values: &[f64]| {
        values
            .iter()
            .map(|v| format!("{v:.2}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let (o, r) = (median(ours), median(reference));
    format!(
        "| {label} | {} (median {o:.2}) | {} (median {r:.2}) | {:.2}× | {target} |",
        list(ours),
        list(reference),
        o / r
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_medians() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&sorted, 0.0), 1.0);
        assert_eq!(quantile(&sorted, 0.5), 3.0);
        assert_eq!(quantile(&sorted, 1.0), 5.0);
        assert!(quantile(&[], 0.5).is_nan());
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
    }

    #[test]
    fn a_row_shows_runs_medians_and_the_ratio() {
        let line = row("p99, ms", "≤ 0.5×", &[1.0, 3.0, 2.0], &[4.0, 8.0, 6.0]);
        assert_eq!(
            line,
            "| p99, ms | 1.00 / 3.00 / 2.00 (median 2.00) | 4.00 / 8.00 / 6.00 (median 6.00) | 0.33× | ≤ 0.5× |"
        );
    }
}
