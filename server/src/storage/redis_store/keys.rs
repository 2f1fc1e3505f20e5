//! Every key the Redis store uses, in one place. The part in braces is the
//! key's hash tag: Redis Cluster puts every key with the same tag in one slot,
//! and each atomic step (one script) touches the keys of one tag only.
//!
//! - `{accounts}`: players, names, passkeys. A sign-up checks a name and a
//!   passkey id and writes both at once, so they share a slot (sign-ups are rare).
//! - `{session:<sid>}`: one session each, so rotations spread over the cluster.
//! - `{sessions}`: the expiry and revocation indexes over all sessions, and
//!   each player's list of sessions.
//! - `{devices}`: device requests and their user codes (short-lived and few).
//! - `{stats}`: per-player stats and the leaderboard's sorted set.
//! - `{feed}`: the revocation stream every node follows.
//! - `{keys}`: the token-signing keys every node shares.
//! - `{rooms}`: the room directory (listings, leases, fences, join codes), each
//!   player's seat and seat tickets: a renewal covers all of one node's rooms
//!   and seats in one step.
//! - `{count:<quota>:<key>}`: one rate-limit window each.
//! - `{legacy}`: refresh tokens from before sessions kept their chain (only ever
//!   written by a migration).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const PREFIX: &str = "whack:";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A player record by id.
pub fn player(id: &str) -> String {
    format!("{PREFIX}{{accounts}}:player:{id}")
}

/// A lower-cased display name, holding the id of the player who has it.
pub fn name(lower: &str) -> String {
    format!("{PREFIX}{{accounts}}:name:{lower}")
}

/// A passkey by credential id.
pub fn credential(cred_id: &[u8]) -> String {
    format!("{PREFIX}{{accounts}}:cred:{}", b64(cred_id))
}

/// A player's recovery codes (hashes), with their account.
pub fn recovery_codes(player_id: &str) -> String {
    format!("{PREFIX}{{accounts}}:recovery:{player_id}")
}

/// The set of a player's passkey keys (to remove them with the player).
pub fn credentials_of(player_id: &str) -> String {
    format!("{PREFIX}{{accounts}}:creds_of:{player_id}")
}

/// A session by id.
pub fn session(sid: &str) -> String {
    format!("{PREFIX}{{session:{sid}}}")
}

/// Sorted set: session id by `expires_at`, for the purge.
pub fn session_expiry() -> String {
    format!("{PREFIX}{{sessions}}:expiry")
}

/// Sorted set: a player's session ids by `expires_at`.
pub fn sessions_of(player_id: &str) -> String {
    format!("{PREFIX}{{sessions}}:of:{player_id}")
}

/// Sorted set: session id by `revoked_at`.
pub fn revocations() -> String {
    format!("{PREFIX}{{sessions}}:revoked")
}

/// A pre-chain refresh token by the hash of its value.
pub fn legacy_token(hash: &[u8]) -> String {
    format!("{PREFIX}{{legacy}}:{}", b64(hash))
}

/// A device request by device-code hash.
pub fn device(hash: &[u8]) -> String {
    format!("{PREFIX}{{devices}}:device:{}", b64(hash))
}

/// A user code, holding the device-code hash it belongs to.
pub fn user_code(code: &str) -> String {
    format!("{PREFIX}{{devices}}:code:{code}")
}

/// Sorted set: device-code hash (base64) by `expires_at`, for the purge.
pub fn device_expiry() -> String {
    format!("{PREFIX}{{devices}}:expiry")
}

/// The prefix of device keys, so the purge script can rebuild them.
pub fn device_prefix() -> String {
    format!("{PREFIX}{{devices}}:device:")
}

/// The prefix of user-code keys.
pub fn user_code_prefix() -> String {
    format!("{PREFIX}{{devices}}:code:")
}

/// Stream: every revocation, in order (`sid`, `at`).
pub fn revocation_feed() -> String {
    format!("{PREFIX}{{feed}}:revocations")
}

/// Hash: key id → stored signing key (JSON).
pub fn signing_keys() -> String {
    format!("{PREFIX}{{keys}}:all")
}

