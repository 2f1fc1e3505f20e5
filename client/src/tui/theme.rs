//! Styles for colour terminals and for `NO_COLOR`. Without colour, meaning is
//! carried by glyphs, text and bold/reverse, never by hue alone.

use ratatui::style::{Color, Modifier, Style};
use whack_shared::protocol::MoleKind;

/// The styles one frame is drawn with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    colour: bool,
}

impl Theme {
    /// A theme that uses colour or not.
    pub fn new(colour: bool) -> Self {
        Self { colour }
    }

    /// Whether colour is used.
    pub fn colour(self) -> bool {
        self.colour
    }

    fn fg(self, c: Color) -> Style {
        if self.colour {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// Titles and the brand.
    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// Secondary text.
    pub fn dim(self) -> Style {
        if self.colour {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    /// Things to notice: codes, timers.
    pub fn accent(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// Good news.
    pub fn good(self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }

    /// Bad news.
    pub fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// The selected row or the player's own row.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    /// The player's own entry in lists.
    pub fn me(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// Key names in hints.
    pub fn key(self) -> Style {
        if self.colour {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    /// Borders.
    pub fn border(self) -> Style {
        self.fg(Color::Gray)
    }

    /// A mole of this kind.
    pub fn mole(self, kind: MoleKind) -> Style {
        match kind {
            MoleKind::Normal => self.fg(Color::LightYellow).add_modifier(Modifier::BOLD),
            MoleKind::Golden => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            MoleKind::Bomb => self.fg(Color::LightRed).add_modifier(Modifier::BOLD),
        }
    }

    /// The QR code: light modules drawn, dark ones left blank, so it reads on dark
    /// terminals; with colour, forced black on white so it reads everywhere.
    pub fn qr(self) -> Style {
        if self.colour {
            Style::new().fg(Color::White).bg(Color::Black)
        } else {
            Style::new()
        }
    }
}
