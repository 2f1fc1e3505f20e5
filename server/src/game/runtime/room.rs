//! One room: a tokio task owning the seats and the round. Commands come in over a
//! queue; whatever the round emits is serialized once and queued, as the same
//! bytes, to every member's connection. A finished round's `game_over` goes out
//! only once its result is recorded and flushed; if that fails, the players get
//! `results_not_saved` instead and the room is back to waiting.

use super::handles::{ConnLink, RoomCmd};
use super::outbox::encode;
use super::precise_timer::PreciseTimer;
use super::room_env::{Lobby, Services};
use super::room_error::RoomError;
use crate::game::rules::{Audience, Event, Game, GameConfig, Phase, WhackError};
use axum::extract::ws::Utf8Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use whack_shared::protocol::{
    MAX_PLAYERS, Millis, PlayerRef, PlayerView, RankingEntry, RoomPhase, RoomSummary, RoomView,
    ServerMsg,
};

/// A room's fixed settings.
#[derive(Debug, Clone)]
pub(super) struct RoomSpec {
    pub id: Arc<str>,
    pub name: String,
    pub private: bool,
    /// The join code as shown (`XXXX-XXXX`); never logged.
    pub code: String,
    pub quick: bool,
    pub round_secs: u32,
    pub seed: Option<u64>,
}

#[derive(Debug)]
struct Seat {
    player: PlayerRef,
    link: Option<ConnLink>,
    /// While dropped: when the seat is given up.
    grace_until: Option<Instant>,
}

struct Room {
    services: Arc<Services>,
    lobby: Arc<dyn Lobby>,
    spec: RoomSpec,
    /// In join order.
    seats: Vec<Seat>,
    host: String,
    game: Option<Game>,
    /// Quick match: when a lone player's wait ends.
    solo_until: Option<Instant>,
    /// Quick match: when a room with 2+ players starts.
    fill_until: Option<Instant>,
    published: Option<RoomSummary>,
}

/// Runs a room until it is empty or the server shuts down.
pub(super) async fn run(
    services: Arc<Services>,
    lobby: Arc<dyn Lobby>,
    spec: RoomSpec,
    mut commands: mpsc::Receiver<RoomCmd>,
) {
    let id = Arc::clone(&spec.id);
    let mut room = Room {
        services,
        lobby: Arc::clone(&lobby),
        spec,
        seats: Vec::new(),
        host: String::new(),
        game: None,
        solo_until: None,
        fill_until: None,
        published: None,
    };
    let mut timer = PreciseTimer::new();
    loop {
        let wake = room.next_wake();
        let command = tokio::select! {
            command = commands.recv() => command,
            () = timer.sleep_until(wake) => {
                room.on_timer().await;
                if room.seats.is_empty() {
                    break;
                }
                continue;
            }
        };
        match command {
            None => break,
            Some(RoomCmd::Shutdown) => {
                room.tick().await;
                break;
            }
            Some(command) => {
                let done = room.handle(command).await;
                let empty = room.seats.is_empty();
                // Closed before a leaver hears back, so whoever waits on the
                // leave never sees the room it left still listed.
                if empty {
                    lobby.close_room(&id);
                }
                if let Some(done) = done {
                    let _ = done.send(());
                }
                if empty {
                    break;
                }
            }
        }
    }
    lobby.close_room(&id);
    tracing::debug!(room = %id, "room closed");
}

impl Room {
    fn phase(&self) -> RoomPhase {
        self.game
            .as_ref()
            .map_or(RoomPhase::Waiting, |g| g.phase().into())
    }

    fn in_round(&self) -> bool {
        matches!(self.phase(), RoomPhase::Countdown | RoomPhase::Playing)
    }

    fn seat(&self, player_id: &str) -> Option<&Seat> {
        self.seats.iter().find(|s| s.player.id == player_id)
    }

