//! The runtime around the pure core: owns the terminal, turns input, network,
//! login progress and timers into actions on one channel, runs `update`, carries
//! out the effects, and redraws only after something happened.

use crate::auth::{AuthError, Http, HttpError, ServerUrl, Storage, StorageError, TokenManager};
use crate::tui::action::{Action, LoginEvent, NetEvent};
use crate::tui::effect::Effect;
use crate::tui::net::NetHandle;
use crate::tui::state::State;
use crate::tui::terminal::TerminalGuard;
use crate::tui::{login_tasks, ui, update::update};
use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use std::time::{Duration, SystemTime};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What the game needs to start.
#[derive(Debug, Clone)]
pub struct TuiConfig {
    /// The server to play on.
    pub server: ServerUrl,
    /// Keep the refresh token in a plain file instead of the OS keyring.
    pub insecure_storage: bool,
    /// A room to join as soon as the game is connected (`whack join CODE`).
    pub join_code: Option<String>,
}

/// How the game ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The player quit once logged in.
    Quit,
    /// The player quit before any login worked (waiting, denied, expired, failed):
    /// a failure, like a cancelled `whack login`.
    NotLoggedIn,
}

/// Why the game could not run.
#[derive(Debug, Error)]
pub enum TuiError {
    /// The token storage (keyring) is unusable; the message names the fix.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The terminal could not be set up or drawn on.
    #[error("terminal error: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Local wall-clock time in epoch milliseconds: the only clock the TUI reads.
pub fn now_ms() -> f64 {
    SystemTime::UNIX_EPOCH
        .elapsed()
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Whether colours may be used: not when `NO_COLOR` is set to anything non-empty.
pub fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Runs the game until the player quits. The terminal is restored on every exit path.
pub async fn run(config: TuiConfig) -> Result<Outcome, TuiError> {
    // The keyring is checked before anything else, while errors still print plainly.
    let storage = Storage::open(&config.server, config.insecure_storage).await?;
    let http = Http::new()?;
    let tokens = TokenManager::new(config.server.clone(), storage, http);
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    let (tx, rx) = mpsc::unbounded_channel();
    let input = tokio::spawn(read_input(tx.clone()));
    let signals = tokio::spawn(interrupts(tx.clone()));
    let mut state = State::new(
        config.server.as_str(),
        colour_allowed(),
        (size.width, size.height),
        now_ms(),
    );
    if tokens.storage().is_insecure() {
        state.insecure_storage = Some(tokens.storage().describe());
    }
    state.join_code.clone_from(&config.join_code);
    let mut runtime = Runtime {
        tx,
        tokens,
        net: None,
        login: None,
        config,
    };
    let result = runtime.main_loop(&mut guard, state, rx).await;
    input.abort();
    signals.abort();
    drop(guard);
    result
}

struct Runtime {
    tx: mpsc::UnboundedSender<Action>,
    tokens: TokenManager,
    net: Option<NetHandle>,
    login: Option<JoinHandle<()>>,
    config: TuiConfig,
}

impl Runtime {
    async fn main_loop(
        &mut self,
        guard: &mut TerminalGuard,
        mut state: State,
        mut rx: mpsc::UnboundedReceiver<Action>,
    ) -> Result<Outcome, TuiError> {
        self.perform(Effect::CheckLogin, &state);
        guard.terminal.draw(|f| ui::draw(f, &state))?;
        loop {
            let action = match state.next_wakeup() {
                Some(at) => {
                    let wait = Duration::from_secs_f64(((at - now_ms()) / 1000.0).clamp(0.0, 60.0));
                    tokio::select! {
                        a = rx.recv() => a,
                        () = tokio::time::sleep(wait) => Some(Action::Tick),
                    }
                }
                None => rx.recv().await,
            };
            let Some(action) = action else {
                return Ok(Outcome::Quit);
            };
            let mut batch = vec![action];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let before = state.clone();
            let mut redraw = false;
            for action in batch {
                match action {
                    Action::Resize(..) => redraw = true,
                    Action::Tick => redraw |= state.animates(),
                    _ => {}
                }
                for effect in update(&mut state, now_ms(), action) {
                    self.perform(effect, &state);
                }
            }
            if state.quit {
                return Ok(if state.login_unfinished() {
                    Outcome::NotLoggedIn
                } else {
                    Outcome::Quit
                });
            }
            // Only when something visible changed; ratatui then writes only the
            // cells that differ from the previous frame.
            if redraw || state.looks_different(&before) {
                guard.terminal.draw(|f| ui::draw(f, &state))?;
            }
        }
    }

    fn perform(&mut self, effect: Effect, state: &State) {
        match effect {
            Effect::Send(msg) => {
                if let Some(net) = &self.net {
                    net.send(msg);
                }
            }
            Effect::CheckLogin => self.restart_login(login_tasks::check_then_login(
                self.tokens.clone(),
                self.tx.clone(),
            )),
            Effect::StartLogin => self.restart_login(login_tasks::device_login(
                self.tokens.clone(),
                self.tx.clone(),
            )),
            Effect::OpenBrowser(url) => {
                let opened = login_tasks::open_browser(&url);
                let _ = self
                    .tx
                    .send(Action::Login(LoginEvent::BrowserOpened(opened)));
            }
            Effect::Connect => {
                if self.net.is_none() {
                    let server = self.config.server.clone();
                    self.net = Some(NetHandle::spawn(
                        server,
                        self.tokens.clone(),
                        self.tx.clone(),
                    ));
                }
            }
            Effect::ReconnectNow => {
                if let Some(net) = &self.net {
                    net.reconnect_now();
                }
            }
            Effect::FetchMe => {
                let (tokens, tx) = (self.tokens.clone(), self.tx.clone());
                tokio::spawn(async move {
                    let action = match crate::auth::api::me(&tokens).await {
                        Ok(me) => Action::Me(me),
                        Err(e) => http_failure(e, "could not load your stats"),
                    };
                    let _ = tx.send(action);
                });
            }
            Effect::FetchLeaderboard => {
                let (tokens, tx) = (self.tokens.clone(), self.tx.clone());
                tokio::spawn(async move {
                    let action = match crate::auth::api::leaderboard(&tokens).await {
                        Ok(board) => Action::Leaderboard(board),
                        Err(e) => http_failure(e, "could not load the leaderboard"),
                    };
                    let _ = tx.send(action);
                });
            }
            Effect::Logout => {
                self.net = None;
                let tokens = self.tokens.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    if let Err(e) = tokens.logout().await {
                        let _ = tx.send(Action::HttpFailed(format!("logout: {e}")));
                    }
                });
            }
            Effect::Quit => {}
        }
        if matches!(state.conn, crate::tui::state::Conn::Offline) && self.net.is_some() {
            // Back at the login screen: the old connection has no login behind it.
            self.net = None;
        }
    }

