//! Figures read out of the server's Prometheus `/metrics` text, for benches that
//! compare two scrapes.

/// The server's `/metrics` text.
pub async fn metrics(http: &reqwest::Client, url: &str) -> reqwest::Result<String> {
    http.get(format!("{url}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

/// The value of sample `name` (labels included, as the server writes them), or 0
/// when the text has no such sample.
pub fn value(metrics: &str, name: &str) -> f64 {
    sample(metrics, name).unwrap_or(0.0)
}

/// The value of counter `name`, if the text has it.
pub fn counter(metrics: &str, name: &str) -> Option<u64> {
    sample(metrics, name).map(|v| v as u64)
}

fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (sample, value) = line.split_once(' ')?;
        if sample != name {
            return None;
        }
        value.trim().parse().ok()
    })
}

/// The smallest bucket bound of histogram `name` holding fraction `p` of what it
/// observed between two scrapes, as "≤ N ms".
pub fn bucket_bound(name: &str, before: &str, after: &str, p: f64) -> String {
    let prefix = format!("{name}_bucket{{le=\"");
    let bucket = |m: &str, le: &str| value(m, &format!("{prefix}{le}\"}}"));
    let total = bucket(after, "+Inf") - bucket(before, "+Inf");
    after
        .lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .filter_map(|l| l.split_once('"'))
        .find(|(le, _)| bucket(after, le) - bucket(before, le) >= p * total)
        .map(|(le, _)| match le.parse::<f64>() {
            // Rust parses "+Inf" as infinity.
            Ok(seconds) if seconds.is_finite() => format!("≤ {} ms", seconds * 1e3),
            _ => "beyond the last bucket".into(),
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str =
        "x_bucket{le=\"0.001\"} 5\nx_bucket{le=\"0.01\"} 5\nx_bucket{le=\"+Inf\"} 5\n";
    const AFTER: &str =
        "x_bucket{le=\"0.001\"} 95\nx_bucket{le=\"0.01\"} 104\nx_bucket{le=\"+Inf\"} 105\n";

    #[test]
    fn counters_match_the_whole_name() {
        let text = "# TYPE a_total counter\na_total_x 9\na_total 3\n";
        assert_eq!(counter(text, "a_total"), Some(3));
        assert_eq!(counter(text, "a"), None);
    }

    #[test]
    fn bounds_count_only_what_came_between_the_scrapes() {
        assert_eq!(value(AFTER, "x_bucket{le=\"0.01\"}"), 104.0);
        assert_eq!(value(AFTER, "x_bucket{le=\"0.1\"}"), 0.0);
        assert_eq!(bucket_bound("x", BEFORE, AFTER, 0.5), "≤ 1 ms");
        assert_eq!(bucket_bound("x", BEFORE, AFTER, 0.99), "≤ 10 ms");
        assert_eq!(
            bucket_bound("x", BEFORE, AFTER, 1.0),
            "beyond the last bucket"
        );
    }
}
