//! The one metrics mechanism of the server: [`Counter`], [`Gauge`] and
//! [`Histogram`] values, and [`Exposition`], which writes any of them in the
//! Prometheus text format from its name and help. Each metrics struct lists its
//! series once, in a `describe` method; nothing else formats Prometheus text.
//!
//! No metrics crate: the series are fixed at compile time, labels come from
//! closed sets, and a dozen atomics need no registry or recorder.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{Display, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A monotonically increasing counter.
#[derive(Debug, Default)]
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

/// A value that goes up and down (open connections, open rooms).
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes one away.
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A Prometheus histogram of durations over fixed bucket bounds (seconds).
#[derive(Debug)]
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
        Exposition::new(out).histogram(name, help, self);
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

/// Writes series in the Prometheus text format (version 0.0.4) onto a string.
pub struct Exposition<'a> {
    out: &'a mut String,
}

impl<'a> Exposition<'a> {
    /// Appends to `out`.
    pub fn new(out: &'a mut String) -> Self {
        Self { out }
    }

    fn header(&mut self, name: &str, help: &str, kind: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One unlabelled counter.
    pub fn counter(&mut self, name: &str, help: &str, counter: &Counter) {
        self.header(name, help, "counter");
        let _ = writeln!(self.out, "{name} {}", counter.get());
    }

    /// One unlabelled gauge with the value `value`.
    pub fn gauge(&mut self, name: &str, help: &str, value: impl Display) {
        self.header(name, help, "gauge");
        let _ = writeln!(self.out, "{name} {value}");
    }

    /// One counter family with a single label, one series per `(value, counter)`.
    pub fn labelled_counters(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        series: &[(&str, &Counter)],
    ) {
        self.header(name, help, "counter");
        for (value, counter) in series {
            let _ = writeln!(self.out, r#"{name}{{{label}="{value}"}} {}"#, counter.get());
        }
    }

    /// A counter family whose series and labels are only known at run time:
    /// each item is its label pairs and its value.
    pub fn counter_family<'l>(
        &mut self,
        name: &str,
        help: &str,
        series: impl IntoIterator<Item = (Vec<(&'l str, String)>, u64)>,
    ) {
        self.header(name, help, "counter");
        for (labels, n) in series {
            let labels: Vec<String> = labels
                .into_iter()
                .map(|(k, v)| format!(r#"{k}="{v}""#))
                .collect();
            let _ = writeln!(self.out, "{name}{{{}}} {n}", labels.join(","));
        }
    }

    /// One histogram: cumulative buckets, sum and count.
    pub fn histogram(&mut self, name: &str, help: &str, histogram: &Histogram) {
        self.header(name, help, "histogram");
        let mut cumulative = 0;
        for (i, bucket) in histogram.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            match histogram.bounds.get(i) {
                Some(bound) => {
                    let _ = writeln!(self.out, r#"{name}_bucket{{le="{bound}"}} {cumulative}"#);
                }
                None => {
                    let _ = writeln!(self.out, r#"{name}_bucket{{le="+Inf"}} {cumulative}"#);
                }
            }
        }
        let sum = histogram.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(self.out, "{name}_sum {sum}\n{name}_count {cumulative}");
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

    /// Writes every login-side series.
    pub fn describe(&self, out: &mut Exposition<'_>) {
        let requests: Vec<_> = match self.requests.lock() {
            Ok(routes) => {
                let sorted: BTreeMap<_, _> = routes.iter().collect();
                sorted
                    .into_iter()
                    .flat_map(|(route, counts)| {
                        counts.iter().map(move |((method, status), n)| {
                            let labels = vec![
                                ("method", method.clone()),
                                ("route", route.clone()),
                                ("status", status.to_string()),
                            ];
                            (labels, *n)
                        })
                    })
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        out.counter_family(
            "whack_http_requests_total",
            "HTTP requests by route and status.",
            requests,
        );
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
            out.counter(name, help, counter);
        }
        out.histogram(
            "whack_http_request_duration_seconds",
            "Time from routing a request to its response being ready (every route).",
            &self.request_time,
        );
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
        let mut text = String::new();
        m.describe(&mut Exposition::new(&mut text));
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
        assert_eq!(h.count(), 4);
    }

    #[test]
    fn gauges_and_labelled_counters() {
        let open = Gauge::default();
        open.inc();
        open.inc();
        open.dec();
        let (a, b) = (Counter::default(), Counter::default());
        b.inc();
        let mut text = String::new();
        let mut out = Exposition::new(&mut text);
        out.gauge("g", "A gauge.", open.get());
        out.labelled_counters("c_total", "By reason.", "reason", &[("a", &a), ("b", &b)]);
        assert_eq!(
            text,
            "# HELP g A gauge.\n# TYPE g gauge\ng 1\n\
             # HELP c_total By reason.\n# TYPE c_total counter\n\
             c_total{reason=\"a\"} 0\nc_total{reason=\"b\"} 1\n"
        );
    }
}
