//! The rooms and seats of every node, for servers that share a store: which
//! node plays each room (a lease it renews, with a fencing number), the rooms'
//! summaries for every lobby, join codes, each player's one seat, and the
//! one-time tickets that let a redirected player into a room on another node.
//!
//! Only a shared store (Redis) has a directory; one node alone keeps all of
//! this in memory (the hub).

use super::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use whack_shared::protocol::RoomSummary;

/// A room as every node lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedRoom {
    /// What a lobby shows (the code only for public rooms).
    pub summary: RoomSummary,
    /// The base URL of the node that plays it (its `--node-url`).
    pub node: String,
    /// Joined by code only.
    pub private: bool,
    /// A quick-match room.
    pub quick: bool,
    /// When it opened (Unix ms), to list rooms oldest first.
    pub opened_ms: u64,
}

/// One of this node's rooms, as a renewal sends it.
#[derive(Debug, Clone)]
pub struct HeldRoom {
    /// The listing (its summary as of now).
    pub room: ListedRoom,
    /// The canonical join code.
    pub code: String,
    /// The fencing number its lease was claimed with; 0 when it has none yet.
    pub fence: u64,
}

/// A seat this node plays: the player and the generation it was taken with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldSeat {
    /// The player.
    pub player_id: String,
    /// The generation [`RoomDirectory::take_seat`] returned.
    pub generation: u64,
}

/// What a renewal found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Renewal {
    /// Rooms whose lease had lapsed (or never was), listed again: room id and
    /// the new fencing number.
    pub reclaimed: Vec<(String, u64)>,
    /// Rooms that could not be listed again (their join code went to another
    /// room meanwhile): closed to new players from other nodes.
    pub refused: Vec<String>,
    /// Players whose seat has since been taken somewhere else.
    pub moved: Vec<String>,
}

/// A player's seat as the directory has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatRecord {
    /// The room.
    pub room_id: String,
    /// Bumped by every seat the player takes anywhere.
    pub generation: u64,
}

/// The rooms and seats of every node (see the module docs).
#[async_trait]
pub trait RoomDirectory: Send + Sync {
    /// Lists `room` under join `code` from `now_ms` until `until_ms`; returns
    /// its fencing number, or `None` when the code belongs to another live room.
    async fn claim_room(
        &self,
        room: &ListedRoom,
        code: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<Option<u64>, StoreError>;
    /// Renews the leases of `rooms` until `until_ms` with their summaries (one
    /// whose fence no longer matches is claimed again), drops the rooms of any
    /// node whose lease ended before `now_ms`, and reports which of `seats`
    /// have moved on.
    async fn renew(
        &self,
        now_ms: u64,
        until_ms: u64,
        rooms: &[HeldRoom],
        seats: &[HeldSeat],
    ) -> Result<Renewal, StoreError>;
    /// Unlists a room, if its lease still carries `fence`.
    async fn release_room(&self, room_id: &str, fence: u64) -> Result<(), StoreError>;
    /// Every room whose lease runs past `now_ms`, any node's.
    async fn live_rooms(&self, now_ms: u64) -> Result<Vec<ListedRoom>, StoreError>;
    /// A live room by id.
    async fn room(&self, room_id: &str, now_ms: u64) -> Result<Option<ListedRoom>, StoreError>;
    /// A live room by canonical join code.
    async fn room_by_code(&self, code: &str, now_ms: u64)
    -> Result<Option<ListedRoom>, StoreError>;
    /// Records that `player_id` now sits in `room_id`; returns the seat's generation.
    async fn take_seat(&self, player_id: &str, room_id: &str) -> Result<u64, StoreError>;
    /// Where `player_id` sits, if anywhere.
    async fn seat(&self, player_id: &str) -> Result<Option<SeatRecord>, StoreError>;
    /// Forgets `player_id`'s seat if it is still the one of `generation`.
    async fn give_up_seat(&self, player_id: &str, generation: u64) -> Result<(), StoreError>;
    /// Keeps a one-time ticket (by its hash) for `player_id` into `room_id`,
    /// good for `ttl_ms`; a player holds one at a time (a new one voids the last).
    async fn keep_ticket(
        &self,
        player_id: &str,
        room_id: &str,
        ticket_hash: &[u8],
        ttl_ms: u64,
    ) -> Result<(), StoreError>;
    /// Spends `player_id`'s ticket if its hash is `ticket_hash` and it is
    /// unexpired: the room it lets them into.
    async fn redeem_ticket(
        &self,
        player_id: &str,
        ticket_hash: &[u8],
    ) -> Result<Option<String>, StoreError>;
}
