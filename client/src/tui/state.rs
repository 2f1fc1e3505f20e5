//! Everything the TUI knows, drawn by `ui::draw` and changed only by `update`.

use crate::block_art::qr::QrMatrix;
use whack_shared::api::{Leaderboard, Me, PlayerStats};
use whack_shared::protocol::{
    DEFAULT_ROUND_SECS, Millis, MoleKind, PlayerRef, RankingEntry, RoomPhase, RoomSummary, RoomView,
};

/// How often the lobby asks for the room list again, in milliseconds.
pub const ROOMS_REFRESH_MS: Millis = 3_000.0;
/// How often a ping measures round-trip time during a round, in milliseconds.
pub const PING_EVERY_MS: Millis = 2_000.0;
/// How often a ping goes out elsewhere (lobby, room): rarer, so idle stays idle.
pub const IDLE_PING_EVERY_MS: Millis = 5_000.0;
/// How long a hole shows what a whack did, in milliseconds.
pub const FLASH_MS: Millis = 450.0;
/// How long a toast stays up, in milliseconds.
pub const TOAST_MS: Millis = 4_000.0;
/// How long news the player must not miss stays up (a room that ended, a wrong
/// code given on the command line), in milliseconds.
pub const NOTICE_MS: Millis = 12_000.0;
/// A whack the server never answered is forgotten after this long (it was rate limited).
pub const PENDING_WHACK_MS: Millis = 2_000.0;

/// The whole TUI state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Local epoch milliseconds of the last action, injected by the runtime.
    pub now: Millis,
    /// Whether colours may be used (false under `NO_COLOR`).
    pub colour: bool,
    /// The server, as shown in the header.
    pub server: String,
    /// Terminal size: columns, rows.
    pub size: (u16, u16),
    /// The main screen.
    pub screen: Screen,
    /// The game connection.
    pub conn: Conn,
    /// Who the connection plays as (from `welcome`).
    pub player: Option<PlayerRef>,
    /// The player's profile and lifetime stats.
    pub me: Option<Me>,
    /// Public rooms.
    pub rooms: Vec<RoomSummary>,
    /// The global leaderboard, once fetched.
    pub leaderboard: Option<Leaderboard>,
    /// The room the player sits in.
    pub room: Option<RoomView>,
    /// True between a reconnect's `join_room` and the server's answer.
    pub rejoining: bool,
    /// A dialog on top of the screen.
    pub modal: Option<Modal>,
    /// Whether the key help is shown.
    pub help: bool,
    /// A short message at the bottom.
    pub toast: Option<Toast>,
    /// Last measured round-trip time.
    pub rtt_ms: Option<Millis>,
    /// Server clock minus local clock.
    pub clock_offset: Millis,
    /// When the next ping is due (local time).
    pub next_ping_at: Millis,
    /// When the lobby next asks for rooms (local time).
    pub next_rooms_at: Millis,
    /// Set once the player asked to quit.
    pub quit: bool,
    /// Where the login is kept when that is not the OS keyring (a warning to show).
    pub insecure_storage: Option<String>,
    /// Whether the server lets `create_room` fix the seed (from `welcome`).
    pub seeded_rooms: bool,
    /// Set by the server's `shutdown` notice until the next `welcome`: rooms are
    /// gone, so no seat is waiting.
    pub going_away: bool,
    /// A room code to join once connected (`whack join CODE`), canonical letters.
    pub join_code: Option<String>,
    /// The code of a `join_room` by code not answered yet, to word a refusal.
    pub joining_code: Option<String>,
}

/// The main screens.
// One `State` lives at a time; boxing variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Device-code login.
    Login(LoginPhase),
    /// Room list, stats, leaderboard.
    Lobby(Lobby),
    /// Seated in a room, waiting for the start.
    Room,
    /// Countdown and round.
    Game(Game),
    /// After the round.
    Results(Results),
}

/// Where the login stands.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginPhase {
    /// Looking for a stored login.
    Checking,
    /// Asking the server for a code.
    Requesting,
    /// Showing a code and waiting for approval.
    Waiting(Pending),
    /// The player denied the request in the browser.
    Denied,
    /// The code expired.
    Expired,
    /// The server could not be reached.
    ServerDown(String),
    /// Something else went wrong.
    Failed(String),
}

