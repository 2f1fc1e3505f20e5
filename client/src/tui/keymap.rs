//! Every key the TUI answers to, one table per mode (gitui's `commands()`): the
//! dispatch in `input`, the footer hints and the help screen all read these tables,
//! so a key cannot do one thing while the screen says it does another.

use crate::tui::state::{Conn, CreateField, LobbyView, LoginPhase, Modal, Screen, State};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use whack_shared::protocol::HOLES;

/// What a key does; `input` carries each one out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Leave the program.
    Quit,
    /// Show the key help.
    OpenHelp,
    /// Hide the key help.
    CloseHelp,
    /// Open the sign-in page in the browser again.
    OpenBrowser,
    /// Ask the server for a new sign-in code.
    NewCode,
    /// Select the room above.
    SelectPrev,
    /// Select the room below.
    SelectNext,
    /// Join the selected room.
    JoinSelected,
    /// Ask for a quick match.
    QuickMatch,
    /// Open the create-room form.
    OpenCreate,
    /// Open the join-by-code dialog.
    OpenJoinCode,
    /// Reconnect now instead of waiting for the backoff.
    ReconnectNow,
    /// Ask for the room list again.
    ListRooms,
    /// Show the leaderboard.
    ShowLeaderboard,
    /// Show the room list.
    ShowRooms,
    /// Fetch the leaderboard again.
    RefreshLeaderboard,
    /// Ask whether to log out.
    AskLogout,
    /// Start the round (the host) or say who does.
    Start,
    /// Leave the room, back to the lobby.
    Leave,
    /// Ask whether to leave the round.
    AskLeave,
    /// Whack a hole.
    Whack(u8),
    /// Another round in the same room.
    PlayAgain,
    /// Send the open dialog.
    Submit,
    /// Close the open dialog without sending it.
    Cancel,
    /// The create form's next field.
    NextField,
    /// The create form's previous field.
    PrevField,
    /// Public ↔ private in the create form.
    TogglePrivate,
    /// A shorter round in the create form.
    Shorter,
    /// A longer round in the create form.
    Longer,
    /// Answer yes to the open question.
    Confirm,
    /// Answer no to the open question.
    Decline,
}

/// Where a binding appears on the help screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Help {
    /// Not on the help screen.
    Hidden,
    /// A new line: these keys, this text.
    Line(&'static str),
    /// Joins the line before: its keys after two spaces, its text after a comma.
    Then(&'static str),
    /// Joins the line before's keys after one space, with no text of its own (`↑ ↓`).
    Same,
}

/// Keys that do one thing, and how the footer and the help screen name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// Every key that does it; the first is the one a footer click presses.
    pub keys: &'static [KeyCode],
    /// Whether Ctrl must be held (other bindings ignore modifiers, so caps lock plays).
    pub ctrl: bool,
    /// How the keys are written.
    pub shown: &'static str,
    /// What it does.
    pub command: Command,
    /// The footer's label, if the footer offers it.
    pub hint: Option<&'static str>,
    /// The help screen's words for it.
    pub help: Help,
    /// Whether it needs the game connection: offline, the footer leaves it out and
    /// the key is answered with why nothing happens.
    pub needs_server: bool,
}

impl Binding {
    const fn new(keys: &'static [KeyCode], shown: &'static str, command: Command) -> Self {
        Self {
            keys,
            ctrl: false,
            shown,
            command,
            hint: None,
            help: Help::Hidden,
            needs_server: false,
        }
    }

    const fn hint(self, label: &'static str) -> Self {
        Self {
            hint: Some(label),
            ..self
        }
    }

    const fn unhinted(self) -> Self {
        Self { hint: None, ..self }
    }

    const fn help(self, help: Help) -> Self {
        Self { help, ..self }
    }

    const fn ctrl(self) -> Self {
        Self { ctrl: true, ..self }
    }

    const fn online(self) -> Self {
        Self {
            needs_server: true,
            ..self
        }
    }

    /// Whether `key` triggers this binding.
    pub fn matches(&self, key: &KeyEvent) -> bool {
        self.keys.contains(&key.code)
            && (!self.ctrl || key.modifiers.contains(KeyModifiers::CONTROL))
    }
}

