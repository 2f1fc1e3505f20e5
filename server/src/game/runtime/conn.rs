//! One connection's state as its message handlers see it: who plays, the link
//! rooms write to, the token's expiry, and the counters of what it got away with.

use super::conn_limits::{FloodGuard, Strikes};
use super::handles::ConnLink;
use super::hub::{Entered, GameHub};
use super::room_error::RoomError;
use whack_shared::claims::AccessClaims;
use whack_shared::protocol::{CloseCode, ErrorCode, Millis, PlayerRef, ServerMsg};

/// Checks the access token a `reauth` brings (the HTTP layer's verifier, so
/// the game never sees the key or the revocation list).
pub trait TokenCheck: Send + Sync {
    /// The token's claims, or why it is refused (a message for the player).
    fn verify(&self, token: &str) -> Result<AccessClaims, String>;
}

/// One connection's receive side and what it knows about the player.
pub struct Conn {
    /// The game.
    pub hub: GameHub,
    /// Who plays on this connection.
    pub player: PlayerRef,
    /// Its seat, if any, is in `link.seat` (the hub moves it).
    pub link: ConnLink,
    /// When the access token in force expires (Unix ms).
    pub expires_at: Millis,
    /// Verifies `reauth` tokens.
    pub tokens: std::sync::Arc<dyn TokenCheck>,
    /// Malformed frames (and wrong join codes) lately.
    pub strikes: Strikes,
    /// Whacks per second.
    pub flood: FloodGuard,
}

impl Conn {
    /// Sends this connection an `error`.
    pub fn error(&self, code: ErrorCode, message: &str) {
        self.link.send_msg(&ServerMsg::Error {
            code,
            message: message.to_owned(),
        });
    }

    /// Tells this connection why a room request was refused.
    pub fn refused(&self, e: &RoomError) {
        self.link.send_msg(&e.to_msg());
    }

    /// Counts a strike against the connection; closes it (4002) once they
    /// keep coming.
    pub fn strike(&mut self) {
        self.hub.metrics().protocol_errors.inc();
        if self.strikes.offend(self.hub.clock().now()) {
            self.link.close.raise(CloseCode::ProtocolError);
        }
    }

    /// Answers a malformed frame with an `error`, and counts it as a strike.
    pub fn offend(&mut self, code: ErrorCode, message: &str) {
        self.error(code, message);
        self.strike();
    }

    /// Answers a seat request: refused, or sent to another node; a seat taken
    /// here is answered by the room.
    pub fn entered(&self, result: Result<Entered, RoomError>) {
        match result {
            Ok(Entered::Here(_)) => {}
            Ok(Entered::Elsewhere(redirect)) => {
                self.link.send_msg(&redirect.to_msg());
            }
            Err(e) => self.refused(&e),
        }
    }
}
