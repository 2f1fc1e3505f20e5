//! The device authorization grant (RFC 8628) from the device's side: ask for a code,
//! then poll the token endpoint honouring `interval` and `slow_down`.
//!
//! Cancel a login by dropping the [`poll`] future (e.g. in a `select!` with Ctrl-C).

use crate::auth::http::{self, Http, HttpError};
use crate::auth::server::ServerUrl;
use crate::sanitize::{MAX_CODE_LIFETIME_SECS, MAX_POLL_INTERVAL_SECS};
use std::time::Duration;
use thiserror::Error;
use tokio::time::Instant;
use whack_shared::CLIENT_ID;
use whack_shared::oauth::{
    DEVICE_CODE_GRANT, DeviceAuthorization, ErrorBody, ErrorCode, SLOW_DOWN_STEP_SECS,
    TokenResponse,
};

/// Consecutive network failures tolerated while polling before giving up.
const MAX_POLL_FAILURES: u32 = 3;
/// Longest interval we accept from a server, so a typo there cannot stall us for hours.
const MAX_INTERVAL: Duration = Duration::from_secs(MAX_POLL_INTERVAL_SECS);
/// Longest code lifetime we accept from a server.
const MAX_LIFETIME: Duration = Duration::from_secs(MAX_CODE_LIFETIME_SECS);

/// Why a login did not produce tokens.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoginError {
    /// The player pressed Deny on the page.
    #[error("the sign-in was denied in the browser")]
    Denied,
    /// The code expired before anyone approved it.
    #[error("the code expired before it was approved; run `whack login` again")]
    Expired,
    /// The server cannot be reached or misbehaves.
    #[error("{0}")]
    ServerDown(HttpError),
    /// The player cancelled (Ctrl-C, Esc).
    #[error("login cancelled")]
    Cancelled,
    /// Anything else the server refused.
    #[error("login failed: {0}")]
    Other(String),
    /// The sign-in page is not on the `--server` origin: it could be a phishing page.
    #[error(
        "the server sent a sign-in page on another origin ({page}) than --server ({server}); \
         whack neither shows nor opens it, since it could be a phishing page. Use the \
         --server URL your Whack server's operator gave you"
    )]
    ForeignOrigin {
        /// The `--server` origin.
        server: String,
        /// The origin of the page the server named (or `unparseable URL`).
        page: String,
    },
}

impl From<HttpError> for LoginError {
    fn from(e: HttpError) -> Self {
        Self::ServerDown(e)
    }
}

/// What one poll of the token endpoint said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// Approved: here are the tokens.
    Token(TokenResponse),
    /// Not approved yet.
    Pending,
    /// Polling too fast: add 5 seconds to the interval.
    SlowDown,
    /// Denied.
    Denied,
    /// Expired.
    Expired,
    /// Refused for another reason (unknown or already used code, bad client).
    Refused(String),
}

