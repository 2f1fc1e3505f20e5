//! A QR code of the verification URL, drawn with Unicode half blocks (two modules a
//! character cell vertically), for the terminal and the TUI.

use super::half_block;
use qrcode::{Color, EcLevel, QrCode};
use thiserror::Error;

/// Light modules around the code: scanners need a light quiet zone, and a terminal's
/// own background is usually dark. The standard asks for 4; 2 reads fine on screens
/// and keeps the code small enough for an 80×24 terminal.
pub const QUIET_ZONE: usize = 2;

/// The text does not fit in a QR code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot draw a QR code: {0}")]
pub struct QrError(String);

/// The modules of a QR code, quiet zone included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `text` with low error correction (smallest code).
    pub fn new(text: &str) -> Result<Self, QrError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L)
            .map_err(|e| QrError(e.to_string()))?;
        let inner = code.width();
        let width = inner + 2 * QUIET_ZONE;
        let colors = code.to_colors();
        let mut dark = vec![false; width * width];
        for y in 0..inner {
            for x in 0..inner {
                dark[(y + QUIET_ZONE) * width + x + QUIET_ZONE] =
                    colors.get(y * inner + x) == Some(&Color::Dark);
            }
        }
        Ok(Self { width, dark })
    }

    /// Modules per side, quiet zone included.
    pub fn width(&self) -> usize {
        self.width
    }

    /// True for a dark module; anything outside the matrix is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// One string per two module rows. With `ink_is_dark`, `█` marks dark modules
    /// (draw black on white); without it, `█` marks light ones, which reads correctly
    /// on a dark terminal without colours.
    pub fn half_block_lines(&self, ink_is_dark: bool) -> Vec<String> {
        let ink = |x, y| self.is_dark(x, y) == ink_is_dark && (y < self.width);
        (0..self.width)
            .step_by(2)
            .map(|y| {
                (0..self.width)
                    .map(|x| half_block(ink(x, y), ink(x, y + 1)))
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_square_code_with_a_quiet_zone() {
        let m = QrMatrix::new("http://localhost:8080/device?user_code=BCDF-GHJK")
            .unwrap_or_else(|e| panic!("{e}"));
        let lines = m.half_block_lines(true);
        assert_eq!(lines.len(), m.width().div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == m.width()));
        // The quiet zone is light, the finder pattern's corner is dark.
        assert!(!m.is_dark(0, 0) && !m.is_dark(QUIET_ZONE - 1, QUIET_ZONE));
        assert!(m.is_dark(QUIET_ZONE, QUIET_ZONE));
        assert!(lines[0].chars().all(|c| c == ' '));
        // Inverted drawing is the exact complement inside the matrix.
        let inverted = m.half_block_lines(false);
        assert!(inverted[0].chars().all(|c| c == '█'));
    }

    #[test]
    fn light_ink_lights_exactly_the_light_modules_and_nothing_below() {
        let m = QrMatrix::new("http://localhost:8080/device?user_code=BCDF-GHJK")
            .unwrap_or_else(|e| panic!("{e}"));
        let side = m.width();
        let lines = m.half_block_lines(false);
        assert_eq!(lines.len(), side.div_ceil(2));
        for (row, line) in lines.iter().enumerate() {
            let chars: Vec<char> = line.chars().collect();
            assert_eq!(chars.len(), side);
            for (x, c) in chars.into_iter().enumerate() {
                let (top, bottom) = match c {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    _ => (false, false),
                };
                for (y, lit) in [(2 * row, top), (2 * row + 1, bottom)] {
                    if y >= side {
                        assert!(!lit, "nothing below the code");
                        continue;
                    }
                    assert_eq!(lit, !m.is_dark(x, y), "module ({x}, {y})");
                }
            }
        }
        // The three finder patterns' corners are dark.
        let (first, last) = (QUIET_ZONE, side - 1 - QUIET_ZONE);
        assert!(m.is_dark(first, first) && m.is_dark(last, first) && m.is_dark(first, last));
    }
}
