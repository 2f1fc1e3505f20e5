//! The lobby: which rooms exist, who is seated where, every open connection (to
//! close them on revocation and shutdown), and quick match. Rooms run as their own
//! tasks; the hub only finds them and hands them commands.
//!
//! One seat per player, across all of their sockets. Every change to a player's
//! seat (create, join, quick match, leave, a connection dropping or coming back)
//! runs under that player's *turn*, an async lock, so sockets of one player racing
//! each other are put in order: each one moves the seat (the old room is left, the
//! old socket is told `seat_moved`), and no room is left holding a seat the hub
//! does not know about.

use super::game_metrics::GameMetrics;
use super::handles::{ConnLink, RoomCmd, RoomHandle};
use super::outbox::{CloseSignal, encode};
use super::room::{self, RoomSpec};
use super::room_env::{Lobby, Services};
use super::room_error::RoomError;
use super::settings::GameSettings;
use crate::auth::revocation::Revocations;
use crate::clock::GameClock;
use crate::rate_limit::{KeyedLimiter, WINDOW_MS};
use crate::storage::StatsStore;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::{Notify, OwnedMutexGuard, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use whack_shared::protocol::{
    CloseCode, DEFAULT_ROUND_SECS, MAX_PLAYERS, MAX_ROUND_SECS, MIN_ROUND_SECS, PlayerRef,
    RoomPhase, RoomSummary, ServerMsg,
};
use whack_shared::user_code;

/// Commands queued per room.
const ROOM_QUEUE: usize = 1024;
/// How long shutdown waits for rooms to record results, then for sockets to close.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);
/// The window of the per-second connect limits, in ms.
const CONNECT_WINDOW_MS: u64 = 1000;
/// How often the limiters forget what no longer counts.
const PURGE_EVERY: Duration = Duration::from_secs(60);
/// Quick-match rooms tried before opening a new one (each may fill or start
/// between being seen and being joined).
const QUICK_TRIES: usize = 4;
/// Least time between two unasked `rooms` pushes to the lobby: changes in
/// between (a round's phases, players coming and going) go out together.
const ROOMS_PUSH_EVERY: Duration = Duration::from_millis(250);

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

struct RoomEntry {
    tx: mpsc::Sender<RoomCmd>,
    summary: RoomSummary,
    private: bool,
    quick: bool,
    /// The canonical join code (8 letters).
    code: String,
    opened: u64,
    task: Option<JoinHandle<()>>,
}

struct ConnEntry {
    sid: String,
    close: Arc<CloseSignal>,
    /// Set once the connection asked for `list_rooms`: it is then sent the list
    /// whenever it changes, while it holds no seat.
    watcher: Option<ConnLink>,
}

/// Where a player's one seat is, and which connection plays it.
#[derive(Clone)]
struct Seat {
    room: RoomHandle,
    /// `None` while the player is dropped (the reconnect grace).
    link: Option<ConnLink>,
}

/// What the hub knows of one player; kept while they have a socket, a seat or
/// a seat change under way.
#[derive(Default)]
struct PlayerEntry {
    /// Held across a seat change (see the module docs).
    turn: Arc<tokio::sync::Mutex<()>>,
    /// Registered `/play` connections.
    sockets: u32,
    seat: Option<Seat>,
}

impl PlayerEntry {
    fn idle(&self) -> bool {
        self.sockets == 0 && self.seat.is_none() && Arc::strong_count(&self.turn) == 1
    }
}

#[derive(Default)]
struct Registry {
    rooms: HashMap<Arc<str>, RoomEntry>,
    /// Canonical join code → room id; every room has one.
    codes: HashMap<String, Arc<str>>,
    players: HashMap<String, PlayerEntry>,
    conns: HashMap<u64, ConnEntry>,
    opened: u64,
}

impl Registry {
    fn forget_if_idle(&mut self, player_id: &str) {
        if self.players.get(player_id).is_some_and(PlayerEntry::idle) {
            self.players.remove(player_id);
        }
    }

    fn seat(&self, player_id: &str) -> Option<&Seat> {
        self.players.get(player_id)?.seat.as_ref()
    }

    /// The public rooms, oldest first.
    fn public_rooms(&self) -> Vec<RoomSummary> {
        let mut rooms: Vec<_> = self.rooms.values().filter(|r| !r.private).collect();
        rooms.sort_by_key(|r| r.opened);
        rooms.into_iter().map(|r| r.summary.clone()).collect()
    }
}

/// The per-player and per-address quotas of the game side.
struct Limits {
    connects_by_player: KeyedLimiter<String>,
    connects_by_addr: KeyedLimiter<IpAddr>,
    guesses_by_player: KeyedLimiter<String>,
    guesses_by_addr: KeyedLimiter<IpAddr>,
}

impl Limits {
    fn new(settings: &GameSettings) -> Self {
        let n = |v: u32| usize::try_from(v).unwrap_or(usize::MAX);
        Self {
            connects_by_player: KeyedLimiter::new(
                n(settings.player_connects_per_sec),
                CONNECT_WINDOW_MS,
            ),
            connects_by_addr: KeyedLimiter::new(
                n(settings.address_connects_per_sec),
                CONNECT_WINDOW_MS,
            ),
            guesses_by_player: KeyedLimiter::new(n(settings.join_code_guesses_per_min), WINDOW_MS),
            guesses_by_addr: KeyedLimiter::new(n(settings.join_code_guesses_per_min), WINDOW_MS),
        }
    }

    fn purge(&self, now_ms: u64) {
        self.connects_by_player.purge(now_ms);
        self.connects_by_addr.purge(now_ms);
        self.guesses_by_player.purge(now_ms);
        self.guesses_by_addr.purge(now_ms);
    }
}

/// The shared core; rooms hold it as their [`Lobby`].
struct Hub {
    services: Arc<Services>,
    revocations: Arc<Revocations>,
    registry: Mutex<Registry>,
    limits: Limits,
    next_conn: AtomicU64,
    shutting_down: AtomicBool,
    conns_changed: Notify,
    /// Bumped when the public list changes; the lobby pusher waits on it.
    rooms_changed: watch::Sender<()>,
}

/// The game side of the server: cheap to clone.
#[derive(Clone)]
pub struct GameHub {
    hub: Arc<Hub>,
}

/// A registered connection; unregisters itself when dropped.
pub struct ConnRegistration {
    hub: Arc<Hub>,
    player_id: String,
    /// The connection's id.
    pub id: u64,
    /// Raise to close the connection.
    pub close: Arc<CloseSignal>,
}

impl Drop for ConnRegistration {
    fn drop(&mut self) {
        let mut registry = self.hub.registry();
        registry.conns.remove(&self.id);
        if let Some(entry) = registry.players.get_mut(&self.player_id) {
            entry.sockets = entry.sockets.saturating_sub(1);
        }
        registry.forget_if_idle(&self.player_id);
        drop(registry);
        self.hub.services.metrics.connections.dec();
        self.hub.conns_changed.notify_waiters();
    }
}

/// A player's turn to change their seat; other seat changes of that player wait.
struct Turn {
    guard: Option<OwnedMutexGuard<()>>,
    hub: Arc<Hub>,
    player_id: String,
}

impl Drop for Turn {
    fn drop(&mut self) {
        // Released first, so the entry can be forgotten if nothing else holds it.
        self.guard.take();
        self.hub.registry().forget_if_idle(&self.player_id);
    }
}

/// Where a seat change should take the player.
enum Target {
    /// A room found by id or code.
    Room(RoomHandle),
    /// A new room with this spec.
    New(NewRoom),
    /// A quick-match room that is filling, or a new one.
    Quick,
}

/// A room about to be opened.
struct NewRoom {
    name: String,
    private: bool,
    quick: bool,
    round_secs: u32,
    seed: Option<u64>,
}

impl GameHub {
    /// The hub, watching `revocations` to close the sockets of revoked sessions.
    /// Must run inside a tokio runtime.
    pub fn new(
        settings: GameSettings,
        stats: Arc<dyn StatsStore>,
        revocations: Arc<Revocations>,
    ) -> Self {
        let hub = Arc::new(Hub {
            limits: Limits::new(&settings),
            services: Arc::new(Services {
                settings,
                clock: GameClock::start(),
                stats,
                metrics: GameMetrics::default(),
            }),
            revocations: Arc::clone(&revocations),
            registry: Mutex::new(Registry::default()),
            next_conn: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
            conns_changed: Notify::new(),
            rooms_changed: watch::Sender::new(()),
        });
        tokio::spawn(push_rooms(
            Arc::downgrade(&hub),
            hub.rooms_changed.subscribe(),
        ));
        tokio::spawn(watch_revocations(
            Arc::downgrade(&hub),
            revocations.subscribe(),
        ));
        tokio::spawn(purge_limits(Arc::downgrade(&hub)));
        Self { hub }
    }

    /// The settings.
    pub fn settings(&self) -> &GameSettings {
        &self.hub.services.settings
    }

    /// The clock every room uses.
    pub fn clock(&self) -> GameClock {
        self.hub.services.clock
    }

    /// The counters.
    pub fn metrics(&self) -> &GameMetrics {
        &self.hub.services.metrics
    }

    /// Where finished rounds are recorded: a player's stats and the leaderboard.
    pub fn stats(&self) -> &dyn StatsStore {
        self.hub.services.stats.as_ref()
    }

    /// Whether shutdown has begun (no new connections or rooms).
    pub fn is_shutting_down(&self) -> bool {
        self.hub.shutting_down.load(Ordering::Acquire)
    }

    /// Counts a `/play` upgrade by `player_id` from `addr` against the
    /// per-second connect limits; `Err` carries seconds to wait. Every attempt
    /// that passes one limit counts against it, even if the other refuses.
    pub fn admit_connect(&self, player_id: &str, addr: IpAddr) -> Result<(), u64> {
        let now = self.hub.now_ms();
        let limits = &self.hub.limits;
        let admitted = limits
            .connects_by_addr
            .acquire_addr(addr, now)
            .and_then(|()| limits.connects_by_player.acquire(player_id.to_owned(), now));
        if admitted.is_err() {
            self.hub.services.metrics.refused_connect_rate.inc();
        }
        admitted
    }

    /// Registers a new connection of `player_id` in login session `sid`;
    /// refused when the player already has as many sockets as allowed.
    pub fn register(&self, sid: &str, player_id: &str) -> Result<ConnRegistration, RoomError> {
        let max = self.hub.services.settings.sockets_per_player;
        let id = self.hub.next_conn.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(CloseSignal::default());
        {
            let mut registry = self.hub.registry();
            let entry = registry.players.entry(player_id.to_owned()).or_default();
            if entry.sockets >= max {
                registry.forget_if_idle(player_id);
                drop(registry);
                self.hub.services.metrics.refused_sockets.inc();
                return Err(RoomError::TooManyConnections { max });
            }
            entry.sockets += 1;
            registry.conns.insert(
                id,
                ConnEntry {
                    sid: sid.to_owned(),
                    close: Arc::clone(&close),
                    watcher: None,
                },
            );
        }
        self.hub.services.metrics.connections.inc();
        self.hub.services.metrics.connections_total.inc();
        let registration = ConnRegistration {
            hub: Arc::clone(&self.hub),
            player_id: player_id.to_owned(),
            id,
            close,
        };
        // Checked after registering so a revocation in between is not missed.
        if self.hub.revocations.is_revoked(sid) {
            registration.close.raise(CloseCode::TokenExpired);
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
        self.hub.registry().public_rooms()
    }

    /// `link` asked for the list: from now on it is sent the list again each
    /// time it changes, whenever it is not in a room (see [`ROOMS_PUSH_EVERY`]).
    pub fn watch_rooms(&self, link: &ConnLink) {
        if let Some(entry) = self.hub.registry().conns.get_mut(&link.id) {
            entry.watcher.get_or_insert_with(|| link.clone());
        }
    }

    /// Rooms open now, public and private.
    pub fn room_count(&self) -> usize {
        self.hub.registry().rooms.len()
    }

    /// The room where `player_id` holds a seat, if any.
    pub fn seat_of(&self, player_id: &str) -> Option<RoomHandle> {
        self.hub.registry().seat(player_id).map(|s| s.room.clone())
    }

    /// Opens a room with `player` as host (their seat elsewhere is given up).
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
        if request.seed.is_some() && !self.hub.services.settings.allow_seeded_rooms {
            return Err(RoomError::SeedNotAllowed);
        }
        let name = match request.name {
            Some(name) => valid_name(&name).ok_or(RoomError::BadName)?,
            None => format!("{}'s room", player.name),
        };
        let spec = NewRoom {
            name,
            private: request.private,
            quick: false,
            round_secs,
            seed: request.seed,
        };
        self.take_seat(player, link, Target::New(spec)).await
    }

    /// Joins a room by id (public rooms, or the player's own) or by join code.
    /// Wrong codes count against the player and their address; past the limit
    /// every code is refused, right or wrong, until the window allows again.
    pub async fn join(
        &self,
        room_id: Option<&str>,
        code: Option<&str>,
        player: PlayerRef,
        link: ConnLink,
    ) -> Result<RoomHandle, RoomError> {
        let handle = self.find(room_id, code, &player.id, link.addr)?;
        self.take_seat(player, link, Target::Room(handle)).await
    }

    /// Seats `player` in a public quick-match room that is still filling, or opens one.
    pub async fn quick_match(
        &self,
        player: PlayerRef,
        link: ConnLink,
    ) -> Result<RoomHandle, RoomError> {
        self.take_seat(player, link, Target::Quick).await
    }

    /// A connection of a player who holds a seat takes it back (after a drop,
    /// or from another connection of theirs). `None` when there is no seat.
    pub async fn resume(&self, player: PlayerRef, link: ConnLink) -> Option<RoomHandle> {
        let turn = self.turn(&player.id).await;
        let room = self.hub.registry().seat(&player.id)?.room.clone();
        let result = self.seat_in(&room, &player, &link).await;
        drop(turn);
        result.ok().map(|()| room)
    }

    /// `leave_room` from `link`: gives up the seat if this connection plays it.
    pub async fn leave(&self, player_id: &str, link: &ConnLink) -> Result<(), RoomError> {
        let turn = self.turn(player_id).await;
        let room = {
            let mut registry = self.hub.registry();
            let entry = registry
                .players
                .get_mut(player_id)
                .filter(|p| plays_here(p.seat.as_ref(), link))
                .ok_or(RoomError::NotInRoom)?;
            entry.seat.take().map(|s| s.room)
        };
        link.seat.set(None);
        if let Some(room) = room {
            leave_room(&room, player_id, Some(link.id)).await;
        }
        drop(turn);
        Ok(())
    }

    /// `link`'s socket is gone: the room keeps the seat for the reconnect grace
    /// if this connection played it.
    pub async fn dropped(&self, player_id: &str, link: &ConnLink) {
        let turn = self.turn(player_id).await;
        let room = {
            let mut registry = self.hub.registry();
            registry
                .players
                .get_mut(player_id)
                .and_then(|p| p.seat.as_mut())
                .filter(|s| plays_here(Some(s), link))
                .map(|s| {
                    s.link = None;
                    s.room.clone()
                })
        };
        link.seat.set(None);
        if let Some(room) = room {
            let command = RoomCmd::Dropped {
                player_id: player_id.to_owned(),
                conn: link.id,
            };
            let _ = room.tx.send(command).await;
        }
        drop(turn);
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
                close.raise(CloseCode::GoingAway);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                tracing::warn!("some game connections did not close in time");
                break;
            }
        }
    }

    /// Finds the room `join_room` names. A code is checked against the guess
    /// limits, looked up and (when wrong) counted in one step under the registry
    /// lock, so concurrent guesses cannot slip past the limit together.
    fn find(
        &self,
        room_id: Option<&str>,
        code: Option<&str>,
        player_id: &str,
        addr: IpAddr,
    ) -> Result<RoomHandle, RoomError> {
        let registry = self.hub.registry();
        let handle = |id: &Arc<str>, entry: &RoomEntry| RoomHandle {
            id: Arc::clone(id),
            tx: entry.tx.clone(),
        };
        match (room_id, code) {
            (Some(id), _) => {
                let (id, entry) = registry
                    .rooms
                    .get_key_value(id)
                    .ok_or(RoomError::NoSuchRoom)?;
                // A private room's id is no way in (ids are not secrets), except
                // back to one's own seat.
                let own = registry.seat(player_id).is_some_and(|s| s.room.id == *id);
                if entry.private && !own {
                    return Err(RoomError::NoSuchRoom);
                }
                Ok(handle(id, entry))
            }
            (None, Some(code)) => {
                let limits = &self.hub.limits;
                let now = self.hub.now_ms();
                let player_key = player_id.to_owned();
                let allowed = limits
                    .guesses_by_player
                    .check(&player_key, now)
                    .and_then(|()| limits.guesses_by_addr.check_addr(addr, now));
                if let Err(retry_after) = allowed {
                    self.hub.services.metrics.guesses_refused.inc();
                    return Err(RoomError::TooManyGuesses { retry_after });
                }
                let found = user_code::normalize(code)
                    .and_then(|code| registry.codes.get(&code))
                    .and_then(|id| registry.rooms.get_key_value(id));
                match found {
                    Some((id, entry)) => Ok(handle(id, entry)),
                    None => {
                        limits.guesses_by_player.record(player_key, now);
                        limits.guesses_by_addr.record_addr(addr, now);
                        self.hub.services.metrics.guesses_wrong.inc();
                        Err(RoomError::NoSuchRoom)
                    }
                }
            }
            (None, None) => Err(RoomError::NoTarget),
        }
    }

    /// Waits for `player_id`'s turn to change their seat.
    async fn turn(&self, player_id: &str) -> Turn {
        let lock = {
            let mut registry = self.hub.registry();
            let entry = registry.players.entry(player_id.to_owned()).or_default();
            Arc::clone(&entry.turn)
        };
        Turn {
            guard: Some(lock.lock_owned().await),
            hub: Arc::clone(&self.hub),
            player_id: player_id.to_owned(),
        }
    }

    /// Moves `player`'s one seat to `target`, played from `link`.
    async fn take_seat(
        &self,
        player: PlayerRef,
        link: ConnLink,
        target: Target,
    ) -> Result<RoomHandle, RoomError> {
        let turn = self.turn(&player.id).await;
        let result = match target {
            Target::Room(room) => self.seat_in(&room, &player, &link).await.map(|()| room),
            Target::New(spec) => {
                let room = self.open_room(spec)?;
                self.seat_in(&room, &player, &link).await.map(|()| room)
            }
            Target::Quick => self.quick_seat(&player, &link).await,
        };
        drop(turn);
        result
    }

    async fn quick_seat(
        &self,
        player: &PlayerRef,
        link: &ConnLink,
    ) -> Result<RoomHandle, RoomError> {
        for _ in 0..QUICK_TRIES {
            let Some(room) = self.quick_candidate() else {
                break;
            };
            match self.seat_in(&room, player, link).await {
                Ok(()) => return Ok(room),
                Err(RoomError::RoomFull | RoomError::RoomInGame | RoomError::NoSuchRoom) => {}
                Err(e) => return Err(e),
            }
        }
        let room = self.open_room(NewRoom {
            name: "Quick match".into(),
            private: false,
            quick: true,
            round_secs: DEFAULT_ROUND_SECS,
            seed: None,
        })?;
        self.seat_in(&room, player, link).await.map(|()| room)
    }

    fn quick_candidate(&self) -> Option<RoomHandle> {
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
    }

    /// Seats `player` in `room` from `link`, then gives up whatever seat they
    /// held before. The caller holds the player's turn. Joining first means a
    /// refused join (full, in a round) leaves the old seat as it was.
    async fn seat_in(
        &self,
        room: &RoomHandle,
        player: &PlayerRef,
        link: &ConnLink,
    ) -> Result<(), RoomError> {
        let (reply, answer) = oneshot::channel();
        room.tx
            .send(RoomCmd::Join {
                player: player.clone(),
                link: link.clone(),
                reply,
            })
            .await
            .map_err(|_| RoomError::NoSuchRoom)?;
        answer.await.map_err(|_| RoomError::NoSuchRoom)??;
        let Some(before) = self.hub.move_seat(&player.id, room, link) else {
            return Ok(());
        };
        if before.room.id != room.id {
            leave_room(&before.room, &player.id, None).await;
        }
        if let Some(old) = before.link.filter(|old| old.id != link.id) {
            old.seat.set(None);
            old.send_msg(&RoomError::SeatMoved.to_msg());
        }
        Ok(())
    }

    fn open_room(&self, spec: NewRoom) -> Result<RoomHandle, RoomError> {
        if self.is_shutting_down() {
            return Err(RoomError::ShuttingDown);
        }
        let max = self.hub.services.settings.max_rooms;
        let mut registry = self.hub.registry();
        if registry.rooms.len() >= usize::try_from(max).unwrap_or(usize::MAX) {
            self.hub.services.metrics.refused_rooms.inc();
            return Err(RoomError::TooManyRooms { max });
        }
        let id: Arc<str> = loop {
            let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
            if !registry.rooms.contains_key(id.as_str()) {
                break id.into();
            }
        };
        // Drawn like login codes: one alphabet, uniform letters.
        let code = loop {
            let code = user_code::draw(rand::random);
            if !registry.codes.contains_key(&code) {
                break code;
            }
        };
        let (tx, rx) = mpsc::channel(ROOM_QUEUE);
        let room_spec = RoomSpec {
            id: Arc::clone(&id),
            name: spec.name.clone(),
            private: spec.private,
            code: user_code::display(&code),
            quick: spec.quick,
            round_secs: spec.round_secs,
            seed: spec.seed,
        };
        let lobby: Arc<dyn Lobby> = Arc::clone(&self.hub) as Arc<dyn Lobby>;
        let task = tokio::spawn(room::run(
            Arc::clone(&self.hub.services),
            lobby,
            room_spec,
            rx,
        ));
        registry.opened += 1;
        let opened = registry.opened;
        registry.codes.insert(code.clone(), Arc::clone(&id));
        registry.rooms.insert(
            Arc::clone(&id),
            RoomEntry {
                tx: tx.clone(),
                summary: RoomSummary {
                    id: id.to_string(),
                    name: spec.name,
                    players: 0,
                    max_players: MAX_PLAYERS as u32,
                    state: RoomPhase::Waiting,
                    round_secs: spec.round_secs,
                    code: (!spec.private).then(|| user_code::display(&code)),
                },
                private: spec.private,
                quick: spec.quick,
                code,
                opened,
                task: Some(task),
            },
        );
        self.hub.services.metrics.rooms.inc();
        Ok(RoomHandle { id, tx })
    }
}

