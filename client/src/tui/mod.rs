//! The terminal game: login screen, lobby, board and results.