    fn next_wake(&self) -> Option<Instant> {
        let round = self
            .game
            .as_ref()
            .and_then(Game::next_deadline)
            .map(|at| self.services.clock.instant_at(at));
        let grace = self.seats.iter().filter_map(|s| s.grace_until).min();
        [round, grace, self.quick_start_at()]
            .into_iter()
            .flatten()
            .min()
    }

    fn quick_start_at(&self) -> Option<Instant> {
        if !self.spec.quick || self.phase() != RoomPhase::Waiting {
            return None;
        }
        match self.seats.len() {
            0 => None,
            1 => self.solo_until,
            n if n >= MAX_PLAYERS => Some(Instant::now()),
            _ => self.fill_until,
        }
    }

    async fn on_timer(&mut self) {
        self.tick().await;
        let now = Instant::now();
        let expired: Vec<String> = self
            .seats
            .iter()
            .filter(|s| s.grace_until.is_some_and(|at| at <= now))
            .map(|s| s.player.id.clone())
            .collect();
        let changed = !expired.is_empty();
        for player_id in expired {
            tracing::debug!(room = %self.spec.id, player = %player_id, "reconnect grace over");
            self.remove_seat(&player_id);
        }
        if changed {
            self.refresh();
        }
        if self.quick_start_at().is_some_and(|at| at <= now)
            && let Err(e) = self.start_round()
        {
            tracing::warn!(room = %self.spec.id, error = %e, "quick match could not start");
            // Never retried at once: a timer that stays due would spin.
            self.solo_until = None;
            self.fill_until = None;
        }
    }

    /// Brings the round up to the clock.
    async fn tick(&mut self) {
        let Some(game) = self.game.as_mut() else {
            return;
        };
        let Some(deadline) = game.next_deadline() else {
            return;
        };
        // Waking a hair before the deadline must still process it, or the same
        // deadline would come back and the task would spin.
        let now = self.services.clock.now().max(deadline);
        if self.services.clock.now() + 1.0 < deadline {
            return;
        }
        let events = game.tick(now);
        self.dispatch(events).await;
        self.publish();
    }

    /// Handles one command; returns a leave's `done`, to answer once the room
    /// knows whether it closes.
    async fn handle(&mut self, command: RoomCmd) -> Option<oneshot::Sender<()>> {
        match command {
            RoomCmd::Join {
                player,
                link,
                reply,
            } => {
                let result = self.join(player, link);
                if result.is_ok() {
                    self.refresh();
                }
                let _ = reply.send(result);
            }
            RoomCmd::Leave {
                player_id,
                conn,
                done,
            } => {
                let held = self
                    .seat(&player_id)
                    .is_some_and(|s| conn.is_none() || s.link.as_ref().map(|l| l.id) == conn);
                if held {
                    self.remove_seat(&player_id);
                    self.refresh();
                }
                return done;
            }
            RoomCmd::Dropped { player_id, conn } => {
                let grace = self.services.settings.reconnect_grace;
                if let Some(seat) = self.seats.iter_mut().find(|s| {
                    s.player.id == player_id && s.link.as_ref().is_some_and(|l| l.id == conn)
                }) {
                    seat.link = None;
                    seat.grace_until = Some(Instant::now() + grace);
                    self.refresh();
                }
            }
            RoomCmd::Start { player_id } => {
                let result = if player_id == self.host {
                    self.start_round()
                } else {
                    Err(RoomError::NotHost)
                };
                if let Err(e) = result {
                    self.tell(&player_id, &e.to_msg());
                }
            }
            RoomCmd::Whack {
                player_id,
                hole,
                at,
            } => self.whack(&player_id, hole, at).await,
            RoomCmd::Shutdown => {}
        }
        None
    }

