//! Pictures made of block characters, for the command line and the TUI alike:
//! the sign-in code and the countdown in big letters, and the QR code of the
//! sign-in link.

pub mod big_text;
pub mod qr;

/// The character for two stacked half cells: lit top, lit bottom. Terminal cells
/// are about twice as tall as wide, so two rows of pixels share a cell.
pub fn half_block(top: bool, bottom: bool) -> char {
    match (top, bottom) {
        (true, true) => '█',
        (true, false) => '▀',
        (false, true) => '▄',
        (false, false) => ' ',
    }
}