use Command as C;
use Help::{Line, Same, Then};
use KeyCode::{BackTab, Char, Down, Enter, Esc, Left, Right, Tab, Up};

const QUIT_ANYWHERE: Binding = Binding::new(&[Char('c')], "Ctrl-C", C::Quit)
    .ctrl()
    .help(Line("quit"));
const OPEN_HELP: Binding = Binding::new(&[Char('?')], "?", C::OpenHelp)
    .hint("help")
    .help(Line("this help"));
const CLOSE_HELP: Binding = Binding::new(&[Esc, Char('?'), Char('q'), Enter], "Esc", C::CloseHelp)
    .hint("close help")
    .help(Then("close"));
const QUIT: Binding = Binding::new(&[Char('q')], "q", C::Quit).hint("quit");

const LOGIN_QUIT: Binding = Binding::new(&[Char('q'), Esc], "q", C::Quit).hint("quit");
const OPEN_BROWSER: Binding = Binding::new(&[Char('o')], "o", C::OpenBrowser).hint("open browser");
const NEW_CODE: Binding = Binding::new(&[Char('n')], "n", C::NewCode).hint("new code");
const TRY_AGAIN: Binding = Binding::new(&[Enter, Char('n')], "Enter", C::NewCode).hint("new code");

const RETRY_NOW: Binding = Binding::new(&[Char('r')], "r", C::ReconnectNow).hint("retry now");
const LOBBY_ROOMS: &[Binding] = &[
    Binding::new(&[Up], "↑", C::SelectPrev).help(Line("pick a room")),
    Binding::new(&[Down], "↓", C::SelectNext).help(Same),
    Binding::new(&[Enter], "Enter", C::JoinSelected)
        .hint("join")
        .help(Then("join it"))
        .online(),
    Binding::new(&[Char('m')], "m", C::QuickMatch)
        .hint("quick match")
        .help(Line("quick match"))
        .online(),
    Binding::new(&[Char('c')], "c", C::OpenCreate)
        .hint("create")
        .help(Then("create"))
        .online(),
    Binding::new(&[Char('j')], "j", C::OpenJoinCode)
        .hint("code")
        .help(Then("join by code"))
        .online(),
];
const LIST_ROOMS: Binding = Binding::new(&[Char('r')], "r", C::ListRooms);
const SHOW_LEADERBOARD: Binding = Binding::new(&[Char('l')], "l", C::ShowLeaderboard)
    .hint("ranks")
    .help(Line("leaderboard"));
const LOGOUT: Binding = Binding::new(&[Char('o')], "o", C::AskLogout)
    .hint("logout")
    .help(Then("log out"));
const SHOW_ROOMS: Binding = Binding::new(&[Char('l'), Esc], "l", C::ShowRooms)
    .hint("rooms")
    .help(Line("back to the rooms"));
const REFRESH_LEADERBOARD: Binding = Binding::new(&[Char('r')], "r", C::RefreshLeaderboard)
    .hint("refresh")
    .help(Then("refresh"));

const START: Binding =
    Binding::new(&[Enter, Char('s')], "Enter", C::Start).help(Line("start (host)"));
const LEAVE: Binding = Binding::new(&[Esc, Char('b')], "Esc", C::Leave)
    .hint("leave")
    .help(Then("leave"));
const ASK_LEAVE: Binding = Binding::new(&[Esc], "Esc", C::AskLeave).hint("leave");

const RESULTS: &[Binding] = &[
    Binding::new(&[Enter, Char('p')], "Enter", C::PlayAgain)
        .hint("play again")
        .help(Line("play again")),
    Binding::new(&[Esc, Char('b')], "Esc", C::Leave)
        .hint("lobby")
        .help(Then("back to lobby")),
    QUIT,
];

