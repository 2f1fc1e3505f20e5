//! The lobby: which rooms exist, who is seated where, every open connection (to
//! close them on revocation and shutdown), and quick match. Rooms run as their own
//! tasks; the hub only finds them and hands them commands.

use super::clock::GameClock;
use super::link::{CloseSignal, ConnLink};
use super::metrics::GameMetrics;
use super::room::{self, RoomCmd, RoomSpec};
use super::room_error::RoomError;
use super::settings::GameSettings;
use crate::durability::Durability;
use crate::revocation::Revocations;
use crate::stats::Stats;
use rand::Rng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use whack_shared::protocol::{
    DEFAULT_ROUND_SECS, MAX_PLAYERS, MAX_ROUND_SECS, MIN_ROUND_SECS, PlayerRef, RoomPhase,
    RoomSummary, close,
};

/// Letters of private join codes: no vowels, so no words, and nothing to confuse.
const CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Length of a private join code.
const CODE_LEN: usize = 6;
/// Longest room name, in characters.
const MAX_NAME_CHARS: usize = 32;
/// Commands queued per room.
const ROOM_QUEUE: usize = 1024;
/// How long shutdown waits for rooms to record results, then for sockets to close.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// What `create_room` asked for.
#[derive(Debug, Clone, Default)]
pub struct CreateRoom {
    /// Shown in the list.
    pub name: Option<String>,
    /// Joined by code only.
    pub private: bool,
    /// Round length.
    pub round_secs: Option<u32>,
    /// Fixed randomness (seeded servers only).
    pub seed: Option<u64>,
}

/// A room a connection is in: where to send its commands.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    /// Room id.
    pub id: Arc<str>,
    pub(super) tx: mpsc::Sender<RoomCmd>,
}

struct RoomEntry {
    tx: mpsc::Sender<RoomCmd>,
    summary: RoomSummary,
    private: bool,
    quick: bool,
    code: Option<String>,
    opened: u64,
    task: Option<JoinHandle<()>>,
}

struct ConnEntry {
    sid: String,
    close: Arc<CloseSignal>,
}

#[derive(Default)]
struct Registry {
    rooms: HashMap<Arc<str>, RoomEntry>,
    codes: HashMap<String, Arc<str>>,
    /// Player id → the room holding their seat.
    seated: HashMap<String, Arc<str>>,
    conns: HashMap<u64, ConnEntry>,
    opened: u64,
}

/// The shared core; rooms hold it to publish their state.
pub(super) struct Hub {
    pub(super) settings: GameSettings,
    pub(super) clock: GameClock,
    pub(super) stats: Stats,
    pub(super) durability: Durability,
    pub(super) metrics: GameMetrics,
    revocations: Arc<Revocations>,
    registry: Mutex<Registry>,
    next_conn: AtomicU64,
    shutting_down: AtomicBool,
    conns_changed: Notify,
}

/// The game side of the server: cheap to clone.
#[derive(Clone)]
pub struct GameHub {
    hub: Arc<Hub>,
}

/// A registered connection; unregisters itself when dropped.
pub struct ConnRegistration {
    hub: Arc<Hub>,
    /// The connection's id.
    pub id: u64,
    /// Raise to close the connection.
    pub close: Arc<CloseSignal>,
}

impl Drop for ConnRegistration {
    fn drop(&mut self) {
        self.hub.registry().conns.remove(&self.id);
        self.hub.metrics.connections.fetch_sub(1, Ordering::Relaxed);
        self.hub.conns_changed.notify_waiters();
    }
}

impl GameHub {
    /// The hub, watching `revocations` to close the sockets of revoked sessions.
    /// Must run inside a tokio runtime.
    pub fn new(
        settings: GameSettings,
        stats: Stats,
        durability: Durability,
        revocations: Arc<Revocations>,
    ) -> Self {
        let hub = Arc::new(Hub {
            settings,
            clock: GameClock::start(),
            stats,
            durability,
            metrics: GameMetrics::default(),
            revocations: Arc::clone(&revocations),
            registry: Mutex::new(Registry::default()),
            next_conn: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
            conns_changed: Notify::new(),
        });
        tokio::spawn(watch_revocations(
            Arc::downgrade(&hub),
            revocations.subscribe(),
        ));
        Self { hub }
    }

