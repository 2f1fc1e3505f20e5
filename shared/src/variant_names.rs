//! The variant names of an internally tagged serde enum, taken from serde's own
//! list: the derived deserializer hands it to `unknown_variant` when the tag
//! matches no variant, so feeding it a tag that cannot match reads it out.

use serde::de::value::MapDeserializer;
use serde::de::{Deserialize, Error};
use std::fmt;

/// The error type that keeps the list `unknown_variant` is given.
#[derive(Debug)]
struct Expected(&'static [&'static str]);

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected one of {:?}", self.0)
    }
}

impl std::error::Error for Expected {}

impl Error for Expected {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self(&[])
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        Self(expected)
    }
}

/// The names serde accepts in field `tag` of `T` (empty if `T` is not an
/// internally tagged enum).
pub fn of<T: for<'de> Deserialize<'de>>(tag: &'static str) -> &'static [&'static str] {
    // No variant is named with a NUL byte.
    let entries = [(tag, "\0")].into_iter();
    match T::deserialize(MapDeserializer::<_, Expected>::new(entries)) {
        Ok(_) => &[],
        Err(Expected(names)) => names,
    }
}

#[cfg(test)]
mod tests {
    use crate::protocol::ClientMsg;

    #[test]
    fn every_client_type_is_listed_and_parses() {
        let types = ClientMsg::types();
        assert_eq!(types.len(), 10, "{types:?}");
        for kind in ["hello", "list_rooms", "whack", "reauth", "ping"] {
            assert!(types.contains(&kind), "{kind} missing from {types:?}");
        }
        for kind in types {
            // A bare object of each type is either a message or fails on a
            // field, never on the type.
            let text = format!(r#"{{"type":"{kind}"}}"#);
            if let Err(e) = serde_json::from_str::<ClientMsg>(&text) {
                assert!(!e.to_string().contains("unknown variant"), "{kind}: {e}");
            }
        }
    }
}
