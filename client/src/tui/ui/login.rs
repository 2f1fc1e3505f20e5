//! The sign-in screen: the code (large), the URL, a QR code and where things stand.

use super::{clock, spinner};
use crate::block_art::big_text;
use crate::block_art::qr::QrMatrix;
use crate::tui::layout::centered;
use crate::tui::state::{LoginPhase, Pending, State};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

/// Draws the login screen in `area`.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, phase: &LoginPhase, theme: Theme) {
    match phase {
        LoginPhase::Waiting(pending) => waiting(frame, area, state, pending, theme),
        LoginPhase::Checking => message(
            frame,
            area,
            theme,
            spinning(state, "Checking for a saved login…"),
            vec![],
        ),
        LoginPhase::Requesting => message(
            frame,
            area,
            theme,
            spinning(
                state,
                &format!("Asking {} for a sign-in code…", state.server),
            ),
            vec![],
        ),
        LoginPhase::Denied => message(
            frame,
            area,
            theme,
            Line::styled("✘ Sign-in denied", theme.bad()),
            vec![
                Line::from("The request was denied in the browser."),
                Line::from("If that was not you, nothing was signed in."),
            ],
        ),
        LoginPhase::Expired => message(
            frame,
            area,
            theme,
            Line::styled("⌛ The code expired", theme.accent()),
            vec![Line::from("Nobody approved it in time.")],
        ),
        LoginPhase::ServerDown(detail) => message(
            frame,
            area,
            theme,
            Line::styled("✘ Cannot reach the server", theme.bad()),
            // The detail names the server and what to check; the footer has the keys.
            vec![
                Line::from(detail.clone()),
                Line::styled("(--server / WHACK_SERVER)", theme.dim()),
            ],
        ),
        LoginPhase::Failed(detail) => message(
            frame,
            area,
            theme,
            Line::styled("✘ Sign-in failed", theme.bad()),
            vec![Line::from(detail.clone())],
        ),
    }
}

fn spinning<'a>(state: &State, text: &str) -> Line<'a> {
    Line::from(format!("{} {text}", spinner(state.now)))
}

/// A titled box in the middle of the screen.
fn message(frame: &mut Frame<'_>, area: Rect, theme: Theme, title: Line<'_>, body: Vec<Line<'_>>) {
    const W: u16 = 70;
    let mut lines = vec![title, Line::default()];
    lines.extend(body);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border())
        .title(Line::styled(" Sign in ", theme.title()));
    let paragraph = Paragraph::new(lines)
        .block(block)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true });
    // As tall as the wrapped text (inside the borders): an error's fix is often
    // its last words.
    let inner = W.min(area.width).saturating_sub(2);
    let h = u16::try_from(paragraph.line_count(inner)).unwrap_or(u16::MAX);
    frame.render_widget(paragraph, centered(area, W, h));
}

/// Columns the instructions want (the big code is 53 wide).
const TEXT_W: u16 = 58;
/// Fewest columns the instructions need next to a QR code.
const MIN_TEXT_W: u16 = 44;
/// Rows the instructions take.
const TEXT_H: u16 = 17;

/// Rows and columns of the QR code drawn with half blocks, quiet zone included.
fn qr_size(qr: &QrMatrix) -> (u16, u16) {
    let side = u16::try_from(qr.width()).unwrap_or(u16::MAX);
    (side, side.div_ceil(2))
}

fn waiting(frame: &mut Frame<'_>, area: Rect, state: &State, p: &Pending, theme: Theme) {
    let (qr_w, qr_h) = p.qr.as_ref().map_or((0, 0), qr_size);
    let show_qr = p.qr.is_some() && area.width >= qr_w + 2 + MIN_TEXT_W && area.height > qr_h;
    let qr_cols = if show_qr { qr_w + 2 } else { 0 };
    let text_w = TEXT_W.min(area.width.saturating_sub(qr_cols));
    let content = centered(area, text_w + qr_cols, TEXT_H.max(qr_h + 1));
    let [inner, qr_area] =
        Layout::horizontal([Constraint::Length(text_w), Constraint::Length(qr_cols)])
            .areas(content);
    let inner = inner.inner(ratatui::layout::Margin::new(1, 0));
    let big = inner.width as usize >= big_text::width(&p.user_code);

    let mut lines = vec![
        Line::styled("Sign in to play", theme.title()),
        Line::default(),
        Line::from(vec![
            Span::raw("1. Open  "),
            Span::styled(p.uri.clone(), theme.accent()),
        ]),
    ];
    lines.push(match p.browser {
        Some(true) => Line::styled("   (your browser should have opened it)", theme.dim()),
        Some(false) => Line::styled(
            "   (could not open a browser — open the link yourself)",
            theme.dim(),
        ),
        None => Line::styled("   (opening your browser…)", theme.dim()),
    });
    // The bare page asks for the code; the link the browser opened has it filled in.
    lines.push(Line::from("2. Enter this code there if it asks:"));
    if big {
        lines.push(Line::default());
        for row in big_text::half_rows(&p.user_code) {
            lines.push(Line::styled(row, theme.accent()));
        }
        // The plain letters too, for screen readers and copy-paste.
        lines.push(Line::styled(format!("{:>31}", p.user_code), theme.dim()));
    } else {
        let spaced: String = p.user_code.chars().flat_map(|c| [c, ' ']).collect();
        let inner_w = spaced.trim_end().chars().count() + 4;
        lines.push(Line::styled(
            format!("   ┏{}┓", "━".repeat(inner_w)),
            theme.accent(),
        ));
        lines.push(Line::styled(format!("   ┃  {} ┃", spaced), theme.accent()));
        lines.push(Line::styled(
            format!("   ┗{}┛", "━".repeat(inner_w)),
            theme.accent(),
        ));
    }
    lines.push(Line::from("3. Approve there with your passkey."));
    // The full link as text too, not only inside the QR code: to copy or click.
    lines.push(Line::styled("Link with the code filled in:", theme.dim()));
    lines.push(Line::styled(p.uri_complete.clone(), theme.accent()));
    lines.push(Line::default());
    let left = (p.expires_at - state.now).max(0.0);
    lines.push(Line::from(vec![
        Span::styled(format!("{} ", spinner(state.now)), theme.accent()),
        Span::raw("Waiting for approval  "),
        Span::styled(format!("(expires in {})", clock(left)), theme.dim()),
    ]));
    if !show_qr && p.qr.is_some() {
        lines.push(Line::styled(
            "(enlarge the terminal to see a QR code)",
            theme.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);

    if let (true, Some(qr)) = (show_qr, &p.qr) {
        let rect = centered(qr_area, qr_w, qr_h + 1);
        let caption = Rect::new(rect.x, rect.y + qr_h, rect.width, 1);
        frame.render_widget(
            Paragraph::new(qr_lines(qr)).style(theme.qr()),
            Rect {
                height: qr_h,
                ..rect
            },
        );
        frame.render_widget(
            Paragraph::new(Line::styled("scan to sign in", theme.dim()))
                .alignment(Alignment::Center),
            caption,
        );
    }
}

/// The QR code as half-block text: light modules lit, so it reads on dark screens.
fn qr_lines(qr: &QrMatrix) -> Vec<Line<'static>> {
    qr.half_block_lines(false)
        .into_iter()
        .map(Line::from)
        .collect()
}