const CREATE_FORM: &[Binding] = &[
    Binding::new(&[Enter], "Enter", C::Submit).hint("create"),
    Binding::new(&[Tab, Down], "Tab", C::NextField).hint("next field"),
    Binding::new(&[Esc], "Esc", C::Cancel).hint("cancel"),
    Binding::new(&[BackTab, Up], "Shift-Tab", C::PrevField),
];
const PRIVATE_FIELD: &[Binding] = &[Binding::new(
    &[Char(' '), Left, Right],
    "Space",
    C::TogglePrivate,
)];
const ROUND_FIELD: &[Binding] = &[
    Binding::new(&[Left, Char('-')], "←", C::Shorter),
    Binding::new(&[Right, Char('+'), Char('=')], "→", C::Longer),
];
const JOIN_CODE: &[Binding] = &[
    Binding::new(&[Enter], "Enter", C::Submit).hint("join"),
    Binding::new(&[Esc], "Esc", C::Cancel).hint("cancel"),
];
/// The answers to a yes/no question.
pub const CONFIRM: &[Binding] = &[
    Binding::new(&[Char('y'), Enter], "y", C::Confirm).hint("yes"),
    Binding::new(&[Char('n'), Esc], "n", C::Decline).hint("no"),
];

/// The two keys of each hole, row by row from the top left: the numeric keypad
/// and the `qwe/asd/zxc` block, which both mirror the 3×3 board.
const BOARD_KEYS: [(char, char); HOLES as usize] = [
    ('7', 'q'),
    ('8', 'w'),
    ('9', 'e'),
    ('4', 'a'),
    ('5', 's'),
    ('6', 'd'),
    ('1', 'z'),
    ('2', 'x'),
    ('3', 'c'),
];

/// Each hole's keys as key codes, the capital letter too (caps lock still plays).
/// A static, not a const, so the bindings can borrow it for `'static`.
static HOLE_KEYS: [[KeyCode; 3]; HOLES as usize] = hole_keys();

const fn hole_keys() -> [[KeyCode; 3]; HOLES as usize] {
    let mut out = [[KeyCode::Null; 3]; HOLES as usize];
    let mut i = 0;
    while i < out.len() {
        let (n, l) = BOARD_KEYS[i];
        out[i] = [Char(n), Char(l), Char(l.to_ascii_uppercase())];
        i += 1;
    }
    out
}

/// The two keys shown on a hole, numpad first.
pub fn keys_for_hole(hole: u8) -> (char, char) {
    BOARD_KEYS[usize::from(hole.min(HOLES - 1))]
}

/// The board's keys for the help screen, a line per row of holes.
pub fn board_help() -> Vec<(String, String)> {
    let side = 3;
    BOARD_KEYS
        .chunks(side)
        .zip(["top", "middle", "bottom"])
        .map(|(row, name)| {
            let numpad: Vec<String> = row.iter().map(|(n, _)| n.to_string()).collect();
            let letters: Vec<String> = row.iter().map(|(_, l)| l.to_string()).collect();
            (
                format!("{}  {}", numpad.join(" "), letters.join(" ")),
                format!("whack the {name} row"),
            )
        })
        .collect()
}

/// The keys of the main screen, without the ones every screen has.
fn screen_own(state: &State) -> Vec<Binding> {
    let retrying = matches!(state.conn, Conn::Retrying { .. });
    match &state.screen {
        Screen::Login(LoginPhase::Waiting(_)) => vec![OPEN_BROWSER, NEW_CODE, LOGIN_QUIT],
        Screen::Login(
            LoginPhase::Denied
            | LoginPhase::Expired
            | LoginPhase::ServerDown(_)
            | LoginPhase::Failed(_),
        ) => vec![TRY_AGAIN, LOGIN_QUIT],
        Screen::Login(LoginPhase::Checking | LoginPhase::Requesting) => vec![LOGIN_QUIT],
        Screen::Lobby(lobby) => {
            let mut v = Vec::new();
            match lobby.view {
                LobbyView::Rooms => {
                    // While reconnecting, `r` skips the wait; otherwise it asks for rooms.
                    v.extend(retrying.then_some(RETRY_NOW));
                    v.extend_from_slice(LOBBY_ROOMS);
                    v.extend((!retrying).then_some(LIST_ROOMS));
                    v.extend([SHOW_LEADERBOARD, LOGOUT, QUIT]);
                }
                LobbyView::Leaderboard => {
                    v.push(SHOW_ROOMS);
                    v.push(if retrying {
                        RETRY_NOW
                    } else {
                        REFRESH_LEADERBOARD
                    });
                    v.extend([LOGOUT.unhinted(), QUIT]);
                }
            }
            v
        }
        Screen::Room => {
            let quick = state.room.as_ref().is_some_and(|r| r.quick);
            // As the server rules: only the host starts, a quick match without waiting.
            // Others keep the key, which says who starts.
            let start = match (state.is_host(), quick) {
                (true, true) => START.hint("start now"),
                (true, false) => START.hint("start"),
                (false, _) => START,
            };
            vec![start, LEAVE]
        }
        Screen::Game(_) => {
            let mut v = vec![ASK_LEAVE];
            v.extend(
                (0..HOLES)
                    .map(|hole| Binding::new(&HOLE_KEYS[usize::from(hole)], "", C::Whack(hole))),
            );
            v
        }
        Screen::Results(_) => RESULTS.to_vec(),
    }
}

