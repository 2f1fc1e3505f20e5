//! The game side's series for `/metrics`, listed once in [`GameMetrics::describe`].

use crate::metrics::{Counter, Exposition, Gauge, Histogram};
use whack_shared::protocol::CloseCode;

/// Counters and gauges of the game side.
pub struct GameMetrics {
    /// Open `/play` connections.
    pub connections: Gauge,
    /// `/play` connections accepted since start.
    pub connections_total: Counter,
    /// Rooms open now.
    pub rooms: Gauge,
    /// Rounds played to the end (results recorded).
    pub rounds_finished: Counter,
    /// Whacks received.
    pub whacks: Counter,
    /// Whacks dropped for going over the per-player cap.
    pub whacks_dropped: Counter,
    /// Malformed frames answered with `error`.
    pub protocol_errors: Counter,
    /// Closed with 4001.
    pub closed_token: Counter,
    /// Closed with 4002 or 4003.
    pub closed_protocol: Counter,
    /// Closed with 4008.
    pub closed_flood: Counter,
    /// Closed for not reading fast enough.
    pub closed_slow: Counter,
    /// Closed for silence.
    pub closed_idle: Counter,
    /// `/play` upgrades refused with 429 (connects per second).
    pub refused_connect_rate: Counter,
    /// `/play` sockets refused for going over the per-player cap.
    pub refused_sockets: Counter,
    /// Rooms refused for going over the server's cap.
    pub refused_rooms: Counter,
    /// Wrong join codes.
    pub guesses_wrong: Counter,
    /// Join codes refused unread because of the guess limit.
    pub guesses_refused: Counter,
    /// From a socket reading a whack to its result queued for every seat.
    pub whack_handling: Histogram,
}

/// Whack-handling buckets: the room answers in microseconds when it is not
/// waiting for a core.
const WHACK_BUCKETS: &[f64] = &[0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.05];

impl Default for GameMetrics {
    fn default() -> Self {
        Self {
            connections: Gauge::default(),
            connections_total: Counter::default(),
            rooms: Gauge::default(),
            rounds_finished: Counter::default(),
            whacks: Counter::default(),
            whacks_dropped: Counter::default(),
            protocol_errors: Counter::default(),
            closed_token: Counter::default(),
            closed_protocol: Counter::default(),
            closed_flood: Counter::default(),
            closed_slow: Counter::default(),
            closed_idle: Counter::default(),
            refused_connect_rate: Counter::default(),
            refused_sockets: Counter::default(),
            refused_rooms: Counter::default(),
            guesses_wrong: Counter::default(),
            guesses_refused: Counter::default(),
            whack_handling: Histogram::new(WHACK_BUCKETS),
        }
    }
}

impl GameMetrics {
    /// Counts a connection the server closed with `code`.
    pub fn count_close(&self, code: CloseCode) {
        let counter = match code {
            CloseCode::TokenExpired => &self.closed_token,
            CloseCode::ProtocolError | CloseCode::VersionMismatch => &self.closed_protocol,
            CloseCode::RateLimited => &self.closed_flood,
            CloseCode::TooSlow => &self.closed_slow,
            CloseCode::Idle => &self.closed_idle,
            // Shutdown closes everyone; it is not a verdict on the connection.
            CloseCode::GoingAway => return,
        };
        counter.inc();
    }

    /// Writes every game-side series.
    pub fn describe(&self, out: &mut Exposition<'_>) {
        out.gauge(
            "whack_ws_connections",
            "Open game connections.",
            self.connections.get(),
        );
        out.gauge("whack_rooms", "Open rooms.", self.rooms.get());
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
        for (name, help, counter) in counters {
            out.counter(name, help, counter);
        }
        out.labelled_counters(
            "whack_ws_closed_total",
            "Game connections closed by the server, by reason.",
            "reason",
            &[
                ("token", &self.closed_token),
                ("protocol", &self.closed_protocol),
                ("flood", &self.closed_flood),
                ("slow", &self.closed_slow),
                ("idle", &self.closed_idle),
            ],
        );
        out.labelled_counters(
            "whack_ws_refused_total",
            "Game connections refused, by reason.",
            "reason",
            &[
                ("connect_rate", &self.refused_connect_rate),
                ("sockets", &self.refused_sockets),
            ],
        );
        out.histogram(
            "whack_whack_handling_seconds",
            "Whacks from the socket reading them to their result queued for every seat.",
            &self.whack_handling,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_gauges_and_counters() {
        let m = GameMetrics::default();
        m.connections.inc();
        m.connections.inc();
        m.whacks_dropped.inc();
        m.count_close(CloseCode::RateLimited);
        m.count_close(CloseCode::GoingAway);
        m.whack_handling
            .observe(std::time::Duration::from_micros(300));
        let mut text = String::new();
        m.describe(&mut Exposition::new(&mut text));
        assert!(text.contains("# TYPE whack_ws_connections gauge\nwhack_ws_connections 2"));
        assert!(text.contains("whack_whacks_dropped_total 1"));
        assert!(text.contains("whack_ws_closed_total{reason=\"flood\"} 1"));
        assert!(text.contains("whack_ws_closed_total{reason=\"token\"} 0"));
        assert!(text.contains("whack_whack_handling_seconds_bucket{le=\"0.00025\"} 0"));
        assert!(text.contains("whack_whack_handling_seconds_bucket{le=\"0.0005\"} 1"));
    }
}