/// A code waiting for approval.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// `XXXX-XXXX`.
    pub user_code: String,
    /// The page to type it into.
    pub uri: String,
    /// The page with the code filled in.
    pub uri_complete: String,
    /// Local time the code expires.
    pub expires_at: Millis,
    /// The QR code of `uri_complete`.
    pub qr: Option<QrMatrix>,
    /// Whether the browser opened (None until known).
    pub browser: Option<bool>,
}

/// The lobby screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lobby {
    /// Selected row in the room list.
    pub selected: usize,
    /// Which panel is shown.
    pub view: LobbyView,
}

/// The lobby's main panel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LobbyView {
    /// Public rooms.
    #[default]
    Rooms,
    /// The global leaderboard.
    Leaderboard,
}

/// The game screen's own state (the room itself is in [`State::room`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Game {
    /// What each hole shows for a moment.
    pub flashes: [Option<Flash>; 9],
    /// The last thing that happened to the player, as a line of text.
    pub last: Option<String>,
    /// Whacks sent but not answered yet: hole and local time of the key press.
    pub pending: Vec<(u8, Millis)>,
    /// Key press to the server's answer for the last whack.
    pub last_whack_ms: Option<Millis>,
}

/// A short-lived mark on a hole.
#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    /// What it shows.
    pub kind: FlashKind,
    /// Local time it disappears.
    pub until: Millis,
}

/// What a flash shows.
#[derive(Debug, Clone, PartialEq)]
pub enum FlashKind {
    /// The key was pressed; the server has not answered yet.
    Pressed,
    /// The player whacked a mole of this kind for these points.
    Hit(MoleKind, i32),
    /// The player whacked an empty hole.
    Miss(i32),
    /// Someone else got there first (their name).
    Late(String),
    /// Another player whacked the mole (their name, points).
    Other(String, i32),
}

/// The results screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// Best first.
    pub ranking: Vec<RankingEntry>,
    /// The player's stats before the round, to show what changed.
    pub stats_before: Option<PlayerStats>,
}

/// A dialog.
#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    /// The create-room form.
    Create(CreateForm),
    /// Typing a private room's code.
    JoinCode(String),
    /// "Leave the round?"
    ConfirmLeave,
    /// "Log out?"
    ConfirmLogout,
}

/// The create-room form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateForm {
    /// Room name (may be empty: the server picks one).
    pub name: String,
    /// Private rooms are joined by code.
    pub private: bool,
    /// Round length in seconds.
    pub round_secs: u32,
    /// Optional fixed seed (servers run with `--allow-seeded-rooms` only).
    pub seed: String,
    /// The field being edited.
    pub focus: CreateField,
}

impl Default for CreateForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            private: false,
            round_secs: DEFAULT_ROUND_SECS,
            seed: String::new(),
            focus: CreateField::Name,
        }
    }
}

/// Fields of the create-room form, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateField {
    /// Room name.
    Name,
    /// Public or private.
    Private,
    /// Round length.
    Round,
    /// Fixed seed.
    Seed,
}

impl CreateField {
    /// The next field in tab order.
    pub fn next(self) -> Self {
        match self {
            Self::Name => Self::Private,
            Self::Private => Self::Round,
            Self::Round => Self::Seed,
            Self::Seed => Self::Name,
        }
    }

    /// The previous field in tab order.
    pub fn prev(self) -> Self {
        match self {
            Self::Name => Self::Seed,
            Self::Private => Self::Name,
            Self::Round => Self::Private,
            Self::Seed => Self::Round,
        }
    }
}

/// A message at the bottom of the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    /// The message.
    pub text: String,
    /// Whether it reports a problem.
    pub error: bool,
    /// Local time it disappears.
    pub until: Millis,
}

/// The game connection, as the player sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Conn {
    /// Not connected and not trying (logged out).
    Offline,
    /// Connecting (attempt, 1-based).
    Connecting(u32),
    /// Connected and welcomed.
    Online,
    /// Dropped; retrying at the given local time.
    Retrying {
        /// What happened.
        reason: String,
        /// Local time of the next attempt.
        retry_at: Millis,
    },
    /// The server speaks another protocol version.
    Incompatible(String),
}