    /// The settings.
    pub fn settings(&self) -> &GameSettings {
        &self.hub.settings
    }

    /// The clock every room uses.
    pub fn clock(&self) -> GameClock {
        self.hub.clock
    }

    /// The counters.
    pub fn metrics(&self) -> &GameMetrics {
        &self.hub.metrics
    }

    /// Whether shutdown has begun (no new connections or rooms).
    pub fn is_shutting_down(&self) -> bool {
        self.hub.shutting_down.load(Ordering::Acquire)
    }

    /// Registers a new connection of login session `sid`.
    pub fn register(&self, sid: &str) -> Result<ConnRegistration, RoomError> {
        let id = self.hub.next_conn.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(CloseSignal::default());
        self.hub.registry().conns.insert(
            id,
            ConnEntry {
                sid: sid.to_owned(),
                close: Arc::clone(&close),
            },
        );
        self.hub.metrics.connections.fetch_add(1, Ordering::Relaxed);
        super::metrics::inc(&self.hub.metrics.connections_total);
        let registration = ConnRegistration {
            hub: Arc::clone(&self.hub),
            id,
            close,
        };
        // Checked after registering so a revocation in between is not missed.
        if self.hub.revocations.is_revoked(sid) {
            registration.close.raise(close::TOKEN_EXPIRED);
        }
        if self.is_shutting_down() {
            return Err(RoomError::ShuttingDown);
        }
        Ok(registration)
    }

    /// A connection re-authenticated, possibly with a token of another session.
    pub fn set_session(&self, conn: u64, sid: &str) {
        if let Some(entry) = self.hub.registry().conns.get_mut(&conn) {
            sid.clone_into(&mut entry.sid);
        }
        if self.hub.revocations.is_revoked(sid) {
            self.hub.kick_session(sid);
        }
    }

    /// The public rooms, oldest first.
    pub fn list_rooms(&self) -> Vec<RoomSummary> {
        let registry = self.hub.registry();
        let mut rooms: Vec<_> = registry.rooms.values().filter(|r| !r.private).collect();
        rooms.sort_by_key(|r| r.opened);
        rooms.into_iter().map(|r| r.summary.clone()).collect()
    }

    /// The room where `player_id` holds a seat, if any.
    pub fn seat_of(&self, player_id: &str) -> Option<RoomHandle> {
        let registry = self.hub.registry();
        let id = registry.seated.get(player_id)?;
        registry.rooms.get(id).map(|r| RoomHandle {
            id: Arc::clone(id),
            tx: r.tx.clone(),
        })
    }

    /// Opens a room with `player` as host.
    pub async fn create_room(
        &self,
        request: CreateRoom,
        player: PlayerRef,
        link: ConnLink,
    ) -> Result<RoomHandle, RoomError> {
        let round_secs = request.round_secs.unwrap_or(DEFAULT_ROUND_SECS);
        if !(MIN_ROUND_SECS..=MAX_ROUND_SECS).contains(&round_secs) {
            return Err(RoomError::BadRoundSecs);
        }
        if request.seed.is_some() && !self.hub.settings.allow_seeded_rooms {
            return Err(RoomError::SeedNotAllowed);
        }
        let name = match request.name {
            Some(name) => valid_name(&name).ok_or(RoomError::BadName)?,
            None => format!("{}'s room", player.name),
        };
        let handle = self.open_room(name, request.private, false, round_secs, request.seed)?;
        self.join_handle(handle, player, link).await
    }

    /// Joins a room by id or by private join code.
    pub async fn join(
        &self,
        room_id: Option<&str>,
        code: Option<&str>,
        player: PlayerRef,
        link: ConnLink,
    ) -> Result<RoomHandle, RoomError> {
        let handle = {
            let registry = self.hub.registry();
            let id = match (room_id, code) {
                (Some(id), _) => registry
                    .rooms
                    .get_key_value(id)
                    .map(|(id, _)| Arc::clone(id)),
                (None, Some(code)) => registry.codes.get(&normalize_code(code)).cloned(),
                (None, None) => return Err(RoomError::NoTarget),
            }
            .ok_or(RoomError::NoSuchRoom)?;
            let entry = registry.rooms.get(&id).ok_or(RoomError::NoSuchRoom)?;
            RoomHandle {
                id,
                tx: entry.tx.clone(),
            }
        };
        self.join_handle(handle, player, link).await
    }

