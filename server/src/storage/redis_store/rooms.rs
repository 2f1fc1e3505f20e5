//! The room directory on Redis, all under the `{rooms}` tag so one node's
//! renewal (every room it plays, every seat) is one script on one slot.
//!
//! What one client can make this keep: its rooms are bounded by the node's
//! room limit and leave with their lease; a player has one seat entry and one
//! ticket (which expires) at a time.

use super::{RedisStore, keys, scripts};
use crate::storage::room_directory::{
    HeldRoom, HeldSeat, ListedRoom, Renewal, RoomDirectory, SeatRecord,
};
use crate::storage::{StoreError, decode, encode};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::{Script, ScriptInvocation};

/// Lapsed rooms one renewal drops at most, so a renewal stays short.
const PURGE_LIMIT: usize = 1_000;

/// `script` with the directory's KEYS (the order [`scripts::room_fns`] expects).
fn with_room_keys(script: &Script) -> ScriptInvocation<'_> {
    let mut invocation = script.prepare_invoke();
    for key in [
        keys::room_listing(),
        keys::room_leases(),
        keys::room_fences(),
        keys::fence_counter(),
        keys::room_codes(),
        keys::code_of_room(),
        keys::seats(),
        keys::seat_counter(),
    ] {
        invocation.key(key);
    }
    invocation
}

fn listings(found: Vec<Vec<u8>>) -> Result<Vec<ListedRoom>, StoreError> {
    found
        .iter()
        .map(|json| decode("room listing", json))
        .collect()
}

/// A seat entry, `"<generation> <room id>"`.
fn seat_record(entry: &str) -> Option<SeatRecord> {
    let (generation, room_id) = entry.split_once(' ')?;
    Some(SeatRecord {
        room_id: room_id.to_owned(),
        generation: generation.parse().ok()?,
    })
}