    fn join(&mut self, player: PlayerRef, link: ConnLink) -> Result<(), RoomError> {
        if let Some(seat) = self.seats.iter_mut().find(|s| s.player.id == player.id) {
            // A returning player: seat, score and board come back with the room_state.
            seat.link = Some(link);
            seat.grace_until = None;
            return Ok(());
        }
        let in_this_round = self
            .game
            .as_ref()
            .is_some_and(|g| g.player(&player.id).is_some());
        if self.in_round() && !in_this_round {
            return Err(RoomError::RoomInGame);
        }
        if self.seats.len() >= MAX_PLAYERS {
            return Err(RoomError::RoomFull);
        }
        if self.seats.is_empty() {
            self.host.clone_from(&player.id);
            self.solo_until = Some(Instant::now() + self.services.settings.quick_solo);
        }
        // The hub records the seat once this join answers (see `GameHub::seat_in`).
        self.seats.push(Seat {
            player,
            link: Some(link),
            grace_until: None,
        });
        if self.seats.len() >= 2 && self.fill_until.is_none() {
            self.fill_until = Some(Instant::now() + self.services.settings.quick_fill);
        }
        Ok(())
    }

    fn remove_seat(&mut self, player_id: &str) {
        self.seats.retain(|s| s.player.id != player_id);
        self.lobby.unseat(player_id, &self.spec.id);
        if self.host == player_id {
            self.host = self
                .seats
                .first()
                .map(|s| s.player.id.clone())
                .unwrap_or_default();
        }
        if self.seats.len() < 2 {
            self.fill_until = None;
        }
    }

    fn start_round(&mut self) -> Result<(), RoomError> {
        if self.in_round() {
            return Err(RoomError::AlreadyStarted);
        }
        let players: Vec<PlayerRef> = self.seats.iter().map(|s| s.player.clone()).collect();
        let config = GameConfig {
            round_secs: self.spec.round_secs,
            seed: self.spec.seed.unwrap_or_else(rand::random),
            countdown_ms: self.services.settings.countdown_ms,
        };
        let (game, countdown) =
            Game::start(config, &players, self.services.clock.now()).map_err(|e| {
                tracing::error!(room = %self.spec.id, error = %e, "cannot start a round");
                RoomError::AlreadyStarted
            })?;
        tracing::info!(room = %self.spec.id, players = players.len(), "round starting");
        self.game = Some(game);
        self.fill_until = None;
        self.solo_until = None;
        self.send_event(&countdown);
        self.refresh();
        Ok(())
    }

    async fn whack(&mut self, player_id: &str, hole: u8, at: Millis) {
        let Some(game) = self.game.as_mut() else {
            self.tell(player_id, &WhackError::NotStarted.to_msg());
            return;
        };
        match game.whack(player_id, hole, at) {
            Ok(events) => {
                self.dispatch(events).await;
                let took = Duration::try_from_secs_f64((self.services.clock.now() - at) / 1000.0);
                self.services
                    .metrics
                    .whack_handling
                    .observe(took.unwrap_or_default());
            }
            Err(WhackError::RateLimited) => self.services.metrics.whacks_dropped.inc(),
            Err(e) => self.tell(player_id, &e.to_msg()),
        }
    }

    async fn dispatch(&mut self, events: Vec<Event>) {
        let mut finished = false;
        for mut event in events {
            if let ServerMsg::MoleUp { mole_id, up_at, .. } = &mut event.msg {
                // The schedule said when the mole was due; the wire says when it
                // went out, so a client's view of its life is true.
                let sent = self.services.clock.now().max(*up_at);
                *up_at = sent;
                if let Some(game) = self.game.as_mut() {
                    game.mark_sent(mole_id, sent);
                }
            }
            if let ServerMsg::GameOver { ranking } = &event.msg {
                finished = true;
                if let Err(e) = self.record(ranking).await {
                    tracing::error!(room = %self.spec.id, error = %e, "the round's result was not saved");
                    self.results_lost();
                    continue;
                }
            }
            self.send_event(&event);
        }
        if finished {
            self.refresh();
        }
    }

    /// Stores a finished round; `Ok` only once it is on disk.
    async fn record(&self, ranking: &[RankingEntry]) -> Result<(), String> {
        self.services
            .stats
            .record_round(ranking)
            .await
            .map_err(|e| format!("cannot record the round: {e}"))?;
        self.services.metrics.rounds_finished.inc();
        tracing::info!(room = %self.spec.id, players = ranking.len(), "round recorded");
        Ok(())
    }