    /// Seats `player` in a public quick-match room that is still filling, or opens one.
    pub async fn quick_match(
        &self,
        player: PlayerRef,
        link: ConnLink,
    ) -> Result<RoomHandle, RoomError> {
        // A room seen filling may start or fill up before the join arrives; then
        // the next candidate is tried.
        for _ in 0..4 {
            let candidate = {
                let registry = self.hub.registry();
                registry
                    .rooms
                    .iter()
                    .filter(|(_, r)| {
                        r.quick
                            && r.summary.state == RoomPhase::Waiting
                            && (r.summary.players as usize) < MAX_PLAYERS
                    })
                    .min_by_key(|(_, r)| r.opened)
                    .map(|(id, r)| RoomHandle {
                        id: Arc::clone(id),
                        tx: r.tx.clone(),
                    })
            };
            let Some(handle) = candidate else { break };
            match self.join_handle(handle, player.clone(), link.clone()).await {
                Err(RoomError::RoomFull | RoomError::RoomInGame | RoomError::NoSuchRoom) => {}
                other => return other,
            }
        }
        let handle = self.open_room("Quick match".into(), false, true, DEFAULT_ROUND_SECS, None)?;
        self.join_handle(handle, player, link).await
    }

    /// Tells every player the server is going away: rooms bring their rounds up
    /// to date (recording any that finished), then every socket gets a notice and
    /// close 1001. Returns once they are closed (or after a few seconds).
    pub async fn shutdown(&self) {
        self.hub.shutting_down.store(true, Ordering::Release);
        let rooms: Vec<_> = {
            let mut registry = self.hub.registry();
            registry
                .rooms
                .values_mut()
                .map(|r| (r.tx.clone(), r.task.take()))
                .collect()
        };
        for (tx, _) in &rooms {
            let _ = tx.send(RoomCmd::Shutdown).await;
        }
        for (_, task) in rooms {
            if let Some(task) = task
                && tokio::time::timeout(SHUTDOWN_WAIT, task).await.is_err()
            {
                tracing::warn!("a room did not stop in time");
            }
        }
        let deadline = tokio::time::Instant::now() + SHUTDOWN_WAIT;
        loop {
            let changed = self.hub.conns_changed.notified();
            let open: Vec<_> = {
                let registry = self.hub.registry();
                registry
                    .conns
                    .values()
                    .map(|c| Arc::clone(&c.close))
                    .collect()
            };
            if open.is_empty() {
                break;
            }
            for close in open {
                close.raise(close::GOING_AWAY);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                tracing::warn!("some game connections did not close in time");
                break;
            }
        }
    }

    fn open_room(
        &self,
        name: String,
        private: bool,
        quick: bool,
        round_secs: u32,
        seed: Option<u64>,
    ) -> Result<RoomHandle, RoomError> {
        if self.is_shutting_down() {
            return Err(RoomError::ShuttingDown);
        }
        let mut registry = self.hub.registry();
        let id: Arc<str> = loop {
            let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
            if !registry.rooms.contains_key(id.as_str()) {
                break id.into();
            }
        };
        let code = private.then(|| {
            loop {
                let code = random_code();
                if !registry.codes.contains_key(&code) {
                    break code;
                }
            }
        });
        let (tx, rx) = mpsc::channel(ROOM_QUEUE);
        let spec = RoomSpec {
            id: Arc::clone(&id),
            name: name.clone(),
            private,
            code: code.clone(),
            quick,
            round_secs,
            seed,
        };
        let task = tokio::spawn(room::run(Arc::clone(&self.hub), spec, rx));
        registry.opened += 1;
        let opened = registry.opened;
        if let Some(code) = &code {
            registry.codes.insert(code.clone(), Arc::clone(&id));
        }
        registry.rooms.insert(
            Arc::clone(&id),
            RoomEntry {
                tx: tx.clone(),
                summary: RoomSummary {
                    id: id.to_string(),
                    name,
                    players: 0,
                    max_players: MAX_PLAYERS as u32,
                    state: RoomPhase::Waiting,
                    round_secs,
                },
                private,
                quick,
                code,
                opened,
                task: Some(task),
            },
        );
        self.hub.metrics.rooms.fetch_add(1, Ordering::Relaxed);
        Ok(RoomHandle { id, tx })
    }

