//! Game-side counters for `/metrics`.

use crate::metrics::Histogram;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters and gauges of the game side.
#[derive(Default)]
pub struct GameMetrics {
    /// Open `/play` connections.
    pub connections: AtomicI64,
    /// `/play` connections accepted since start.
    pub connections_total: AtomicU64,
    /// Rooms open now.
    pub rooms: AtomicI64,
    /// Rounds played to the end (results recorded).
    pub rounds_finished: AtomicU64,
    /// Whacks received.
    pub whacks: AtomicU64,
    /// Whacks dropped for going over the per-player cap.
    pub whacks_dropped: AtomicU64,
    /// Malformed frames answered with `error`.
    pub protocol_errors: AtomicU64,
    /// Connections closed by the server, by reason.
    pub closed_token: AtomicU64,
    /// Closed with 4002.
    pub closed_protocol: AtomicU64,
    /// Closed with 4008.
    pub closed_flood: AtomicU64,
    /// Closed for not reading fast enough.
    pub closed_slow: AtomicU64,
    /// Closed for silence.
    pub closed_idle: AtomicU64,
    /// `/play` upgrades refused with 429 (connects per second).
    pub refused_connect_rate: AtomicU64,
    /// `/play` sockets refused for going over the per-player cap.
    pub refused_sockets: AtomicU64,
    /// Rooms refused for going over the server's cap.
    pub refused_rooms: AtomicU64,
    /// Wrong join codes.
    pub guesses_wrong: AtomicU64,
    /// Join codes refused unread because of the guess limit.
    pub guesses_refused: AtomicU64,
    /// From a socket reading a whack to its result queued for every seat.
    pub whack_handling: WhackTimes,
}

/// Whack-handling buckets: the room answers in microseconds when it is not
/// waiting for a core.
const WHACK_BUCKETS: &[f64] = &[0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.05];

/// A histogram of whack-handling times, with buckets fit for them.
pub struct WhackTimes(Histogram);

impl Default for WhackTimes {
    fn default() -> Self {
        Self(Histogram::new(WHACK_BUCKETS))
    }
}

impl std::ops::Deref for WhackTimes {
    type Target = Histogram;
    fn deref(&self) -> &Histogram {
        &self.0
    }
}

/// Adds one to a counter.
pub fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl GameMetrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let gauges = [
            (
                "whack_ws_connections",
                "Open game connections.",
                &self.connections,
            ),
            ("whack_rooms", "Open rooms.", &self.rooms),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let counters = [
            (
                "whack_ws_connections_total",
                "Game connections accepted.",
                &self.connections_total,
            ),
            (
                "whack_rounds_finished_total",
                "Rounds played to the end.",
                &self.rounds_finished,
            ),
            ("whack_whacks_total", "Whacks received.", &self.whacks),
            (
                "whack_whacks_dropped_total",
                "Whacks dropped over the per-player cap.",
                &self.whacks_dropped,
            ),
            (
                "whack_ws_protocol_errors_total",
                "Malformed frames answered with an error.",
                &self.protocol_errors,
            ),
            (
                "whack_join_codes_wrong_total",
                "Join codes that matched no room.",
                &self.guesses_wrong,
            ),
            (
                "whack_join_codes_refused_total",
                "Join codes refused for too many wrong ones lately.",
                &self.guesses_refused,
            ),
            (
                "whack_rooms_refused_total",
                "Rooms not opened because the server has its maximum open.",
                &self.refused_rooms,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP whack_ws_closed_total Game connections closed by the server, by reason.\n# TYPE whack_ws_closed_total counter"
        );
        for (reason, value) in [
            ("token", &self.closed_token),
            ("protocol", &self.closed_protocol),
            ("flood", &self.closed_flood),
            ("slow", &self.closed_slow),
            ("idle", &self.closed_idle),
        ] {
            let _ = writeln!(
                out,
                "whack_ws_closed_total{{reason=\"{reason}\"}} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP whack_ws_refused_total Game connections refused, by reason.\n# TYPE whack_ws_refused_total counter"
        );
        for (reason, value) in [
            ("connect_rate", &self.refused_connect_rate),
            ("sockets", &self.refused_sockets),
        ] {
            let _ = writeln!(
                out,
                "whack_ws_refused_total{{reason=\"{reason}\"}} {}",
                value.load(Ordering::Relaxed)
            );
        }
        self.whack_handling.render(
            &mut out,
            "whack_whack_handling_seconds",
            "Whacks from the socket reading them to their result queued for every seat.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_gauges_and_counters() {
        let m = GameMetrics::default();
        m.connections.fetch_add(2, Ordering::Relaxed);
        inc(&m.whacks_dropped);
        m.whack_handling
            .observe(std::time::Duration::from_micros(300));
        let text = m.render();
        assert!(text.contains("# TYPE whack_ws_connections gauge\nwhack_ws_connections 2"));
        assert!(text.contains("whack_whacks_dropped_total 1"));
        assert!(text.contains("whack_ws_closed_total{reason=\"flood\"} 0"));
        assert!(text.contains("whack_whack_handling_seconds_bucket{le=\"0.00025\"} 0"));
        assert!(text.contains("whack_whack_handling_seconds_bucket{le=\"0.0005\"} 1"));
    }
}
