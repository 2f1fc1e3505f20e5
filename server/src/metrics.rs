//! Prometheus counters for `/metrics`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing counter.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A Prometheus histogram of durations over fixed bucket bounds (seconds).
pub struct Histogram {
    bounds: &'static [f64],
    /// Per-bucket counts (not cumulative); the last one is `+Inf`.
    buckets: Vec<AtomicU64>,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// A histogram with the given upper bounds, ascending.
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Records one duration.
    pub fn observe(&self, elapsed: std::time::Duration) {
        let seconds = elapsed.as_secs_f64();
        let index = self
            .bounds
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(bucket) = self.buckets.get(index) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Appends the text exposition of this histogram as `name`.
    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            match self.bounds.get(i) {
                Some(bound) => {
                    let _ = writeln!(out, r#"{name}_bucket{{le="{bound}"}} {cumulative}"#);
                }
                None => {
                    let _ = writeln!(out, r#"{name}_bucket{{le="+Inf"}} {cumulative}"#);
                }
            }
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
    }
}

/// Request-time buckets, in seconds: half a millisecond to a second.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1.0,
];

impl Default for Histogram {
    /// A histogram with buckets for request times.
    fn default() -> Self {
        Self::new(LATENCY_BUCKETS)
    }
}

/// Responses of one route by (method, status).
type StatusCounts = BTreeMap<(String, u16), u64>;

/// Every counter the login side keeps.
#[derive(Default)]
pub struct Metrics {
    /// HTTP requests by route, then (method, status); looked up by `&str` so the
    /// hot path allocates only for a route's first request.
    requests: Mutex<HashMap<String, StatusCounts>>,
    /// Device authorizations started.
    pub device_authorizations: Counter,
    /// Requests approved on the page.
    pub approvals: Counter,
    /// Requests denied on the page.
    pub denials: Counter,
    /// Device codes exchanged for tokens (completed logins).
    pub logins: Counter,
    /// Refresh-token rotations.
    pub refreshes: Counter,
    /// Lost-response retries answered with the same successor.
    pub refresh_retries: Counter,
    /// Refresh-token reuse detected (sessions revoked as stolen).
    pub reuse_detections: Counter,
    /// Sessions revoked by logout / RFC 7009.
    pub revocations: Counter,
    /// Accounts created.
    pub registrations: Counter,
    /// Passkey sign-ins.
    pub signins: Counter,
    /// Requests refused with 429.
    pub rate_limited: Counter,
    /// Access tokens refused.
    pub access_denied: Counter,
    /// TCP connections closed at once because a connection cap was reached.
    pub connections_refused: Counter,
    /// Time from routing a request to its response being ready, every route.
    pub request_time: Histogram,
}

impl Metrics {
    /// Counts one HTTP response.
    pub fn record_request(&self, method: &str, route: &str, status: u16) {
        let Ok(mut routes) = self.requests.lock() else {
            return;
        };
        let counts = match routes.get_mut(route) {
            Some(counts) => counts,
            None => routes.entry(route.to_owned()).or_default(),
        };
        match counts
            .iter_mut()
            .find(|((m, s), _)| m == method && *s == status)
        {
            Some((_, n)) => *n += 1,
            None => {
                counts.insert((method.to_owned(), status), 1);
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP whack_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE whack_http_requests_total counter\n");
        if let Ok(routes) = self.requests.lock() {
            let sorted: BTreeMap<_, _> = routes.iter().collect();
            for ((method, status), route, n) in sorted
                .into_iter()
                .flat_map(|(r, c)| c.iter().map(move |(k, n)| (k, r, n)))
            {
                let _ = writeln!(
                    out,
                    r#"whack_http_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}"#
                );
            }
        }
        let counters: [(&str, &str, &Counter); 13] = [
            (
                "whack_device_authorizations_total",
                "Device authorizations started.",
                &self.device_authorizations,
            ),
            (
                "whack_device_approvals_total",
                "Device requests approved.",
                &self.approvals,
            ),
            (
                "whack_device_denials_total",
                "Device requests denied.",
                &self.denials,
            ),
            (
                "whack_logins_total",
                "Device codes exchanged for tokens.",
                &self.logins,
            ),
            (
                "whack_refreshes_total",
                "Refresh-token rotations.",
                &self.refreshes,
            ),
            (
                "whack_refresh_retries_total",
                "Lost-response retries given the same successor.",
                &self.refresh_retries,
            ),
            (
                "whack_refresh_reuse_detected_total",
                "Refresh-token reuse detections (sessions revoked).",
                &self.reuse_detections,
            ),
            (
                "whack_revocations_total",
                "Sessions revoked by the client.",
                &self.revocations,
            ),
            (
                "whack_registrations_total",
                "Accounts created.",
                &self.registrations,
            ),
            (
                "whack_passkey_signins_total",
                "Passkey sign-ins.",
                &self.signins,
            ),
            (
                "whack_rate_limited_total",
                "Requests refused with 429.",
                &self.rate_limited,
            ),
            (
                "whack_access_tokens_refused_total",
                "Access tokens refused.",
                &self.access_denied,
            ),
            (
                "whack_connections_refused_total",
                "Connections closed at once: a connection cap was reached.",
                &self.connections_refused,
            ),
        ];
        for (name, help, counter) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                counter.get()
            );
        }
        self.request_time.render(
            &mut out,
            "whack_http_request_duration_seconds",
            "Time from routing a request to its response being ready (every route).",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.record_request("POST", "/oauth/token", 200);
        m.record_request("POST", "/oauth/token", 200);
        m.reuse_detections.inc();
        let text = m.render();
        assert!(text.contains(
            r#"whack_http_requests_total{method="POST",route="/oauth/token",status="200"} 2"#
        ));
        assert!(text.contains("whack_refresh_reuse_detected_total 1"));
        assert!(text.contains("# TYPE whack_logins_total counter\nwhack_logins_total 0"));
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::new(&[0.001, 0.01]);
        h.observe(std::time::Duration::from_micros(500));
        h.observe(std::time::Duration::from_millis(5));
        h.observe(std::time::Duration::from_millis(5));
        h.observe(std::time::Duration::from_secs(1));
        let mut text = String::new();
        h.render(&mut text, "t_seconds", "Test.");
        assert!(text.contains("# TYPE t_seconds histogram\n"));
        assert!(text.contains("t_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("t_seconds_bucket{le=\"0.01\"} 3\n"));
        assert!(text.contains("t_seconds_bucket{le=\"+Inf\"} 4\n"));
        assert!(text.contains("t_seconds_sum 1.0105\nt_seconds_count 4\n"));
    }
}