impl State {
    /// A fresh state at the login check.
    pub fn new(server: impl Into<String>, colour: bool, size: (u16, u16), now: Millis) -> Self {
        Self {
            now,
            colour,
            server: server.into(),
            size,
            screen: Screen::Login(LoginPhase::Checking),
            conn: Conn::Offline,
            player: None,
            me: None,
            rooms: Vec::new(),
            leaderboard: None,
            room: None,
            rejoining: false,
            modal: None,
            help: false,
            toast: None,
            rtt_ms: None,
            clock_offset: 0.0,
            next_ping_at: now,
            next_rooms_at: now,
            quit: false,
            insecure_storage: None,
            seeded_rooms: false,
            going_away: false,
            join_code: None,
            joining_code: None,
        }
    }

    /// Whether quitting now leaves the player without a working login (the login
    /// screen: still waiting, denied, expired or failed): the process then exits 1.
    pub fn login_unfinished(&self) -> bool {
        matches!(self.screen, Screen::Login(_))
    }

    /// The server's clock now, as far as we can tell.
    pub fn server_now(&self) -> Millis {
        self.now + self.clock_offset
    }

    /// The player's id, once welcomed.
    pub fn my_id(&self) -> Option<&str> {
        self.player
            .as_ref()
            .map(|p| p.id.as_str())
            .or(self.me.as_ref().map(|m| m.id.as_str()))
    }

    /// The player's name, once known.
    pub fn my_name(&self) -> Option<&str> {
        self.me
            .as_ref()
            .map(|m| m.name.as_str())
            .or(self.player.as_ref().map(|p| p.name.as_str()))
    }

    /// Whether the player hosts the room they sit in.
    pub fn is_host(&self) -> bool {
        match (&self.room, self.my_id()) {
            (Some(room), Some(me)) => room.host == me,
            _ => false,
        }
    }

    /// A player's name by id, for "alice got it".
    pub fn player_name(&self, id: &str) -> String {
        self.room
            .as_ref()
            .and_then(|r| r.players.iter().find(|p| p.id == id))
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "someone".to_owned())
    }

    /// Milliseconds until the round starts, during the countdown.
    pub fn countdown_left(&self) -> Option<Millis> {
        let room = self.room.as_ref()?;
        let starts_at = room.starts_at?;
        let left = starts_at - self.server_now();
        (room.state == RoomPhase::Countdown || left > 0.0).then_some(left.max(0.0))
    }

    /// Milliseconds left in the round, while playing.
    pub fn time_left(&self) -> Option<Millis> {
        let room = self.room.as_ref()?;
        let ends_at = room.ends_at.or(room
            .starts_at
            .map(|s| s + f64::from(room.round_secs) * 1000.0))?;
        Some((ends_at - self.server_now()).max(0.0))
    }

    /// Whether the screen changes with time alone (spinners, timers, countdowns).
    pub fn animates(&self) -> bool {
        matches!(
            self.screen,
            Screen::Login(LoginPhase::Checking | LoginPhase::Requesting | LoginPhase::Waiting(_))
                | Screen::Game(_)
        ) || matches!(self.conn, Conn::Connecting(_) | Conn::Retrying { .. })
    }

    /// Whether anything the player can see differs from `before`, ignoring the
    /// clock and timer bookkeeping (those show only through [`State::animates`]).
    pub fn looks_different(&self, before: &State) -> bool {
        let mut b = before.clone();
        b.now = self.now;
        b.next_ping_at = self.next_ping_at;
        b.next_rooms_at = self.next_rooms_at;
        *self != b
    }

    /// When the runtime must wake up next with a `Tick`, or `None` to sleep until
    /// something else happens. Idle screens return far-off times so the CPU rests.
    pub fn next_wakeup(&self) -> Option<Millis> {
        let mut at: Option<Millis> = None;
        let mut soon = |t: Millis| at = Some(at.map_or(t, |a: Millis| a.min(t)));
        match &self.screen {
            Screen::Login(
                LoginPhase::Checking | LoginPhase::Requesting | LoginPhase::Waiting(_),
            ) => soon(self.now + 120.0),
            Screen::Game(_) => soon(self.now + 50.0),
            Screen::Lobby(_) if self.conn == Conn::Online => soon(self.next_rooms_at),
            _ => {}
        }
        match &self.conn {
            Conn::Online => soon(self.next_ping_at),
            Conn::Retrying { .. } | Conn::Connecting(_) => soon(self.now + 250.0),
            _ => {}
        }
        if let Some(toast) = &self.toast {
            soon(toast.until);
        }
        at
    }
}
