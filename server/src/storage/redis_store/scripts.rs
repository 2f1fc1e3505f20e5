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

/// KEYS: player, name, credentials-of. ARGV: player id. Removes the player, the
/// name if it is still theirs, and every passkey listed as theirs.
pub static DELETE_PLAYER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
for _, cred in ipairs(redis.call('SMEMBERS', KEYS[3])) do redis.call('DEL', cred) end
redis.call('DEL', KEYS[3], KEYS[1])
return 1
",
    )
});

/// KEYS: credential, credentials-of. ARGV: credential JSON.
pub static PUT_CREDENTIAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], KEYS[1])
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