#[async_trait]
impl RoomDirectory for RedisStore {
    async fn claim_room(
        &self,
        room: &ListedRoom,
        code: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<Option<u64>, StoreError> {
        let mut invocation = with_room_keys(&scripts::CLAIM_ROOM);
        invocation
            .arg(&room.summary.id)
            .arg(encode(room)?)
            .arg(until_ms)
            .arg(code)
            .arg(now_ms);
        let fence: u64 = self.script(&invocation).await?;
        Ok((fence != 0).then_some(fence))
    }

    async fn renew(
        &self,
        now_ms: u64,
        until_ms: u64,
        rooms: &[HeldRoom],
        seats: &[HeldSeat],
    ) -> Result<Renewal, StoreError> {
        let mut invocation = with_room_keys(&scripts::RENEW_ROOMS);
        invocation
            .arg(now_ms)
            .arg(until_ms)
            .arg(PURGE_LIMIT)
            .arg(rooms.len());
        for held in rooms {
            invocation
                .arg(&held.room.summary.id)
                .arg(held.fence)
                .arg(encode(&held.room)?)
                .arg(&held.code);
        }
        for seat in seats {
            invocation.arg(&seat.player_id).arg(seat.generation);
        }
        let (reclaimed, refused, moved): (Vec<String>, Vec<String>, Vec<String>) =
            self.script(&invocation).await?;
        let reclaimed = reclaimed
            .chunks_exact(2)
            .filter_map(|pair| Some((pair[0].clone(), pair[1].parse().ok()?)))
            .collect();
        Ok(Renewal {
            reclaimed,
            refused,
            moved,
        })
    }

    async fn release_room(&self, room_id: &str, fence: u64) -> Result<(), StoreError> {
        let mut invocation = with_room_keys(&scripts::RELEASE_ROOM);
        invocation.arg(room_id).arg(fence);
        let _: i64 = self.script(&invocation).await?;
        Ok(())
    }

    async fn live_rooms(&self, now_ms: u64) -> Result<Vec<ListedRoom>, StoreError> {
        let mut invocation = with_room_keys(&scripts::LIVE_ROOMS);
        invocation.arg(now_ms);
        listings(self.script(&invocation).await?)
    }

    async fn room(&self, room_id: &str, now_ms: u64) -> Result<Option<ListedRoom>, StoreError> {
        let mut invocation = with_room_keys(&scripts::LIVE_ROOMS);
        invocation.arg(now_ms).arg(room_id);
        Ok(listings(self.script(&invocation).await?)?.pop())
    }

    async fn room_by_code(
        &self,
        code: &str,
        now_ms: u64,
    ) -> Result<Option<ListedRoom>, StoreError> {
        let id: Option<String> = self
            .run(redis::cmd("HGET").arg(keys::room_codes()).arg(code))
            .await?;
        match id {
            Some(id) => self.room(&id, now_ms).await,
            None => Ok(None),
        }
    }

    async fn take_seat(&self, player_id: &str, room_id: &str) -> Result<u64, StoreError> {
        let mut invocation = with_room_keys(&scripts::TAKE_SEAT);
        invocation.arg(player_id).arg(room_id);
        self.script(&invocation).await
    }

    async fn seat(&self, player_id: &str) -> Result<Option<SeatRecord>, StoreError> {
        let entry: Option<String> = self
            .run(redis::cmd("HGET").arg(keys::seats()).arg(player_id))
            .await?;
        Ok(entry.as_deref().and_then(seat_record))
    }

    async fn give_up_seat(&self, player_id: &str, generation: u64) -> Result<(), StoreError> {
        let mut invocation = with_room_keys(&scripts::GIVE_UP_SEAT);
        invocation.arg(player_id).arg(generation);
        let _: i64 = self.script(&invocation).await?;
        Ok(())
    }

    async fn keep_ticket(
        &self,
        player_id: &str,
        room_id: &str,
        ticket_hash: &[u8],
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let value = format!("{} {room_id}", URL_SAFE_NO_PAD.encode(ticket_hash));
        let _: () = self
            .run(
                redis::cmd("SET")
                    .arg(keys::seat_ticket(player_id))
                    .arg(value)
                    .arg("PX")
                    .arg(ttl_ms.max(1)),
            )
            .await?;
        Ok(())
    }

    async fn redeem_ticket(
        &self,
        player_id: &str,
        ticket_hash: &[u8],
    ) -> Result<Option<String>, StoreError> {
        self.script(
            scripts::REDEEM_TICKET
                .key(keys::seat_ticket(player_id))
                .arg(URL_SAFE_NO_PAD.encode(ticket_hash)),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::redis_store::{DurabilityCheck, test_redis::TestRedis};
    use whack_shared::protocol::{RoomPhase, RoomSummary};

    type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

    #[test]
    fn seat_entries_are_read_back() {
        assert_eq!(
            seat_record("12 room-a"),
            Some(SeatRecord {
                room_id: "room-a".into(),
                generation: 12
            })
        );
        assert_eq!(seat_record("x room"), None);
        assert_eq!(seat_record("12"), None);
    }

    fn listed(id: &str, node: &str, players: u32) -> ListedRoom {
        ListedRoom {
            summary: RoomSummary {
                id: id.into(),
                name: format!("room {id}"),
                players,
                max_players: 8,
                state: RoomPhase::Waiting,
                round_secs: 60,
                code: None,
            },
            node: node.into(),
            private: false,
            quick: true,
            opened_ms: 1,
        }
    }

    fn held(room: ListedRoom, code: &str, fence: u64) -> HeldRoom {
        HeldRoom {
            room,
            code: code.into(),
            fence,
        }
    }

    async fn store(redis: &TestRedis) -> Result<RedisStore, super::super::RedisStartError> {
        RedisStore::connect(&redis.url, DurabilityCheck::Required).await
    }

    /// Leases: claimed with a fence, renewed by the owner, dropped by anyone
    /// once lapsed, claimed again by their owner, released only with their fence.
    async fn leases_fence_and_lapse(directory: &dyn RoomDirectory) -> TestResult {
        let a = listed("ra", "http://a", 1);
        let fence = directory
            .claim_room(&a, "BCDFGHJK", 1_000, 5_000)
            .await?
            .ok_or("claimed")?;
        assert_eq!(directory.live_rooms(4_000).await?, vec![a.clone()]);
        assert_eq!(directory.room("ra", 4_000).await?, Some(a.clone()));
        assert_eq!(
            directory.room_by_code("BCDFGHJK", 4_000).await?,
            Some(a.clone())
        );
        let b = listed("rb", "http://b", 0);
        assert_eq!(
            directory.claim_room(&b, "BCDFGHJK", 1_000, 5_000).await?,
            None,
            "a live room's code is not given to another"
        );
        let b_fence = directory
            .claim_room(&b, "MNPQRSTV", 1_000, 5_000)
            .await?
            .ok_or("claimed")?;
        assert!(b_fence > fence);

        // The owner renews with its fence: the new summary is listed longer.
        let a2 = listed("ra", "http://a", 2);
        let renewal = directory
            .renew(4_000, 9_000, &[held(a2.clone(), "BCDFGHJK", fence)], &[])
            .await?;
        assert_eq!(renewal, Renewal::default());
        assert_eq!(directory.room("ra", 8_000).await?, Some(a2.clone()));
        assert_eq!(directory.room("rb", 8_000).await?, None, "b lapsed at 5 s");

        // Node b's renewal at 9.5 s drops a (lapsed at 9 s) and claims itself again.
        let renewal = directory
            .renew(9_500, 14_000, &[held(b.clone(), "MNPQRSTV", b_fence)], &[])
            .await?;
        assert_eq!(renewal.reclaimed.len(), 1, "{renewal:?}");
        let (id, b_fence2) = renewal.reclaimed[0].clone();
        assert_eq!(id, "rb");
        assert!(b_fence2 > b_fence);
        assert_eq!(directory.live_rooms(9_500).await?, vec![b.clone()]);
        assert_eq!(directory.room_by_code("BCDFGHJK", 9_500).await?, None);

        // A release with a stale fence leaves the listing; the right one removes it.
        directory.release_room("rb", b_fence).await?;
        assert_eq!(directory.room("rb", 9_500).await?, Some(b.clone()));
        directory.release_room("rb", b_fence2).await?;
        assert_eq!(directory.room("rb", 9_500).await?, None);
        assert_eq!(directory.room_by_code("MNPQRSTV", 9_500).await?, None);
        Ok(())
    }

    /// One seat per player: a newer seat anywhere shows as moved to the node
    /// holding the older one; giving up an old seat leaves the new one.
    async fn one_seat_and_one_time_tickets(directory: &dyn RoomDirectory) -> TestResult {
        let on_a = directory.take_seat("p1", "ra").await?;
        assert_eq!(
            directory.seat("p1").await?,
            Some(SeatRecord {
                room_id: "ra".into(),
                generation: on_a
            })
        );
        let seat_a = HeldSeat {
            player_id: "p1".into(),
            generation: on_a,
        };
        let renewal = directory
            .renew(0, 1, &[], std::slice::from_ref(&seat_a))
            .await?;
        assert!(renewal.moved.is_empty());
        let on_b = directory.take_seat("p1", "rb").await?;
        assert!(on_b > on_a);
        let renewal = directory.renew(0, 1, &[], &[seat_a]).await?;
        assert_eq!(renewal.moved, vec!["p1".to_string()]);
        directory.give_up_seat("p1", on_a).await?;
        assert_eq!(
            directory.seat("p1").await?.map(|s| s.generation),
            Some(on_b)
        );
        directory.give_up_seat("p1", on_b).await?;
        assert_eq!(directory.seat("p1").await?, None);

        directory.keep_ticket("p1", "ra", b"first", 30_000).await?;
        directory.keep_ticket("p1", "rb", b"second", 30_000).await?;
        assert_eq!(
            directory.redeem_ticket("p1", b"first").await?,
            None,
            "voided"
        );
        assert_eq!(
            directory.redeem_ticket("p2", b"second").await?,
            None,
            "not p2's"
        );
        assert_eq!(
            directory.redeem_ticket("p1", b"second").await?,
            Some("rb".into())
        );
        assert_eq!(
            directory.redeem_ticket("p1", b"second").await?,
            None,
            "spent"
        );
        directory.keep_ticket("p1", "ra", b"short", 1).await?;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(
            directory.redeem_ticket("p1", b"short").await?,
            None,
            "expired"
        );
        Ok(())
    }

    macro_rules! on {
        ($name:ident, $start:expr) => {
            mod $name {
                use super::*;

                #[tokio::test]
                async fn leases_fence_and_lapse() -> TestResult {
                    let Some(redis) = $start? else { return Ok(()) };
                    super::leases_fence_and_lapse(&store(&redis).await?).await
                }

                #[tokio::test]
                async fn one_seat_and_one_time_tickets() -> TestResult {
                    let Some(redis) = $start? else { return Ok(()) };
                    super::one_seat_and_one_time_tickets(&store(&redis).await?).await
                }
            }
        };
    }

    on!(single, TestRedis::single());
    on!(cluster, TestRedis::cluster());
}