    async fn join_handle(
        &self,
        handle: RoomHandle,
        player: PlayerRef,
        link: ConnLink,
    ) -> Result<RoomHandle, RoomError> {
        // One seat per player: a seat elsewhere (another connection's) is given up.
        let elsewhere = {
            let registry = self.hub.registry();
            registry
                .seated
                .get(&player.id)
                .filter(|room| room.as_ref() != handle.id.as_ref())
                .and_then(|room| registry.rooms.get(room))
                .map(|r| r.tx.clone())
        };
        if let Some(tx) = elsewhere {
            let _ = tx
                .send(RoomCmd::Leave {
                    player_id: player.id.clone(),
                    conn: None,
                })
                .await;
        }
        let (reply, answer) = oneshot::channel();
        handle
            .tx
            .send(RoomCmd::Join {
                player,
                link,
                reply,
            })
            .await
            .map_err(|_| RoomError::NoSuchRoom)?;
        answer.await.map_err(|_| RoomError::NoSuchRoom)??;
        Ok(handle)
    }
}

impl Hub {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // The registry holds no invariant a panic could break halfway.
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A room's new summary for the list.
    pub(super) fn publish(&self, id: &str, summary: RoomSummary) {
        if let Some(entry) = self.registry().rooms.get_mut(id) {
            entry.summary = summary;
        }
    }

    /// Records that `player_id` holds a seat in `room`.
    pub(super) fn seat(&self, player_id: &str, room: &Arc<str>) {
        self.registry()
            .seated
            .insert(player_id.to_owned(), Arc::clone(room));
    }

    /// Records that `player_id` gave up their seat in `room`.
    pub(super) fn unseat(&self, player_id: &str, room: &str) {
        let mut registry = self.registry();
        if registry.seated.get(player_id).is_some_and(|r| &**r == room) {
            registry.seated.remove(player_id);
        }
    }

    /// Removes a room that has closed itself.
    pub(super) fn close_room(&self, id: &str) {
        let mut registry = self.registry();
        if let Some(entry) = registry.rooms.remove(id) {
            if let Some(code) = entry.code {
                registry.codes.remove(&code);
            }
            self.metrics.rooms.fetch_sub(1, Ordering::Relaxed);
        }
        registry.seated.retain(|_, room| &**room != id);
    }

    fn kick_session(&self, sid: &str) {
        let registry = self.registry();
        for conn in registry.conns.values().filter(|c| c.sid == sid) {
            conn.close.raise(close::TOKEN_EXPIRED);
        }
    }

    fn kick_all_revoked(&self) {
        let registry = self.registry();
        for conn in registry.conns.values() {
            if self.revocations.is_revoked(&conn.sid) {
                conn.close.raise(close::TOKEN_EXPIRED);
            }
        }
    }
}

async fn watch_revocations(hub: Weak<Hub>, mut revoked: broadcast::Receiver<String>) {
    loop {
        let next = revoked.recv().await;
        let Some(hub) = hub.upgrade() else { return };
        match next {
            Ok(sid) => hub.kick_session(&sid),
            // Missed some: check every connection against the list instead.
            Err(broadcast::error::RecvError::Lagged(_)) => hub.kick_all_revoked(),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

fn valid_name(name: &str) -> Option<String> {
    let name = name.trim();
    let chars = name.chars().count();
    ((1..=MAX_NAME_CHARS).contains(&chars) && !name.chars().any(char::is_control))
        .then(|| name.to_owned())
}

fn random_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// Join codes are matched case-insensitively, ignoring spaces and dashes.
fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_are_checked_and_normalized() {
        assert_eq!(valid_name("  Fun room "), Some("Fun room".into()));
        assert_eq!(valid_name(""), None);
        assert_eq!(valid_name("a\nb"), None);
        assert_eq!(valid_name(&"x".repeat(33)), None);
        let code = random_code();
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_eq!(normalize_code("bcd-fg h"), "BCDFGH");
    }
}