/// The keys of an open dialog.
fn dialog(modal: &Modal) -> Vec<Binding> {
    match modal {
        Modal::Create(form) => {
            let mut v = CREATE_FORM.to_vec();
            v.extend_from_slice(field(form.focus));
            v
        }
        Modal::JoinCode(_) => JOIN_CODE.to_vec(),
        Modal::ConfirmLeave | Modal::ConfirmLogout => CONFIRM.to_vec(),
    }
}

/// The keys that change a create-form field (text fields take typed text instead).
pub fn field(field: CreateField) -> &'static [Binding] {
    match field {
        CreateField::Private => PRIVATE_FIELD,
        CreateField::Round => ROUND_FIELD,
        CreateField::Name | CreateField::Seed => &[],
    }
}

/// Every key that means something right now, in footer order.
pub fn active(state: &State) -> Vec<Binding> {
    let mut v = vec![QUIT_ANYWHERE];
    if state.help {
        v.push(CLOSE_HELP);
    } else if let Some(modal) = &state.modal {
        v.extend(dialog(modal));
    } else {
        v.extend(screen_own(state));
        v.push(OPEN_HELP);
    }
    v
}

/// The binding `key` triggers now, if any.
pub fn binding_for(state: &State, key: &KeyEvent) -> Option<Binding> {
    active(state).into_iter().find(|b| b.matches(key))
}

/// How the key that does `command` now is written, if one does.
pub fn shown_for(state: &State, command: Command) -> Option<&'static str> {
    active(state)
        .into_iter()
        .find(|b| b.command == command)
        .map(|b| b.shown)
}

/// A key hint in the footer; clicking it presses the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    /// The key it stands for.
    pub key: KeyCode,
    /// How the key is written.
    pub keys: &'static str,
    /// What it does.
    pub label: &'static str,
}

/// The hints for what the player can do right now, most important first; `?`
/// (help) comes last on every screen.
pub fn hints(state: &State) -> Vec<Hint> {
    let online = state.conn == Conn::Online;
    active(state)
        .into_iter()
        .filter(|b| online || !b.needs_server)
        .filter_map(|b| {
            Some(Hint {
                key: *b.keys.first()?,
                keys: b.shown,
                label: b.hint?,
            })
        })
        .collect()
}