    /// A round ended whose result could not be stored: nobody is told it is
    /// over as if it counted; every seat hears why, and the room waits again.
    fn results_lost(&mut self) {
        self.game = None;
        if let Some(frame) = encode(&RoomError::ResultsNotSaved.to_msg()) {
            self.broadcast(&frame);
        }
    }

    fn send_event(&self, event: &Event) {
        let Some(frame) = encode(&event.msg) else {
            return;
        };
        match &event.audience {
            Audience::Everyone => self.broadcast(&frame),
            Audience::Player(id) => self.send_to(id, &frame),
        }
    }

    fn broadcast(&self, frame: &Utf8Bytes) {
        for link in self.seats.iter().filter_map(|s| s.link.as_ref()) {
            link.send(frame);
        }
    }

    fn send_to(&self, player_id: &str, frame: &Utf8Bytes) {
        if let Some(link) = self.seat(player_id).and_then(|s| s.link.as_ref()) {
            link.send(frame);
        }
    }

    fn tell(&self, player_id: &str, msg: &ServerMsg) {
        if let Some(frame) = encode(msg) {
            self.send_to(player_id, &frame);
        }
    }

    /// Sends everyone the room as it is now and updates the public list.
    fn refresh(&mut self) {
        if let Some(frame) = encode(&ServerMsg::RoomState { room: self.view() }) {
            self.broadcast(&frame);
        }
        self.publish();
    }

    fn publish(&mut self) {
        let summary = RoomSummary {
            id: self.spec.id.to_string(),
            name: self.spec.name.clone(),
            players: self.seats.len() as u32,
            max_players: MAX_PLAYERS as u32,
            state: self.phase(),
            round_secs: self.spec.round_secs,
            // Public rooms are listed with their code, so it can be passed on.
            code: (!self.spec.private).then(|| self.spec.code.clone()),
        };
        if self.published.as_ref() != Some(&summary) {
            self.lobby.publish(&self.spec.id, summary.clone());
            self.published = Some(summary);
        }
    }

    fn view(&self) -> RoomView {
        let connected = |id: &str| self.seat(id).is_some_and(|s| s.link.is_some());
        let mut players: Vec<PlayerView> = Vec::with_capacity(self.seats.len());
        // During a round everyone in it stays listed (their score counts, and
        // they may still come back to it); once it is over, only the seated are,
        // or a player who went back to the lobby would show as "away" until the
        // next round.
        let in_round = self.in_round();
        if let Some(game) = &self.game {
            let listed = game
                .players()
                .filter(|p| in_round || self.seat(&p.id).is_some());
            players.extend(listed.map(|p| PlayerView {
                id: p.id.clone(),
                name: p.name.clone(),
                score: p.score,
                connected: connected(&p.id),
            }));
        }
        for seat in &self.seats {
            if !players.iter().any(|p| p.id == seat.player.id) {
                players.push(PlayerView {
                    id: seat.player.id.clone(),
                    name: seat.player.name.clone(),
                    score: 0,
                    connected: seat.link.is_some(),
                });
            }
        }
        let game = self.game.as_ref();
        let phase = game.map(Game::phase);
        RoomView {
            id: self.spec.id.to_string(),
            name: self.spec.name.clone(),
            code: Some(self.spec.code.clone()),
            private: self.spec.private,
            host: self.host.clone(),
            state: self.phase(),
            round_secs: self.spec.round_secs,
            starts_at: game
                .filter(|_| phase == Some(Phase::Countdown))
                .map(Game::starts_at),
            ends_at: game
                .filter(|_| matches!(phase, Some(Phase::Countdown | Phase::Playing)))
                .map(Game::ends_at),
            players,
            moles: game.map(Game::moles_up).unwrap_or_default(),
            quick: self.spec.quick,
        }
    }
}
