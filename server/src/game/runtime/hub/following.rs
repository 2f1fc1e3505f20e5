//! The hub's side of the shared directory: every [`RENEW_EVERY`] this node
//! renews the leases of its rooms and checks its seats in one step, gives up
//! here the seats their players took on another node, and reads the other
//! nodes' rooms for its lobby.

use super::{GameHub, Hub, Registry, leave_room};
use crate::game::runtime::cluster::{Cluster, RENEW_EVERY};
use crate::game::runtime::room_error::RoomError;
use crate::storage::StoreError;
use crate::storage::room_directory::{HeldRoom, HeldSeat};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

/// Renews until the hub is gone or shutting down.
pub(super) async fn follow(hub: Weak<Hub>) {
    let mut every = tokio::time::interval(RENEW_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut failing = false;
    loop {
        every.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        let Some(cluster) = hub.cluster.clone() else {
            return;
        };
        if hub.shutting_down.load(Ordering::Acquire) {
            return;
        }
        match renew(&hub, &cluster).await {
            Ok(()) if failing => {
                tracing::info!("the shared room directory answers again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                tracing::warn!(error = %e, "cannot renew this node's rooms in the shared directory");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

async fn renew(hub: &Arc<Hub>, cluster: &Cluster) -> Result<(), StoreError> {
    let now = crate::clock::now_ms();
    let (rooms, seats) = held(&hub.registry(), cluster.node_url());
    let renewal = cluster
        .directory()
        .renew(now, now + super::lease_ms(), &rooms, &seats)
        .await?;
    for (id, fence) in &renewal.reclaimed {
        hub.set_fence(id, *fence);
    }
    for id in &renewal.refused {
        tracing::warn!(room = %id, "another node's room has this room's join code; it stays unlisted");
    }
    for player_id in renewal.moved {
        if let Some(seat) = seats.iter().find(|s| s.player_id == player_id) {
            let game = GameHub {
                hub: Arc::clone(hub),
            };
            tokio::spawn(seat_taken_elsewhere(game, player_id, seat.generation));
        }
    }
    let live = cluster.directory().live_rooms(now).await?;
    if cluster.update(live) {
        hub.rooms_changed.send_replace(());
    }
    Ok(())
}

/// This node's rooms and the seats it recorded in the directory.
fn held(registry: &Registry, node_url: &str) -> (Vec<HeldRoom>, Vec<HeldSeat>) {
    let rooms = registry
        .rooms
        .values()
        .map(|entry| entry.held(node_url))
        .collect();
    let seats = registry
        .players
        .iter()
        .filter_map(|(player_id, entry)| {
            let seat = entry.seat.as_ref()?;
            (seat.generation != 0).then(|| HeldSeat {
                player_id: player_id.clone(),
                generation: seat.generation,
            })
        })
        .collect();
    (rooms, seats)
}

/// `player_id` sat down on another node: the seat of `generation` here goes,
/// and the socket that played it is told, as when a seat moves between two
/// sockets of one node.
async fn seat_taken_elsewhere(game: GameHub, player_id: String, generation: u64) {
    let turn = game.turn(&player_id).await;
    let seat = {
        let mut registry = game.hub.registry();
        registry
            .players
            .get_mut(&player_id)
            .filter(|p| p.seat.as_ref().is_some_and(|s| s.generation == generation))
            .and_then(|p| p.seat.take())
    };
    if let Some(seat) = seat {
        if let Some(link) = &seat.link {
            link.seat.set(None);
            link.send_msg(&RoomError::SeatMoved.to_msg());
        }
        leave_room(&seat.room, &player_id, None).await;
    }
    drop(turn);
}