/// The help screen's lines for the current screen: (keys, what they do).
pub fn help_lines(state: &State) -> Vec<(String, String)> {
    let mut bindings = screen_own(state);
    bindings.extend([OPEN_HELP, CLOSE_HELP, QUIT_ANYWHERE]);
    let mut lines: Vec<(String, String)> = Vec::new();
    for b in bindings {
        match (b.help, lines.last_mut()) {
            (Help::Hidden, _) => {}
            (Then(text), Some((keys, what))) => {
                keys.push_str("  ");
                keys.push_str(b.shown);
                what.push_str(", ");
                what.push_str(text);
            }
            (Same, Some((keys, _))) => {
                keys.push(' ');
                keys.push_str(b.shown);
            }
            (Line(text) | Then(text), _) => lines.push((b.shown.to_owned(), text.to_owned())),
            (Same, None) => lines.push((b.shown.to_owned(), String::new())),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tui::fixtures::{in_room, lobby, playing, waiting_login};
    use crate::tui::state::{CreateForm, Results};

    fn press(state: &State, c: char) -> Option<Command> {
        binding_for(state, &KeyEvent::from(Char(c))).map(|b| b.command)
    }

    #[test]
    fn both_board_layouts_whack_row_by_row_from_the_top_left() {
        let s = playing();
        let expected: Vec<_> = (0..HOLES).map(|h| Some(C::Whack(h))).collect();
        let numpad: Vec<_> = "789456123".chars().map(|c| press(&s, c)).collect();
        let letters: Vec<_> = "qweasdzxc".chars().map(|c| press(&s, c)).collect();
        assert_eq!(numpad, expected);
        assert_eq!(letters, expected);
        assert_eq!(press(&s, 'Q'), Some(C::Whack(0)), "caps lock still plays");
        assert_eq!(press(&s, '0'), None);
        assert_eq!(press(&s, 'r'), None);
    }

    #[test]
    fn the_labels_on_the_holes_are_the_keys_that_whack_them() {
        let s = playing();
        for hole in 0..HOLES {
            let (n, l) = keys_for_hole(hole);
            assert_eq!(press(&s, n), Some(C::Whack(hole)));
            assert_eq!(press(&s, l), Some(C::Whack(hole)));
        }
    }

    /// A state for every mode the tables know.
    fn every_mode() -> Vec<State> {
        let mut states = vec![
            waiting_login(),
            lobby(),
            in_room("p-alice", false),
            playing(),
        ];
        let mut s = waiting_login();
        s.screen = Screen::Login(LoginPhase::Denied);
        states.push(s);
        let mut s = waiting_login();
        s.screen = Screen::Login(LoginPhase::Checking);
        states.push(s);
        let mut s = lobby();
        s.conn = Conn::Retrying {
            reason: "x".into(),
            retry_at: s.now + 1_000.0,
        };
        states.push(s.clone());
        if let Screen::Lobby(l) = &mut s.screen {
            l.view = LobbyView::Leaderboard;
        }
        states.push(s);
        let mut s = lobby();
        if let Screen::Lobby(l) = &mut s.screen {
            l.view = LobbyView::Leaderboard;
        }
        states.push(s);
        let mut s = in_room("p-alice", false);
        s.screen = Screen::Results(Results {
            ranking: vec![],
            stats_before: None,
        });
        states.push(s);
        for modal in [Modal::JoinCode(String::new()), Modal::ConfirmLeave] {
            let mut s = lobby();
            s.modal = Some(modal);
            states.push(s);
        }
        for focus in [CreateField::Name, CreateField::Private, CreateField::Round] {
            let mut s = lobby();
            s.modal = Some(Modal::Create(CreateForm {
                focus,
                ..CreateForm::default()
            }));
            states.push(s);
        }
        let mut s = lobby();
        s.help = true;
        states.push(s);
        states
    }

    #[test]
    fn no_key_does_two_things_in_one_mode() {
        for s in every_mode() {
            let bindings = active(&s);
            for (i, a) in bindings.iter().enumerate() {
                for b in &bindings[i + 1..] {
                    let shared: Vec<_> = a.keys.iter().filter(|k| b.keys.contains(k)).collect();
                    // Ctrl-C and a plain `c` are different keys.
                    assert!(
                        shared.is_empty() || a.ctrl != b.ctrl,
                        "{:?} and {:?} both take {shared:?} on {:?}",
                        a.command,
                        b.command,
                        s.screen
                    );
                }
            }
        }
    }

    #[test]
    fn every_footer_hint_presses_the_key_it_names() {
        for s in every_mode() {
            for hint in hints(&s) {
                let b = binding_for(&s, &KeyEvent::from(hint.key)).unwrap();
                assert_eq!((b.shown, b.hint), (hint.keys, Some(hint.label)));
            }
        }
    }

    #[test]
    fn the_help_names_each_key_of_the_lobby_once_and_groups_them() {
        let lines = help_lines(&lobby());
        let keys: Vec<&str> = lines.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["↑ ↓  Enter", "m  c  j", "l  o", "?  Esc", "Ctrl-C"]);
        assert_eq!(lines[1].1, "quick match, create, join by code");
    }
}
