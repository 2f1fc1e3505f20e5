//! This node's part in a server of several nodes on one shared store: the
//! directory every node reads (each node lists the rooms it plays under a
//! lease it renews every [`RENEW_EVERY`]), the other nodes' rooms as of the
//! last renewal, and the one-time seat tickets that send a player to the node
//! playing the room they asked for.
//!
//! A room never moves: it lives and ends on the node that opened it. A node
//! that dies takes its rooms with it, and they leave every lobby once their
//! lease runs out ([`LEASE`]).

use crate::auth::secrets;
use crate::storage::StoreError;
use crate::storage::room_directory::{ListedRoom, RoomDirectory};
use crate::storage::shared_counts::SharedCounts;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use whack_shared::Secret;
use whack_shared::protocol::{SEAT_TICKET_SECS, ServerMsg};
use whack_shared::user_code;

/// How often a node renews its leases, checks its seats and reads the other
/// nodes' rooms.
pub const RENEW_EVERY: Duration = Duration::from_secs(1);
/// How long a lease lasts unrenewed: a dead node's rooms leave every lobby at
/// most this long after its last renewal (plus one renewal of the reader).
pub const LEASE: Duration = Duration::from_secs(3);

/// Where to send a player for a room another node plays.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The node's base URL.
    pub url: String,
    /// The room.
    pub room_id: String,
    /// The seat ticket.
    pub ticket: Secret,
}

impl Redirect {
    /// The `redirect` message.
    pub fn to_msg(&self) -> ServerMsg {
        ServerMsg::Redirect {
            url: self.url.clone(),
            room_id: self.room_id.clone(),
            ticket: self.ticket.clone(),
        }
    }
}

/// This node's view of the store it shares with the other nodes: the room
/// directory, and the counts behind the game's quotas.
pub struct Cluster {
    directory: Arc<dyn RoomDirectory>,
    counts: Arc<dyn SharedCounts>,
    node_url: String,
    /// The other nodes' live rooms, as of the last renewal.
    elsewhere: Mutex<Arc<[ListedRoom]>>,
}

impl Cluster {
    /// This node, known to the others as `node_url`, on `directory` and `counts`.
    pub fn new(
        directory: Arc<dyn RoomDirectory>,
        counts: Arc<dyn SharedCounts>,
        node_url: String,
    ) -> Self {
        Self {
            directory,
            counts,
            node_url,
            elsewhere: Mutex::new(Arc::from(Vec::new())),
        }
    }

    /// The shared directory.
    pub fn directory(&self) -> &dyn RoomDirectory {
        self.directory.as_ref()
    }

    /// The counts the game's quotas share with the other nodes.
    pub fn counts(&self) -> &Arc<dyn SharedCounts> {
        &self.counts
    }

    /// This node's base URL.
    pub fn node_url(&self) -> &str {
        &self.node_url
    }

    /// The other nodes' live rooms.
    pub fn elsewhere(&self) -> Arc<[ListedRoom]> {
        Arc::clone(&self.lock())
    }

    /// Takes in a fresh read of the directory; true when the other nodes'
    /// rooms changed.
    pub fn update(&self, live: Vec<ListedRoom>) -> bool {
        let mut others: Vec<ListedRoom> = live
            .into_iter()
            .filter(|room| room.node != self.node_url)
            .collect();
        others.sort_by(|a, b| (a.opened_ms, &a.summary.id).cmp(&(b.opened_ms, &b.summary.id)));
        let mut current = self.lock();
        if **current == *others {
            return false;
        }
        *current = Arc::from(others);
        true
    }

    /// A room another node plays, by id (public, or where the player's own
    /// seat is) or by join code. This node's own listings do not count: its
    /// registry knows its rooms, so one listed here but not there is stale.
    pub async fn find(
        &self,
        room_id: Option<&str>,
        code: Option<&str>,
        player_id: &str,
        now_ms: u64,
    ) -> Result<Option<ListedRoom>, StoreError> {
        let found = match (room_id, code) {
            (Some(id), _) => match self.directory.room(id, now_ms).await? {
                Some(room) if room.private => {
                    let seat = self.directory.seat(player_id).await?;
                    seat.filter(|s| s.room_id == id).map(|_| room)
                }
                other => other,
            },
            (None, Some(code)) => match user_code::normalize(code) {
                Some(code) => self.directory.room_by_code(&code, now_ms).await?,
                None => None,
            },
            (None, None) => None,
        };
        Ok(found.filter(|room| room.node != self.node_url))
    }

    /// Sends `player_id` to `room`'s node with a fresh ticket.
    pub async fn redirect(
        &self,
        player_id: &str,
        room: &ListedRoom,
    ) -> Result<Redirect, StoreError> {
        let ticket = secrets::generate("st_");
        let ttl_ms = SEAT_TICKET_SECS * 1000;
        self.directory
            .keep_ticket(
                player_id,
                &room.summary.id,
                &secrets::hash(ticket.expose()),
                ttl_ms,
            )
            .await?;
        Ok(Redirect {
            url: room.node.clone(),
            room_id: room.summary.id.clone(),
            ticket,
        })
    }

    /// Spends `player_id`'s seat ticket: the room it lets them into.
    pub async fn redeem(
        &self,
        player_id: &str,
        ticket: &str,
    ) -> Result<Option<String>, StoreError> {
        self.directory
            .redeem_ticket(player_id, &secrets::hash(ticket))
            .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Arc<[ListedRoom]>> {
        // A snapshot swapped whole: nothing a panic could leave half-done.
        self.elsewhere
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
