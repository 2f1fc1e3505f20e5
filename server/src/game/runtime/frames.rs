//! Naming what was wrong with a frame that did not parse, without echoing it.

use whack_shared::protocol::{ClientMsg, ErrorCode};

/// The `error` code and message for `text`, which failed to parse as a
/// [`ClientMsg`] with `error`.
pub fn classify(text: &str, error: &serde_json::Error) -> (ErrorCode, String) {
    if error.is_syntax() || error.is_eof() {
        return (ErrorCode::InvalidJson, "frames must be JSON objects".into());
    }
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let known = ClientMsg::types();
    match value.get("type").and_then(|t| t.as_str()) {
        None => (
            ErrorCode::MissingType,
            "a message needs a string \"type\" field".into(),
        ),
        Some(kind) if !known.contains(&kind) => (
            ErrorCode::UnknownType,
            format!("unknown message type; known types: {}", known.join(", ")),
        ),
        Some(kind) => (
            ErrorCode::BadMessage,
            format!("a {kind} message with missing or invalid fields"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(text: &str) -> Option<ErrorCode> {
        match serde_json::from_str::<ClientMsg>(text) {
            Ok(_) => None,
            Err(e) => Some(classify(text, &e).0),
        }
    }

    #[test]
    fn bad_frames_are_named_without_echoing_them() {
        assert_eq!(code_of("{not json"), Some(ErrorCode::InvalidJson));
        assert_eq!(code_of("[1,2]"), Some(ErrorCode::MissingType));
        assert_eq!(code_of(r#"{"type":"dance"}"#), Some(ErrorCode::UnknownType));
        assert_eq!(
            code_of(r#"{"type":"whack","hole":"x"}"#),
            Some(ErrorCode::BadMessage)
        );
        assert_eq!(code_of(r#"{"type":"whack","hole":3}"#), None);
        let text = r#"{"type":"reauth","access_token":5}"#;
        let Err(e) = serde_json::from_str::<ClientMsg>(text) else {
            panic!("parsed");
        };
        assert!(!classify(text, &e).1.contains('5'));
    }

    #[test]
    fn every_known_type_parses() {
        // The list comes from the enum's own deserializer (`ClientMsg::types`),
        // so it cannot miss a variant; here each entry must also be one the
        // socket treats as known.
        assert!(ClientMsg::types().contains(&"whack"));
        for kind in ClientMsg::types() {
            let text = format!(r#"{{"type":"{kind}"}}"#);
            assert_ne!(code_of(&text), Some(ErrorCode::UnknownType), "{kind}");
        }
    }
}
