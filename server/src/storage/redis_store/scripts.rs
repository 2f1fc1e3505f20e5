//! The Lua scripts behind every multi-key or compare-and-set step: a script runs
//! atomically on the one Redis (or cluster slot) that holds its keys, which all
//! share one hash tag (see [`super::keys`]). Scripts only touch keys of that tag.

use redis::Script;
use std::sync::LazyLock;

/// KEYS: name, credential, player, credentials-of. ARGV: player id, player JSON,
/// credential JSON. Returns `name` or `cred` when taken, `ok` when created.
pub static CREATE_PLAYER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 'name' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'cred' end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[4], KEYS[2])
return 'ok'
",
    )
});

/// KEYS: player, name, credentials-of, recovery codes. ARGV: player id, and
/// optionally a reservation and when it ends (Unix ms). Removes the player,
/// every passkey listed as theirs and their recovery codes; the name, if it is
/// still theirs, is freed or reserved until then (Redis expires it).
pub static DELETE_PLAYER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[2]) == ARGV[1] then
  if ARGV[2] then
    redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3])
  else
    redis.call('DEL', KEYS[2])
  end
end
for _, cred in ipairs(redis.call('SMEMBERS', KEYS[3])) do redis.call('DEL', cred) end
redis.call('DEL', KEYS[3], KEYS[1], KEYS[4])
return 1
",
    )
});

/// KEYS: credential. ARGV: credential JSON. Replaces it only if it is still
/// there (a passkey removed meanwhile stays removed); returns 1 if replaced.
pub static PUT_CREDENTIAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
",
    )
});

/// KEYS: credential, credentials-of. ARGV: credential JSON. Returns 0 when the
/// credential id is registered already, else stores it and returns 1.
pub static ADD_CREDENTIAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], KEYS[1])
return 1
",
    )
});

/// KEYS: credential, credentials-of. ARGV: '1' to allow removing the last.
/// Returns 'unknown' (not the player's), 'last' (kept) or 'removed'.
pub static REMOVE_CREDENTIAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('SISMEMBER', KEYS[2], KEYS[1]) == 0 then return 'unknown' end
if ARGV[1] ~= '1' and redis.call('SCARD', KEYS[2]) <= 1 then return 'last' end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], KEYS[1])
return 'removed'
",
    )
});

/// KEYS: stats hash, leaderboard. ARGV: player id. Forgets the player's stats.
pub static REMOVE_STATS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
",
    )
});

/// KEYS: a record. ARGV: its value. Creates it only if it is absent; returns
/// 1 when created.
pub static CREATE_IF_ABSENT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
",
    )
});

/// KEYS: the record. ARGV: the bytes it must still hold, its replacement.
/// Returns 1 when replaced, 0 when another change came first or it is gone.
pub static COMPARE_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
",
    )
});

/// KEYS: a session. ARGV: now (Unix ms). Deletes it if it has expired: returns
/// -1 when it was already gone, -2 when it expired now, else its `expires_at`.
pub static PURGE_SESSION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if not v then return -1 end
local expires_at = cjson.decode(v).expires_at
if expires_at < tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return -2
end
return expires_at
",
    )
});

/// KEYS: user code, device, device expiry index. ARGV: the hash's index member,
/// device JSON, `expires_at`. Returns 0 when the user code is in use.
pub static INSERT_DEVICE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
",
    )
});

/// KEYS: device expiry index. ARGV: now, device key prefix, user-code key prefix,
/// how many at most. Removes expired requests and their user codes; returns how many.
pub static PURGE_DEVICES: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
local removed = 0
for _, member in ipairs(due) do
  local key = ARGV[2] .. member
  local v = redis.call('GET', key)
  if v then
    local code = ARGV[3] .. cjson.decode(v).user_code
    if redis.call('GET', code) == member then redis.call('DEL', code) end
    redis.call('DEL', key)
    removed = removed + 1
  end
  redis.call('ZREM', KEYS[1], member)
end
return removed
",
    )
});

/// KEYS: stats hash, leaderboard set. ARGV: n, then per player: id, the value
/// it must still hold (empty when none), the new value, the leaderboard score.
/// Returns 1 when every player was updated, 0 (nothing written) on a conflict.
pub static RECORD_ROUND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  local old = redis.call('HGET', KEYS[1], ARGV[2 + i * 4])
  if (old or '') ~= ARGV[3 + i * 4] then return 0 end
end
for i = 0, n - 1 do
  redis.call('HSET', KEYS[1], ARGV[2 + i * 4], ARGV[4 + i * 4])
  redis.call('ZADD', KEYS[2], ARGV[5 + i * 4], ARGV[2 + i * 4])
end
return 1
",
    )
});

/// KEYS: stats hash, leaderboard set. ARGV: how many. Returns id, stats, id,
/// stats… in leaderboard order, read at one instant.
pub static LEADERBOARD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ids = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, id in ipairs(ids) do
  table.insert(out, id)
  table.insert(out, redis.call('HGET', KEYS[1], id) or '')
end
return out
",
    )
});

/// KEYS: keys hash, signing-key id. ARGV: kid, key JSON. Stores the key as the
/// signing key unless there is one; returns the signing key's id.
pub static FIRST_SIGNING_KEY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = redis.call('GET', KEYS[2])
if current then return current end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return ARGV[1]
",
    )
});

