//! Reads every record in every tree once and decodes it as the code that uses it
//! would, so damage is found at start rather than by the player who hits it.

use crate::storage::{
    CredentialRecord, DeviceRecord, PlayerRecord, RecoveryRecord, RefreshRecord, SessionRecord,
};
use serde::de::DeserializeOwned;
use std::fmt;

/// sled's name for its default tree.
const DEFAULT_TREE: &[u8] = b"__sled__default";

/// Checks one stored value; `Err` says why it is not what its tree holds.
type Decoder = fn(&[u8]) -> Result<(), String>;

fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<T>(bytes)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn utf8(bytes: &[u8]) -> Result<(), String> {
    std::str::from_utf8(bytes)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// An index entry: all in its key.
fn empty(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        Ok(())
    } else {
        Err("an index entry with a value".into())
    }
}

fn not_empty(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        Err("empty value".into())
    } else {
        Ok(())
    }
}

fn default_tree(_: &[u8]) -> Result<(), String> {
    // Only the write sequence lives here; it is checked on its own.
    Ok(())
}

/// Every tree the server writes and how its values decode. A tree added
/// elsewhere without an entry here is still read in full (sled's checksums
/// apply), only not decoded; start-up logs that.
const TREES: &[(&str, Decoder)] = &[
    ("players", json::<PlayerRecord>),
    ("player_names", utf8),
    ("credentials", json::<CredentialRecord>),
    ("player_credentials", empty),
    ("recovery_codes", json::<RecoveryRecord>),
    ("sessions", json::<SessionRecord>),
    ("player_sessions", empty),
    ("refresh_tokens", json::<RefreshRecord>),
    ("device_requests", json::<DeviceRecord>),
    ("user_codes", not_empty),
    ("stats", crate::storage::sled_store::stats::check_record),
    ("leaderboard", utf8),
];

/// How many records each tree holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeCounts {
    /// (tree, records, whether its values were decoded), by tree name.
    trees: Vec<(String, u64, bool)>,
}

impl TreeCounts {
    /// Records in `tree` (0 when it does not exist).
    pub fn get(&self, tree: &str) -> u64 {
        self.trees
            .iter()
            .find(|(name, ..)| name == tree)
            .map_or(0, |(_, n, _)| *n)
    }

    /// Trees whose values nothing here knows how to decode.
    pub fn undecoded(&self) -> impl Iterator<Item = &str> {
        self.trees
            .iter()
            .filter(|(_, _, decoded)| !decoded)
            .map(|(name, ..)| name.as_str())
    }

    /// Whether players have accounts or logins here (so a new signing key would
    /// log them out).
    pub fn holds_logins(&self) -> bool {
        self.get("players") > 0 || self.get("sessions") > 0
    }
}

impl fmt::Display for TreeCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.trees.iter().map(|(n, ..)| n.len()).max().unwrap_or(0);
        for (name, count, decoded) in &self.trees {
            let note = if *decoded {
                ""
            } else {
                "  (read, not decoded)"
            };
            writeln!(f, "  {name:<width$}  {count:>9}{note}")?;
        }
        Ok(())
    }
}

/// A record that could not be read or decoded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// sled could not read the tree (a bad checksum, a missing page…).
    #[error("tree {tree} cannot be read: {source}")]
    Unreadable {
        /// The tree.
        tree: String,
        /// sled's error.
        source: sled::Error,
    },
    /// A value is not what its tree holds. The key is not shown: some keys are
    /// live user codes.
    #[error("record {index} of tree {tree} does not decode: {reason}")]
    Undecodable {
        /// The tree.
        tree: String,
        /// Its position in key order, from 1.
        index: u64,
        /// Why.
        reason: String,
    },
}

/// Reads and decodes every record of every tree in `db`.
pub fn verify(db: &sled::Db) -> Result<TreeCounts, RecordError> {
    let mut trees = Vec::new();
    for raw_name in db.tree_names() {
        let name = if raw_name.as_ref() == DEFAULT_TREE {
            "(default)".to_owned()
        } else {
            String::from_utf8_lossy(&raw_name).into_owned()
        };
        let decoder = if raw_name.as_ref() == DEFAULT_TREE {
            Some(default_tree as Decoder)
        } else {
            TREES.iter().find(|(t, _)| *t == name).map(|(_, d)| *d)
        };
        let unreadable = |source| RecordError::Unreadable {
            tree: name.clone(),
            source,
        };
        let tree = db.open_tree(&raw_name).map_err(unreadable)?;
        let mut count = 0u64;
        for item in tree.iter() {
            let (_, value) = item.map_err(unreadable)?;
            count += 1;
            if let Some(decode) = decoder {
                decode(&value).map_err(|reason| RecordError::Undecodable {
                    tree: name.clone(),
                    index: count,
                    reason,
                })?;
            }
        }
        trees.push((name, count, decoder.is_some()));
    }
    trees.sort();
    Ok(TreeCounts { trees })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Result<sled::Db, sled::Error> {
        sled::Config::new().temporary(true).open()
    }

    #[test]
    fn counts_every_tree() -> Result<(), Box<dyn std::error::Error>> {
        let db = db()?;
        let player = PlayerRecord {
            id: "p1".into(),
            name: "Ann".into(),
            created_at: 1,
        };
        let players = db.open_tree("players")?;
        players.insert("p1", serde_json::to_vec(&player)?)?;
        players.insert("p2", serde_json::to_vec(&player)?)?;
        db.open_tree("player_names")?.insert("ann", "p1")?;
        db.open_tree("something_new")?.insert("k", "anything")?;
        let counts = verify(&db)?;
        assert_eq!(counts.get("players"), 2);
        assert_eq!(counts.get("player_names"), 1);
        assert_eq!(counts.get("sessions"), 0);
        assert!(counts.holds_logins());
        assert_eq!(counts.undecoded().collect::<Vec<_>>(), ["something_new"]);
        let shown = counts.to_string();
        assert!(shown.contains("players") && shown.contains("(read, not decoded)"));
        Ok(())
    }

    #[test]
    fn an_empty_store_holds_no_logins() -> Result<(), Box<dyn std::error::Error>> {
        assert!(!verify(&db()?)?.holds_logins());
        Ok(())
    }

    #[test]
    fn a_record_that_does_not_decode_names_its_tree() -> Result<(), Box<dyn std::error::Error>> {
        let db = db()?;
        let sessions = db.open_tree("sessions")?;
        sessions.insert("a", &br#"{"player_id":"p1"}"#[..])?;
        match verify(&db) {
            Err(RecordError::Undecodable { tree, index, .. }) => {
                assert_eq!((tree.as_str(), index), ("sessions", 1));
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        let names = db.open_tree("player_names")?;
        sessions.clear()?;
        names.insert("ann", &[0xff, 0xfe][..])?;
        let err = verify(&db).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("tree player_names"), "{err}");
        Ok(())
    }
}