/// Whether `link` is the connection playing `seat`.
fn plays_here(seat: Option<&Seat>, link: &ConnLink) -> bool {
    seat.and_then(|s| s.link.as_ref())
        .is_some_and(|l| l.id == link.id)
}

/// Gives up `player_id`'s seat in `room`; returns once the room has done it
/// (or is gone).
async fn leave_room(room: &RoomHandle, player_id: &str, conn: Option<u64>) {
    let (done, finished) = oneshot::channel();
    let command = RoomCmd::Leave {
        player_id: player_id.to_owned(),
        conn,
        done: Some(done),
    };
    if room.tx.send(command).await.is_ok() {
        let _ = finished.await;
    }
}

impl Hub {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // The registry holds no invariant a panic could break halfway.
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The game clock in whole ms, for the limiters.
    fn now_ms(&self) -> u64 {
        self.services.clock.now_ms()
    }

    /// Sends the public list to every connection that watches it from the lobby.
    fn push_rooms(&self) {
        if self.shutting_down.load(Ordering::Acquire) {
            return;
        }
        let (rooms, lobby) = {
            let registry = self.registry();
            let lobby: Vec<ConnLink> = registry
                .conns
                .values()
                .filter_map(|c| c.watcher.as_ref())
                .filter(|link| link.seat.with(|room| room.is_none()))
                .cloned()
                .collect();
            if lobby.is_empty() {
                return;
            }
            (registry.public_rooms(), lobby)
        };
        let Some(frame) = encode(&ServerMsg::Rooms { rooms }) else {
            return;
        };
        for link in lobby {
            link.send(&frame);
        }
    }

