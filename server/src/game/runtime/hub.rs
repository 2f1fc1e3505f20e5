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

use super::cluster::{Cluster, Redirect};
use super::game_metrics::GameMetrics;
use super::handles::{ConnLink, RoomCmd, RoomHandle};
use super::outbox::{CloseSignal, encode};
use super::room::{self, RoomSpec};
use super::room_env::{Lobby, Services};
use super::room_error::RoomError;
use super::settings::GameSettings;
use crate::auth::revocation::Revocations;
use crate::clock::GameClock;
use crate::rate_limit::{Quota, Taken, WINDOW_MS};
use crate::storage::StatsStore;
use crate::storage::room_directory::{HeldRoom, ListedRoom};
use crate::storage::shared_counts::SharedCounts;
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

mod following;

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
    /// When it opened (Unix ms), to list it among other nodes' rooms.
    opened_ms: u64,
    /// The fencing number of its directory lease (0: not listed yet, or one node alone).
    fence: u64,
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
    /// The generation the shared directory gave this seat (0: not recorded
    /// there, or one node alone).
    generation: u64,
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

    /// The public rooms, oldest first, with when each opened (Unix ms).
    fn public_rooms(&self) -> Vec<(u64, RoomSummary)> {
        let mut rooms: Vec<_> = self.rooms.values().filter(|r| !r.private).collect();
        rooms.sort_by_key(|r| r.opened);
        rooms
            .into_iter()
            .map(|r| (r.opened_ms, r.summary.clone()))
            .collect()
    }
}

/// The per-player and per-address quotas of the game side.
struct Limits {
    connects_by_player: Quota,
    connects_by_addr: Quota,
    guesses_by_player: Quota,
    guesses_by_addr: Quota,
}