    fn restart_login(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Some(old) = self.login.take() {
            old.abort();
        }
        self.login = Some(tokio::spawn(task));
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(task) = self.login.take() {
            task.abort();
        }
    }
}

fn http_failure(e: AuthError, what: &str) -> Action {
    match e {
        AuthError::LoggedOut { .. } | AuthError::NotLoggedIn { .. } => {
            Action::Net(NetEvent::AuthLost)
        }
        other => Action::HttpFailed(format!("{what}: {other}")),
    }
}

/// Keys, mouse and resizes from the terminal.
async fn read_input(tx: mpsc::UnboundedSender<Action>) {
    let mut events = EventStream::new();
    while let Some(event) = events.next().await {
        let action = match event {
            Ok(Event::Key(key)) => Action::Key(key),
            Ok(Event::Mouse(mouse)) => Action::Mouse(mouse),
            Ok(Event::Resize(cols, rows)) => Action::Resize(cols, rows),
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "terminal input failed");
                let _ = tx.send(Action::Interrupt);
                return;
            }
        };
        if tx.send(action).is_err() {
            return;
        }
    }
}

/// SIGINT/SIGTERM (e.g. `kill`, or Ctrl-C when raw mode is off) quit cleanly.
async fn interrupts(tx: mpsc::UnboundedSender<Action>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    let _ = tx.send(Action::Interrupt);
}