    /// Records that `player_id`'s seat is now in `room`, played from `link`;
    /// returns the seat they held before. Nothing changes if the room has
    /// closed meanwhile (only shutdown closes a room with seats).
    fn move_seat(&self, player_id: &str, room: &RoomHandle, link: &ConnLink) -> Option<Seat> {
        let mut registry = self.registry();
        if !registry.rooms.contains_key(&room.id) {
            return None;
        }
        let entry = registry.players.entry(player_id.to_owned()).or_default();
        link.seat.set(Some(room.clone()));
        entry.seat.replace(Seat {
            room: room.clone(),
            link: Some(link.clone()),
        })
    }

    fn kick_session(&self, sid: &str) {
        let registry = self.registry();
        for conn in registry.conns.values().filter(|c| c.sid == sid) {
            conn.close.raise(CloseCode::TokenExpired);
        }
    }

    fn kick_all_revoked(&self) {
        let registry = self.registry();
        for conn in registry.conns.values() {
            if self.revocations.is_revoked(&conn.sid) {
                conn.close.raise(CloseCode::TokenExpired);
            }
        }
    }
}

impl Lobby for Hub {
    /// A room's new summary for the list.
    fn publish(&self, id: &str, summary: RoomSummary) {
        if let Some(entry) = self.registry().rooms.get_mut(id)
            && entry.summary != summary
        {
            entry.summary = summary;
            if !entry.private {
                self.rooms_changed.send_replace(());
            }
        }
    }