impl Limits {
    /// The quotas of `settings`, counted in `shared` when nodes share a store.
    fn new(settings: &GameSettings, shared: Option<&Arc<dyn SharedCounts>>) -> Self {
        let quota = |name, v: u32, window_ms| {
            let quota = Quota::new(name, usize::try_from(v).unwrap_or(usize::MAX), window_ms);
            match shared {
                Some(shared) => quota.shared(Arc::clone(shared)),
                None => quota,
            }
        };
        let guesses = settings.join_code_guesses_per_min;
        Self {
            connects_by_player: quota(
                "player_connects",
                settings.player_connects_per_sec,
                CONNECT_WINDOW_MS,
            ),
            connects_by_addr: quota(
                "address_connects",
                settings.address_connects_per_sec,
                CONNECT_WINDOW_MS,
            ),
            guesses_by_player: quota("player_join_guesses", guesses, WINDOW_MS),
            guesses_by_addr: quota("address_join_guesses", guesses, WINDOW_MS),
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
    /// The other nodes, when several share a store.
    cluster: Option<Arc<Cluster>>,
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

/// Where a seat request took the player.
#[derive(Debug)]
pub enum Entered {
    /// Seated in a room of this node.
    Here(RoomHandle),
    /// The room is played on another node: the player is sent there.
    Elsewhere(Redirect),
}

/// A join code counted against the player's and the address's guesses.
type Guess = (Taken, Taken);

/// A room `join_room` named, wherever it is played.
enum Found {
    Here(RoomHandle),
    Elsewhere(ListedRoom),
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
    /// The hub, watching `revocations` to close the sockets of revoked sessions;
    /// with `cluster`, one node of several sharing a store. Must run inside a
    /// tokio runtime.
    pub fn new(
        settings: GameSettings,
        stats: Arc<dyn StatsStore>,
        revocations: Arc<Revocations>,
        cluster: Option<Cluster>,
    ) -> Self {
        let hub = Arc::new(Hub {
            limits: Limits::new(&settings, cluster.as_ref().map(Cluster::counts)),
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
            cluster: cluster.map(Arc::new),
        });
        if hub.cluster.is_some() {
            tokio::spawn(following::follow(Arc::downgrade(&hub)));
        }
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
    pub async fn admit_connect(&self, player_id: &str, addr: IpAddr) -> Result<(), u64> {
        let now = self.hub.now_ms();
        let limits = &self.hub.limits;
        let admitted = match limits.connects_by_addr.acquire_addr(addr, now).await {
            Ok(()) => limits.connects_by_player.acquire(player_id, now).await,
            refused => refused,
        };
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

    /// The public rooms of every node, oldest first.
    pub fn list_rooms(&self) -> Vec<RoomSummary> {
        self.hub.list_rooms()
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
    ) -> Result<Entered, RoomError> {
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
    /// A room another node plays sends the player there.
    pub async fn join(
        &self,
        room_id: Option<&str>,
        code: Option<&str>,
        player: PlayerRef,
        link: ConnLink,
    ) -> Result<Entered, RoomError> {
        match self.find(room_id, code, &player.id, link.addr).await? {
            Found::Here(room) => self.take_seat(player, link, Target::Room(room)).await,
            Found::Elsewhere(room) => self.send_to(&player.id, &room).await,
        }
    }

    /// `join_room` with the seat ticket of a `redirect` to this node: into
    /// `room_id`, private or not. A quick-match room that filled or started
    /// on the player's way here gives way to quick match.
    pub async fn join_ticketed(
        &self,
        room_id: &str,
        ticket: &str,
        player: PlayerRef,
        link: ConnLink,
    ) -> Result<Entered, RoomError> {
        let cluster = self.hub.cluster.as_ref().ok_or(RoomError::BadTicket)?;
        let redeemed = cluster
            .redeem(&player.id, ticket)
            .await
            .map_err(unavailable)?;
        if redeemed.as_deref() != Some(room_id) {
            return Err(RoomError::BadTicket);
        }
        let (room, quick) = {
            let registry = self.hub.registry();
            let (id, entry) = registry
                .rooms
                .get_key_value(room_id)
                .ok_or(RoomError::NoSuchRoom)?;
            (entry.handle(id), entry.quick)
        };
        match self
            .take_seat(player.clone(), link.clone(), Target::Room(room))
            .await
        {
            Err(RoomError::RoomFull | RoomError::RoomInGame) if quick => {
                self.quick_match(player, link).await
            }
            other => other,
        }
    }

    /// Seats `player` in the fullest public quick-match room that is still
    /// filling, on any node, or opens one here.
    pub async fn quick_match(
        &self,
        player: PlayerRef,
        link: ConnLink,
    ) -> Result<Entered, RoomError> {
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
        let (rooms, leases): (Vec<_>, Vec<_>) = {
            let mut registry = self.hub.registry();
            registry
                .rooms
                .iter_mut()
                .map(|(id, r)| ((r.tx.clone(), r.task.take()), (id.to_string(), r.fence)))
                .unzip()
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
        // Other nodes stop sending players here now, not when the leases end.
        if let Some(cluster) = &self.hub.cluster {
            let release = async {
                for (id, fence) in leases.iter().filter(|(_, fence)| *fence != 0) {
                    let _ = cluster.directory().release_room(id, *fence).await;
                }
            };
            if tokio::time::timeout(SHUTDOWN_WAIT, release).await.is_err() {
                tracing::warn!("could not unlist every room; their leases will run out");
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

    /// Finds the room `join_room` names, on this node or (sharing a store)
    /// another. A code counts against the guess limits before it is looked up
    /// and is given back once it proves right, so concurrent guesses cannot
    /// slip past the limit together, on one node or many.
    async fn find(
        &self,
        room_id: Option<&str>,
        code: Option<&str>,
        player_id: &str,
        addr: IpAddr,
    ) -> Result<Found, RoomError> {
        let guess = match (room_id, code) {
            (None, Some(_)) => Some(self.take_guess(player_id, addr).await?),
            _ => None,
        };
        let found = match self.find_here(room_id, code, player_id)? {
            Some(room) => Some(Found::Here(room)),
            None => match &self.hub.cluster {
                Some(cluster) => cluster
                    .find(room_id, code, player_id, crate::clock::now_ms())
                    .await
                    .map_err(unavailable)?
                    .map(Found::Elsewhere),
                None => None,
            },
        };
        match (found, guess) {
            (Some(found), Some(guess)) => {
                self.give_back_guess(guess).await;
                Ok(found)
            }
            (Some(found), None) => Ok(found),
            (None, guess) => {
                if guess.is_some() {
                    self.hub.services.metrics.guesses_wrong.inc();
                }
                Err(RoomError::NoSuchRoom)
            }
        }
    }

    /// Counts a join code against the player's and the address's guesses.
    async fn take_guess(&self, player_id: &str, addr: IpAddr) -> Result<Guess, RoomError> {
        let limits = &self.hub.limits;
        let now = self.hub.now_ms();
        let taken = match limits.guesses_by_player.take(player_id, now).await {
            Ok(by_player) => match limits.guesses_by_addr.take_addr(addr, now).await {
                Ok(by_addr) => Ok((by_player, by_addr)),
                Err(retry_after) => {
                    limits.guesses_by_player.give_back(by_player).await;
                    Err(retry_after)
                }
            },
            Err(retry_after) => Err(retry_after),
        };
        taken.map_err(|retry_after| {
            self.hub.services.metrics.guesses_refused.inc();
            RoomError::TooManyGuesses { retry_after }
        })
    }

    /// A right code was no guess.
    async fn give_back_guess(&self, (by_player, by_addr): Guess) {
        let limits = &self.hub.limits;
        limits.guesses_by_player.give_back(by_player).await;
        limits.guesses_by_addr.give_back(by_addr).await;
    }

    /// The room `join_room` names, if this node plays it.
    fn find_here(
        &self,
        room_id: Option<&str>,
        code: Option<&str>,
        player_id: &str,
    ) -> Result<Option<RoomHandle>, RoomError> {
        let registry = self.hub.registry();
        match (room_id, code) {
            (Some(id), _) => {
                let Some((id, entry)) = registry.rooms.get_key_value(id) else {
                    return Ok(None);
                };
                // A private room's id is no way in (ids are not secrets), except
                // back to one's own seat.
                let own = registry.seat(player_id).is_some_and(|s| s.room.id == *id);
                if entry.private && !own {
                    return Err(RoomError::NoSuchRoom);
                }
                Ok(Some(entry.handle(id)))
            }
            (None, Some(code)) => Ok(user_code::normalize(code)
                .and_then(|code| registry.codes.get(&code))
                .and_then(|id| registry.rooms.get_key_value(id))
                .map(|(id, entry)| entry.handle(id))),
            (None, None) => Err(RoomError::NoTarget),
        }
    }

    /// Sends `player_id` to the node that plays `room`, with a seat ticket.
    async fn send_to(&self, player_id: &str, room: &ListedRoom) -> Result<Entered, RoomError> {
        let cluster = self.hub.cluster.as_ref().ok_or(RoomError::NoSuchRoom)?;
        let redirect = cluster
            .redirect(player_id, room)
            .await
            .map_err(unavailable)?;
        Ok(Entered::Elsewhere(redirect))
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
    ) -> Result<Entered, RoomError> {
        let turn = self.turn(&player.id).await;
        let result = match target {
            Target::Room(room) => self
                .seat_in(&room, &player, &link)
                .await
                .map(|()| Entered::Here(room)),
            Target::New(spec) => self
                .open_and_sit(spec, &player, &link)
                .await
                .map(Entered::Here),
            Target::Quick => self.quick_seat(&player, &link).await,
        };
        drop(turn);
        result
    }

    /// Opens a room, lists it for the other nodes and seats its host: listed
    /// first, so a join from another node right after the host hears of the
    /// room finds it.
    async fn open_and_sit(
        &self,
        spec: NewRoom,
        player: &PlayerRef,
        link: &ConnLink,
    ) -> Result<RoomHandle, RoomError> {
        let room = self.open_room(spec)?;
        self.list(&room.id).await;
        self.seat_in(&room, player, link).await?;
        Ok(room)
    }

    async fn quick_seat(&self, player: &PlayerRef, link: &ConnLink) -> Result<Entered, RoomError> {
        for _ in 0..QUICK_TRIES {
            let room = match self.quick_candidate() {
                None => break,
                Some(Found::Here(room)) => room,
                Some(Found::Elsewhere(room)) => return self.send_to(&player.id, &room).await,
            };
            match self.seat_in(&room, player, link).await {
                Ok(()) => return Ok(Entered::Here(room)),
                Err(RoomError::RoomFull | RoomError::RoomInGame | RoomError::NoSuchRoom) => {}
                Err(e) => return Err(e),
            }
        }
        let spec = NewRoom {
            name: "Quick match".into(),
            private: false,
            quick: true,
            round_secs: DEFAULT_ROUND_SECS,
            seed: None,
        };
        self.open_and_sit(spec, player, link)
            .await
            .map(Entered::Here)
    }

    /// The quick-match room to fill: the fullest that is waiting with a seat
    /// free, then the oldest, on any node (this one's on a tie).
    fn quick_candidate(&self) -> Option<Found> {
        let filling = |summary: &RoomSummary| {
            summary.state == RoomPhase::Waiting && (summary.players as usize) < MAX_PLAYERS
        };
        let rank = |players: u32, opened_ms: u64, here: bool| {
            (std::cmp::Reverse(players), opened_ms, !here)
        };
        let here = {
            let registry = self.hub.registry();
            registry
                .rooms
                .iter()
                .filter(|(_, r)| r.quick && filling(&r.summary))
                .min_by_key(|(_, r)| (rank(r.summary.players, r.opened_ms, true), r.opened))
                .map(|(id, r)| (rank(r.summary.players, r.opened_ms, true), r.handle(id)))
        };
        let elsewhere = self.hub.cluster.as_ref().and_then(|cluster| {
            cluster
                .elsewhere()
                .iter()
                .filter(|r| r.quick && filling(&r.summary))
                .min_by_key(|r| rank(r.summary.players, r.opened_ms, false))
                .map(|r| (rank(r.summary.players, r.opened_ms, false), r.clone()))
        });
        match (here, elsewhere) {
            (Some((mine, room)), Some((theirs, _))) if mine <= theirs => Some(Found::Here(room)),
            (_, Some((_, room))) => Some(Found::Elsewhere(room)),
            (Some((_, room)), None) => Some(Found::Here(room)),
            (None, None) => None,
        }
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
        let before = self.hub.move_seat(&player.id, room, link);
        self.record_seat(&player.id, room).await;
        let Some(before) = before else {
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

    /// Tells the other nodes that `player_id` now sits in `room`: a seat they
    /// hold elsewhere is given up there at that node's next renewal.
    async fn record_seat(&self, player_id: &str, room: &RoomHandle) {
        let Some(cluster) = &self.hub.cluster else {
            return;
        };
        let seated_here = |registry: &Registry| {
            registry
                .seat(player_id)
                .is_some_and(|seat| seat.room.id == room.id)
        };
        if !seated_here(&self.hub.registry()) {
            return;
        }
        match cluster.directory().take_seat(player_id, &room.id).await {
            Ok(generation) => {
                let mut registry = self.hub.registry();
                if seated_here(&registry)
                    && let Some(seat) = registry
                        .players
                        .get_mut(player_id)
                        .and_then(|p| p.seat.as_mut())
                {
                    seat.generation = generation;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not record a seat in the shared directory"),
        }
    }

    /// Lists a room of this node in the shared directory, so other nodes can
    /// send players to it at once (else the next renewal lists it).
    async fn list(&self, room_id: &str) {
        let Some(cluster) = &self.hub.cluster else {
            return;
        };
        let Some(held) = self.hub.held_room(room_id, cluster.node_url()) else {
            return;
        };
        let now = crate::clock::now_ms();
        let until = now + lease_ms();
        match cluster
            .directory()
            .claim_room(&held.room, &held.code, now, until)
            .await
        {
            Ok(Some(fence)) => self.hub.set_fence(room_id, fence),
            Ok(None) => tracing::warn!(
                room = room_id,
                "another node's room has this room's join code; it stays unlisted"
            ),
            Err(e) => tracing::warn!(error = %e, "could not list a room in the shared directory"),
        }
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
                opened_ms: crate::clock::now_ms(),
                fence: 0,
                task: Some(task),
            },
        );
        self.hub.services.metrics.rooms.inc();
        Ok(RoomHandle { id, tx })
    }
}

impl RoomEntry {
    fn handle(&self, id: &Arc<str>) -> RoomHandle {
        RoomHandle {
            id: Arc::clone(id),
            tx: self.tx.clone(),
        }
    }

    /// The room as this node (`node_url`) lists it in the shared directory.
    fn held(&self, node_url: &str) -> HeldRoom {
        HeldRoom {
            room: ListedRoom {
                summary: self.summary.clone(),
                node: node_url.to_owned(),
                private: self.private,
                quick: self.quick,
                opened_ms: self.opened_ms,
            },
            code: self.code.clone(),
            fence: self.fence,
        }
    }
}

/// A directory failure, as players see it (the log says what it was).
fn unavailable(e: crate::storage::StoreError) -> RoomError {
    tracing::warn!(error = %e, "the shared room directory cannot be reached");
    RoomError::Unavailable
}

/// [`LEASE`](super::cluster::LEASE) in ms.
fn lease_ms() -> u64 {
    u64::try_from(super::cluster::LEASE.as_millis()).unwrap_or(u64::MAX)
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

    /// The public rooms of every node, oldest first.
    fn list_rooms(&self) -> Vec<RoomSummary> {
        let here = self.registry().public_rooms();
        let Some(cluster) = &self.cluster else {
            return here.into_iter().map(|(_, room)| room).collect();
        };
        let elsewhere = cluster.elsewhere();
        let there = elsewhere
            .iter()
            .filter(|room| !room.private)
            .map(|room| (room.opened_ms, room.summary.clone()));
        let mut all: Vec<_> = here.into_iter().chain(there).collect();
        // Stable: rooms of this node opened in the same ms keep their order.
        all.sort_by_key(|(opened_ms, _)| *opened_ms);
        all.into_iter().map(|(_, room)| room).collect()
    }

    /// Sends the public list to every connection that watches it from the lobby.
    fn push_rooms(&self) {
        if self.shutting_down.load(Ordering::Acquire) {
            return;
        }
        let lobby = {
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
            lobby
        };
        let rooms = self.list_rooms();
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
            generation: 0,
        })
    }

    /// Unlists a closed room (its id and fence) and gives up seats (player and
    /// generation) in the shared directory, in the background.
    fn forget_in_directory(&self, room: Option<(String, u64)>, seats: Vec<(String, u64)>) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let room = room.filter(|(_, fence)| *fence != 0);
        let seats: Vec<_> = seats.into_iter().filter(|(_, g)| *g != 0).collect();
        if room.is_none() && seats.is_empty() {
            return;
        }
        let cluster = Arc::clone(cluster);
        tokio::spawn(async move {
            let directory = cluster.directory();
            if let Some((id, fence)) = room
                && let Err(e) = directory.release_room(&id, fence).await
            {
                tracing::warn!(error = %e, "could not unlist a closed room; its lease will run out");
            }
            for (player_id, generation) in seats {
                if let Err(e) = directory.give_up_seat(&player_id, generation).await {
                    tracing::warn!(error = %e, "could not give up a seat in the shared directory");
                }
            }
        });
    }

    /// A room of this node as the directory lists it.
    fn held_room(&self, id: &str, node_url: &str) -> Option<HeldRoom> {
        self.registry()
            .rooms
            .get(id)
            .map(|entry| entry.held(node_url))
    }

    /// Records the fencing number a room's lease was claimed with.
    fn set_fence(&self, id: &str, fence: u64) {
        if let Some(entry) = self.registry().rooms.get_mut(id) {
            entry.fence = fence;
        }
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
        {
            if let Some(link) = seat.link {
                link.seat.clear_if(room);
            }
            self.forget_in_directory(None, vec![(player_id.to_owned(), seat.generation)]);
        }
        registry.forget_if_idle(player_id);
    }

    /// Removes a room that has closed itself.
    fn close_room(&self, id: &str) {
        let mut registry = self.registry();
        let mut lease = None;
        if let Some(entry) = registry.rooms.remove(id) {
            registry.codes.remove(&entry.code);
            self.services.metrics.rooms.dec();
            if !entry.private {
                self.rooms_changed.send_replace(());
            }
            lease = Some((id.to_owned(), entry.fence));
        }
        let mut gone = Vec::new();
        for (player_id, entry) in &mut registry.players {
            if entry.seat.as_ref().is_some_and(|s| &*s.room.id == id)
                && let Some(seat) = entry.seat.take()
            {
                if let Some(link) = seat.link {
                    link.seat.clear_if(id);
                }
                gone.push((player_id.clone(), seat.generation));
            }
        }
        for (player_id, _) in &gone {
            registry.forget_if_idle(player_id);
        }
        drop(registry);
        self.forget_in_directory(lease, gone);
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