/// Asks the server for a device code and user code.
pub async fn start(http: &Http, server: &ServerUrl) -> Result<DeviceAuthorization, LoginError> {
    let response = http
        .client()
        .post(server.endpoint("/oauth/device_authorization"))
        .form(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .map_err(|e| http::transport_error(server, &e))?;
    let status = response.status();
    if status.is_success() {
        let authorization = http::json_body(server, response).await?;
        check_origin(server, &authorization)?;
        return Ok(authorization);
    }
    if status.as_u16() == 400 || status.as_u16() == 401 {
        let body: ErrorBody = http::json_body(server, response).await?;
        return Err(LoginError::Other(describe_error(&body)));
    }
    Err(http::status_error(server, &response).into())
}

/// Refuses verification URLs outside the `--server` origin, before anything shows or
/// opens them: a hostile or hijacked server could otherwise send the player to a
/// look-alike page. (Our server's URLs are `{public_url}/device…`, and `--server` is
/// meant to be that public URL.)
pub fn check_origin(
    server: &ServerUrl,
    authorization: &DeviceAuthorization,
) -> Result<(), LoginError> {
    for url in [
        &authorization.verification_uri,
        &authorization.verification_uri_complete,
    ] {
        if !server.same_origin(url) {
            return Err(LoginError::ForeignOrigin {
                server: server.origin().to_string(),
                page: ServerUrl::origin_of(url).unwrap_or_else(|| "unparseable URL".to_string()),
            });
        }
    }
    Ok(())
}

/// Polls until the player approves, denies, or the code expires.
pub async fn poll(
    http: &Http,
    server: &ServerUrl,
    authorization: &DeviceAuthorization,
) -> Result<TokenResponse, LoginError> {
    let mut schedule = Schedule::new(authorization, Instant::now());
    loop {
        tokio::time::sleep_until(schedule.next_poll()).await;
        if schedule.expired(Instant::now()) {
            return Err(LoginError::Expired);
        }
        let sent = Instant::now();
        let outcome = exchange_once(http, server, authorization).await;
        if let Ok(PollOutcome::Token(_)) = &outcome {
            tracing::debug!(
                exchange_ms = sent.elapsed().as_secs_f64() * 1000.0,
                "device code exchanged for tokens"
            );
        }
        // The next poll is timed from this answer, not from when this poll was due:
        // on a slow or loaded machine a late answer must not make the next poll early
        // (the server would answer `slow_down`, and the interval would keep growing).
        match schedule.after(outcome, Instant::now())? {
            Some(tokens) => return Ok(tokens),
            None => continue,
        }
    }
}

/// One request to the token endpoint with the device code.
pub async fn exchange_once(
    http: &Http,
    server: &ServerUrl,
    authorization: &DeviceAuthorization,
) -> Result<PollOutcome, HttpError> {
    let response = http
        .client()
        .post(server.endpoint("/oauth/token"))
        .form(&[
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", authorization.device_code.expose()),
            ("client_id", CLIENT_ID),
        ])
        .send()
        .await
        .map_err(|e| http::transport_error(server, &e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(PollOutcome::Token(http::json_body(server, response).await?));
    }
    if status.as_u16() == 400 || status.as_u16() == 401 {
        let body: ErrorBody = http::json_body(server, response).await?;
        return Ok(match body.error {
            ErrorCode::AuthorizationPending => PollOutcome::Pending,
            ErrorCode::SlowDown => PollOutcome::SlowDown,
            ErrorCode::AccessDenied => PollOutcome::Denied,
            ErrorCode::ExpiredToken => PollOutcome::Expired,
            _ => PollOutcome::Refused(describe_error(&body)),
        });
    }
    Err(http::status_error(server, &response))
}

fn describe_error(body: &ErrorBody) -> String {
    let code = serde_json::to_value(body.error)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "error".to_string());
    match &body.error_description {
        Some(d) => format!("{code}: {d}"),
        None => code,
    }
}

/// The pure polling rules: when to poll next and what each answer means.
#[derive(Debug, Clone)]
pub struct Schedule {
    interval: Duration,
    next: Instant,
    deadline: Instant,
    failures: u32,
}

impl Schedule {
    /// Starts the schedule for a code received at `now`. Server numbers are clamped
    /// (interval 1–60 s, lifetime at most an hour) and never overflow.
    pub fn new(authorization: &DeviceAuthorization, now: Instant) -> Self {
        let interval = Duration::from_secs(authorization.interval.max(1)).min(MAX_INTERVAL);
        let lifetime = Duration::from_secs(authorization.expires_in).min(MAX_LIFETIME);
        Self {
            interval,
            next: later(now, interval),
            deadline: later(now, lifetime),
            failures: 0,
        }
    }

    /// When to send the next poll.
    pub fn next_poll(&self) -> Instant {
        self.next
    }

    /// The current interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// True once the code's lifetime is over.
    pub fn expired(&self, now: Instant) -> bool {
        now >= self.deadline
    }

    /// Applies one poll result that arrived at `answered`: tokens, keep polling
    /// (`None`, the next poll one interval after `answered`), or a final error.
    pub fn after(
        &mut self,
        outcome: Result<PollOutcome, HttpError>,
        answered: Instant,
    ) -> Result<Option<TokenResponse>, LoginError> {
        let outcome = match outcome {
            Ok(outcome) => {
                self.failures = 0;
                outcome
            }
            Err(e) => {
                self.failures += 1;
                if self.failures >= MAX_POLL_FAILURES {
                    return Err(LoginError::ServerDown(e));
                }
                // RFC 8628 §3.5: back off on connection trouble.
                self.interval = self.interval.saturating_mul(2).min(MAX_INTERVAL);
                self.next = later(answered, self.interval);
                return Ok(None);
            }
        };
        match outcome {
            PollOutcome::Token(tokens) => Ok(Some(tokens)),
            PollOutcome::Pending => {
                self.next = later(answered, self.interval);
                Ok(None)
            }
            PollOutcome::SlowDown => {
                self.interval = self
                    .interval
                    .saturating_add(Duration::from_secs(SLOW_DOWN_STEP_SECS))
                    .min(MAX_INTERVAL);
                // RFC 8628 §3.5: the larger interval holds for this and every later poll.
                self.next = later(answered, self.interval);
                Ok(None)
            }
            PollOutcome::Denied => Err(LoginError::Denied),
            PollOutcome::Expired => Err(LoginError::Expired),
            PollOutcome::Refused(why) => Err(LoginError::Other(why)),
        }
    }
}

/// `t + d`, or `t` itself where the clock cannot represent the sum: the code then
/// counts as expired at once, a clear error instead of a panic.
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use whack_shared::Secret;

    fn authorization(interval: u64, expires_in: u64) -> DeviceAuthorization {
        DeviceAuthorization {
            device_code: Secret::new("whd_x"),
            user_code: "BCDF-GHJK".into(),
            verification_uri: "http://localhost:8080/device".into(),
            verification_uri_complete: "http://localhost:8080/device?user_code=BCDF-GHJK".into(),
            expires_in,
            interval,
        }
    }

    fn down() -> HttpError {
        HttpError::Timeout {
            origin: "http://x".into(),
        }
    }

    #[test]
    fn waits_an_interval_after_each_answer_and_slows_down_by_five_seconds() {
        let t0 = Instant::now();
        let secs = |n: f64| t0 + Duration::from_secs_f64(n);
        let mut s = Schedule::new(&authorization(5, 600), t0);
        assert_eq!(s.next_poll(), secs(5.0));
        // Polled at 5, answered at 5.2: the next poll waits a full interval from the answer.
        assert_eq!(s.after(Ok(PollOutcome::Pending), secs(5.2)), Ok(None));
        assert_eq!(s.next_poll(), secs(10.2));
        // A late answer (a loaded machine) pushes the next poll back, never forward.
        assert_eq!(s.after(Ok(PollOutcome::Pending), secs(13.0)), Ok(None));
        assert_eq!(s.next_poll(), secs(18.0));
        // slow_down: the larger interval from this answer on, and for every later poll.
        assert_eq!(s.after(Ok(PollOutcome::SlowDown), secs(18.1)), Ok(None));
        assert_eq!(s.interval(), Duration::from_secs(10));
        assert_eq!(s.next_poll(), secs(28.1));
        assert_eq!(s.after(Ok(PollOutcome::Pending), secs(28.2)), Ok(None));
        assert_eq!(s.next_poll(), secs(38.2));
    }

    /// A simulated login on a loaded machine: each poll reaches the server late by a
    /// varying amount (the process was not scheduled), and a strict server answers
    /// `slow_down` (+5 s) whenever two polls arrive less than its interval apart.
    /// Timed from the answers, the client never trips it, and tokens arrive within
    /// one interval plus the delays (under a second here) of the approval, wherever
    /// in the cycle the approval falls.
    #[test]
    fn on_a_loaded_machine_approval_is_seen_within_one_interval_plus_a_second() {
        const INTERVAL: f64 = 5.0;
        // (delay before the poll reaches the server, delay of its answer), seconds.
        let delays = [(0.9, 0.05), (0.0, 0.05), (0.6, 0.3), (0.0, 0.0), (0.8, 0.1)];
        for approved_at in [7.0, 11.3, 16.9, 23.5, 31.0] {
            let t0 = Instant::now();
            let at = |secs: f64| t0 + Duration::from_secs_f64(secs);
            let since = |t: Instant| t.duration_since(t0).as_secs_f64();
            let mut s = Schedule::new(&authorization(5, 600), t0);
            let (mut server_interval, mut last_arrival) = (INTERVAL, f64::NEG_INFINITY);
            let (mut slow_downs, mut answered) = (0, 0.0);
            for (k, (up, down)) in delays.iter().cycle().enumerate().take(50) {
                // One request at a time: a poll due before the last answer goes then.
                let arrival = since(s.next_poll()).max(answered) + up;
                let outcome = if arrival - last_arrival < server_interval {
                    slow_downs += 1;
                    server_interval += 5.0;
                    PollOutcome::SlowDown
                } else if arrival >= approved_at {
                    PollOutcome::Token(TokenResponse {
                        access_token: Secret::new("a"),
                        token_type: "Bearer".into(),
                        expires_in: 900,
                        refresh_token: Secret::new("whr_r"),
                    })
                } else {
                    PollOutcome::Pending
                };
                last_arrival = arrival;
                answered = arrival + down;
                if matches!(s.after(Ok(outcome), at(answered)), Ok(Some(_))) {
                    let waited = answered - approved_at;
                    assert!(
                        waited <= INTERVAL + 1.0,
                        "approved at {approved_at} s, seen at {answered:.2} s (poll {k})"
                    );
                    break;
                }
                assert!(k < 49, "approved at {approved_at} s: never logged in");
            }
            assert_eq!(slow_downs, 0, "approved at {approved_at} s");
        }
    }

    #[test]
    fn final_answers_end_the_loop() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&authorization(5, 600), t0);
        assert_eq!(
            s.after(Ok(PollOutcome::Denied), t0),
            Err(LoginError::Denied)
        );
        assert_eq!(
            s.after(Ok(PollOutcome::Expired), t0),
            Err(LoginError::Expired)
        );
        assert!(matches!(
            s.after(Ok(PollOutcome::Refused("invalid_grant".into())), t0),
            Err(LoginError::Other(_))
        ));
        assert!(s.expired(t0 + Duration::from_secs(600)));
        assert!(!s.expired(t0 + Duration::from_secs(599)));
    }

    #[test]
    fn huge_server_numbers_are_clamped_without_overflow() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&authorization(u64::MAX, u64::MAX), t0);
        assert_eq!(s.interval(), MAX_INTERVAL);
        assert_eq!(s.next_poll(), t0 + MAX_INTERVAL);
        assert!(!s.expired(t0 + MAX_LIFETIME - Duration::from_secs(1)));
        assert!(s.expired(t0 + MAX_LIFETIME));
        for _ in 0..100 {
            assert_eq!(s.after(Ok(PollOutcome::SlowDown), t0), Ok(None));
        }
        assert_eq!(s.interval(), MAX_INTERVAL, "slow_down stays within the cap");
        assert_eq!(
            later(t0, Duration::MAX),
            t0,
            "an unrepresentable time does not panic"
        );
    }

    #[test]
    fn sign_in_pages_must_be_on_the_server_origin() {
        let server = ServerUrl::parse("http://localhost:8080").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(check_origin(&server, &authorization(5, 600)), Ok(()));
        let mut foreign = authorization(5, 600);
        foreign.verification_uri_complete = "https://evil.example/device?user_code=X".into();
        assert_eq!(
            check_origin(&server, &foreign),
            Err(LoginError::ForeignOrigin {
                server: "http://localhost:8080".into(),
                page: "https://evil.example".into(),
            })
        );
        for other in [
            "http://127.0.0.1:8080/device",
            "http://localhost:8081/device",
            "https://localhost:8080/device",
            "javascript:alert(1)",
            "not a url",
        ] {
            let mut a = authorization(5, 600);
            a.verification_uri = other.into();
            assert!(check_origin(&server, &a).is_err(), "{other}");
        }
    }

    #[test]
    fn tolerates_a_few_network_failures_with_backoff() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&authorization(0, 600), t0);
        assert_eq!(
            s.interval(),
            Duration::from_secs(1),
            "interval 0 is clamped"
        );
        assert_eq!(s.after(Err(down()), t0), Ok(None));
        assert_eq!(s.interval(), Duration::from_secs(2));
        assert_eq!(s.after(Ok(PollOutcome::Pending), t0), Ok(None));
        assert_eq!(s.after(Err(down()), t0), Ok(None));
        assert_eq!(s.after(Err(down()), t0), Ok(None));
        assert!(matches!(
            s.after(Err(down()), t0),
            Err(LoginError::ServerDown(_))
        ));
    }
}