    /// The room gave up `player_id`'s seat (grace over, or a leave).
    fn unseat(&self, player_id: &str, room: &str) {
        let mut registry = self.registry();
        if let Some(entry) = registry.players.get_mut(player_id)
            && entry.seat.as_ref().is_some_and(|s| &*s.room.id == room)
            && let Some(seat) = entry.seat.take()
            && let Some(link) = seat.link
        {
            link.seat.clear_if(room);
        }
        registry.forget_if_idle(player_id);
    }

    /// Removes a room that has closed itself.
    fn close_room(&self, id: &str) {
        let mut registry = self.registry();
        if let Some(entry) = registry.rooms.remove(id) {
            registry.codes.remove(&entry.code);
            self.services.metrics.rooms.dec();
            if !entry.private {
                self.rooms_changed.send_replace(());
            }
        }
        let mut gone = Vec::new();
        for (player_id, entry) in &mut registry.players {
            if entry.seat.as_ref().is_some_and(|s| &*s.room.id == id)
                && let Some(seat) = entry.seat.take()
            {
                if let Some(link) = seat.link {
                    link.seat.clear_if(id);
                }
                gone.push(player_id.clone());
            }
        }
        for player_id in gone {
            registry.forget_if_idle(&player_id);
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

/// Pushes the public list to the lobby when it changes, at most once per
/// [`ROOMS_PUSH_EVERY`]; ends with the hub (its sender goes with it).
async fn push_rooms(hub: Weak<Hub>, mut changed: watch::Receiver<()>) {
    while changed.changed().await.is_ok() {
        let Some(strong) = hub.upgrade() else { return };
        strong.push_rooms();
        drop(strong);
        tokio::time::sleep(ROOMS_PUSH_EVERY).await;
    }
}

/// Forgets old connects and guesses now and then, so the limiters stay small.
async fn purge_limits(hub: Weak<Hub>) {
    let mut every = tokio::time::interval(PURGE_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        hub.limits.purge(hub.now_ms());
    }
}

fn valid_name(name: &str) -> Option<String> {
    let name = name.trim();
    let chars = name.chars().count();
    ((1..=whack_shared::protocol::MAX_ROOM_NAME_CHARS).contains(&chars)
        && !name.chars().any(char::is_control))
    .then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(valid_name("  Fun room "), Some("Fun room".into()));
        assert_eq!(valid_name(""), None);
        assert_eq!(valid_name("a\nb"), None);
        assert_eq!(valid_name(&"x".repeat(33)), None);
    }
}