/// KEYS: keys hash, signing-key id. ARGV: kid, key JSON, the previous key's kid
/// and JSON (empty when none), ids of retired keys to delete…
pub static ROTATE_SIGNING_KEY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]) end
for i = 5, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('SET', KEYS[2], ARGV[1])
return 1
",
    )
});

/// The room-directory scripts all take the same KEYS, in this order: listing,
/// leases, fences, fence counter, codes, code-of, seats, seat counter (see
/// [`super::rooms`]). `drop(id)` unlists a room and frees its code if the code
/// is still the room's; `list(id, json, until, code)` claims a fresh lease.
macro_rules! room_fns {
    () => {
        r"
local function drop(id)
  local code = redis.call('HGET', KEYS[6], id)
  if code and redis.call('HGET', KEYS[5], code) == id then redis.call('HDEL', KEYS[5], code) end
  redis.call('HDEL', KEYS[6], id)
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
end
local function code_taken(id, code, now)
  local owner = redis.call('HGET', KEYS[5], code)
  if not owner or owner == id then return false end
  local lease = redis.call('ZSCORE', KEYS[2], owner)
  return lease and tonumber(lease) >= now
end
local function list(id, json, until_ms, code)
  local fence = redis.call('INCR', KEYS[4])
  redis.call('HSET', KEYS[1], id, json)
  redis.call('ZADD', KEYS[2], until_ms, id)
  redis.call('HSET', KEYS[3], id, fence)
  redis.call('HSET', KEYS[5], code, id)
  redis.call('HSET', KEYS[6], id, code)
  return fence
end
"
    };
}

/// ARGV: room id, listing JSON, lease end, code, now. Returns the new fencing
/// number, or 0 when the code belongs to another live room.
pub static CLAIM_ROOM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        room_fns!(),
        r"
if code_taken(ARGV[1], ARGV[4], tonumber(ARGV[5])) then return 0 end
return list(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
"
    ))
});

/// ARGV: now, lease end, purge limit, n, then n × (room id, fence, listing
/// JSON, code), then (player id, seat generation) pairs. Drops lapsed rooms of
/// any node, renews (or claims again) the given ones, checks the seats.
/// Returns {reclaimed (id, fence)…, refused ids, moved player ids}.
pub static RENEW_ROOMS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        room_fns!(),
        r"
local now = tonumber(ARGV[1])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))) do
  drop(id)
end
local reclaimed, refused, moved = {}, {}, {}
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local id, fence, json, code = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  if redis.call('HGET', KEYS[3], id) == fence then
    redis.call('HSET', KEYS[1], id, json)
    redis.call('ZADD', KEYS[2], ARGV[2], id)
  elseif code_taken(id, code, now) then
    table.insert(refused, id)
  else
    table.insert(reclaimed, id)
    table.insert(reclaimed, list(id, json, ARGV[2], code))
  end
end
while i < #ARGV do
  local seat = redis.call('HGET', KEYS[7], ARGV[i])
  if not seat or string.match(seat, '^(%d+) ') ~= ARGV[i + 1] then table.insert(moved, ARGV[i]) end
  i = i + 2
end
return {reclaimed, refused, moved}
"
    ))
});

/// ARGV: room id, fence. Unlists the room if its lease still has that fence.
pub static RELEASE_ROOM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        room_fns!(),
        r"
if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] then drop(ARGV[1]) end
return 1
"
    ))
});

/// ARGV: now, then room ids (none: every room). Returns the listings of the
/// live ones.
pub static LIVE_ROOMS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ids = {}
if #ARGV > 1 then
  for i = 2, #ARGV do
    local lease = redis.call('ZSCORE', KEYS[2], ARGV[i])
    if lease and tonumber(lease) >= tonumber(ARGV[1]) then table.insert(ids, ARGV[i]) end
  end
else
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], '+inf')
end
local out = {}
for _, id in ipairs(ids) do
  local json = redis.call('HGET', KEYS[1], id)
  if json then table.insert(out, json) end
end
return out
",
    )
});

/// ARGV: player id, room id. Returns the seat's new generation.
pub static TAKE_SEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local generation = redis.call('INCR', KEYS[8])
redis.call('HSET', KEYS[7], ARGV[1], generation .. ' ' .. ARGV[2])
return generation
",
    )
});

/// ARGV: player id, generation. Forgets the seat if it is still that one.
pub static GIVE_UP_SEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local seat = redis.call('HGET', KEYS[7], ARGV[1])
if seat and string.match(seat, '^(%d+) ') == ARGV[2] then redis.call('HDEL', KEYS[7], ARGV[1]) end
return 1
",
    )
});

/// KEYS: a player's ticket. ARGV: the ticket's hash (base64). Deletes the
/// ticket and returns its room when the hash matches, else nil (and the
/// ticket stays: a wrong guess does not spend the player's real one).
pub static REDEEM_TICKET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ticket = redis.call('GET', KEYS[1])
if not ticket then return false end
local hash, room = string.match(ticket, '^(%S+) (.+)$')
if hash ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1])
return room
",
    )
});

/// KEYS: one key's event set. ARGV: max, window ms, now, a unique member.
/// Forgets events out of the window, then counts the event and returns {1, 0}
/// when fewer than max remain, else returns {0, the oldest event's time}.
pub static ACQUIRE_COUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now, window = tonumber(ARGV[3]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return {0, tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
",
    )
});