/// The id of the key new tokens are signed with.
pub fn signing_key_id() -> String {
    format!("{PREFIX}{{keys}}:signing")
}

/// Hash: player id → their name at the last round and their stats (JSON).
pub fn stats() -> String {
    format!("{PREFIX}{{stats}}:players")
}

/// Sorted set: player id in leaderboard order.
pub fn board() -> String {
    format!("{PREFIX}{{stats}}:board")
}

/// Hash: room id → listed room (JSON), every node's rooms.
pub fn room_listing() -> String {
    format!("{PREFIX}{{rooms}}:listing")
}

/// Sorted set: room id by the end of its lease (Unix ms).
pub fn room_leases() -> String {
    format!("{PREFIX}{{rooms}}:leases")
}

/// Hash: room id → the fencing number of its lease.
pub fn room_fences() -> String {
    format!("{PREFIX}{{rooms}}:fences")
}

/// The counter fencing numbers are drawn from.
pub fn fence_counter() -> String {
    format!("{PREFIX}{{rooms}}:fence_counter")
}

/// Hash: canonical join code → room id.
pub fn room_codes() -> String {
    format!("{PREFIX}{{rooms}}:codes")
}

/// Hash: room id → its canonical join code.
pub fn code_of_room() -> String {
    format!("{PREFIX}{{rooms}}:code_of")
}

/// Hash: player id → `"<generation> <room id>"`, each player's one seat.
pub fn seats() -> String {
    format!("{PREFIX}{{rooms}}:seats")
}

/// The counter seat generations are drawn from.
pub fn seat_counter() -> String {
    format!("{PREFIX}{{rooms}}:seat_counter")
}

/// A player's seat ticket, `"<hash> <room id>"`, expiring.
pub fn seat_ticket(player_id: &str) -> String {
    format!("{PREFIX}{{rooms}}:ticket:{player_id}")
}

/// Sorted set: the times of one quota key's recent events, under a tag of its
/// own (quota keys are many and hot, so they spread over the cluster).
pub fn count(key: &str) -> String {
    format!("{PREFIX}{{count:{key}}}")
}

/// The base64 form a device hash has inside the expiry index.
pub fn hash_member(hash: &[u8]) -> String {
    b64(hash)
}

/// A pattern matching every Whack key (`migrate`'s is-it-empty check).
pub fn pattern() -> String {
    format!("{PREFIX}*")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash tag of a key: what Redis Cluster hashes.
    fn tag(key: &str) -> &str {
        let open = key.find('{').map_or(0, |i| i + 1);
        let close = key[open..].find('}').map_or(key.len(), |i| open + i);
        &key[open..close]
    }

    #[test]
    fn each_atomic_step_stays_in_one_slot() {
        assert_eq!(tag(&player("p")), tag(&name("ann")));
        assert_eq!(tag(&player("p")), tag(&credential(b"c")));
        assert_eq!(tag(&player("p")), tag(&credentials_of("p")));
        assert_eq!(tag(&player("p")), tag(&recovery_codes("p")));
        assert_eq!(tag(&device(b"h")), tag(&user_code("BCDF")));
        assert_eq!(tag(&device(b"h")), tag(&device_expiry()));
        assert_eq!(tag(&stats()), tag(&board()));
        assert_eq!(tag(&signing_keys()), tag(&signing_key_id()));
        assert_eq!(tag(&session_expiry()), tag(&revocations()));
        assert_eq!(tag(&session_expiry()), tag(&sessions_of("p")));
        for key in [
            room_leases(),
            room_fences(),
            fence_counter(),
            room_codes(),
            code_of_room(),
            seats(),
            seat_counter(),
            seat_ticket("p"),
        ] {
            assert_eq!(tag(&room_listing()), tag(&key));
        }
        assert_ne!(tag(&session("a")), tag(&session("b")), "sessions spread");
        assert!(device(b"h").starts_with(&device_prefix()));
        assert!(user_code("X").starts_with(&user_code_prefix()));
    }
}
