//! Time-bounded fuzzing of every decoder of outside input: game frames, form
//! bodies, the page's JSON, user and join codes, and refresh tokens. Each
//! target runs for `WHACK_FUZZ_SECS` seconds (2 by default; CI uses the
//! default, a long run sets it to hours) on inputs that are both random and
//! shaped like the real thing. A panic, or a property that does not hold, fails
//! with the shrunk input.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::time::{Duration, Instant};
use whack_shared::protocol::ClientMsg;

fn fuzz_time() -> Duration {
    let secs = std::env::var("WHACK_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0_f64);
    Duration::from_secs_f64(secs.clamp(0.1, 86_400.0))
}

/// Runs `check` on inputs from `strategy` until the fuzz time is up.
fn fuzz<S: Strategy>(name: &str, strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let deadline = Instant::now() + fuzz_time();
    let (mut batches, batch) = (0u64, 512u32);
    while Instant::now() < deadline {
        // Each batch of each target draws from its own repeatable seed.
        let seed = crate::auth::secrets::hash(&format!("{name}/{batches}"));
        let config = Config {
            cases: batch,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        if let Err(e) = runner.run(&strategy, &check) {
            panic!("fuzz target {name} failed: {e}");
        }
        batches += 1;
    }
    eprintln!(
        "fuzz {name}: {} inputs in {:?}",
        batches * u64::from(batch),
        fuzz_time()
    );
}

/// Text that is sometimes anything and sometimes almost a message of ours.
fn frame() -> impl Strategy<Value = String> {
    let mut types = ClientMsg::types().to_vec();
    types.extend(["watch_room", "", "HELLO"]);
    let types = prop::sample::select(types);
    let keys = prop::sample::select(vec![
        "protocol_version",
        "hole",
        "room_id",
        "code",
        "name",
        "private",
        "round_secs",
        "seed",
        "access_token",
        "t",
        "type",
    ]);
    let values = prop_oneof![
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        any::<bool>().prop_map(|b| b.to_string()),
        ".{0,40}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        Just("[1,2,[3]]".to_owned()),
        Just("{\"a\":{}}".to_owned()),
        Just("1e999".to_owned()),
    ];
    let shaped = (types, prop::collection::vec((keys, values), 0..5)).prop_map(|(t, fields)| {
        let mut out = format!("{{\"type\":\"{t}\"");
        for (k, v) in fields {
            out.push_str(&format!(",\"{k}\":{v}"));
        }
        out.push('}');
        out
    });
    prop_oneof![
        any::<String>(),
        shaped.clone(),
        shaped.prop_map(|s| s.chars().take(s.chars().count() / 2).collect())
    ]
}

#[test]
fn a_pinged_time_comes_back_exactly() {
    // Found by the frame fuzzer: serde_json's default float parsing turned this
    // time into a neighbouring number once re-encoded.
    let text = r#"{"type":"ping","t":-930365980043693248}"#;
    let msg: Result<ClientMsg, _> = serde_json::from_str(text);
    let again = msg
        .as_ref()
        .ok()
        .and_then(|m| serde_json::to_string(m).ok());
    let back: Option<ClientMsg> = again.and_then(|a| serde_json::from_str(&a).ok());
    assert_eq!(back.as_ref(), msg.as_ref().ok());
}

#[test]
fn game_frames_decode_or_get_a_clear_error() {
    fuzz("game_frames", frame(), |text| {
        match serde_json::from_str::<ClientMsg>(&text) {
            Ok(msg) => {
                // Whatever decodes encodes again and decodes to the same message.
                let again =
                    serde_json::to_string(&msg).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back: ClientMsg =
                    serde_json::from_str(&again).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back, msg);
            }
            Err(e) => {
                let (code, message) = crate::game::runtime::classify(&text, &e);
                prop_assert!(!code.as_str().is_empty() && !message.is_empty());
                prop_assert!(
                    code.as_str()
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_')
                );
            }
        }
        Ok(())
    });
}

#[test]
fn form_bodies_decode_or_get_a_clear_error() {
    let pairs = prop::collection::vec(
        (
            prop::sample::select(vec![
                "grant_type",
                "client_id",
                "device_code",
                "refresh_token",
                "token",
                "x",
            ]),
            "[a-z%+=&0-9]{0,12}|.{0,8}",
        ),
        0..6,
    )
    .prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    });
    let bodies = prop_oneof![prop::collection::vec(any::<u8>(), 0..256), pairs];
    fuzz("form_bodies", bodies, |bytes| {
        match crate::http::body::Form::parse(&bytes) {
            Ok(form) => {
                for key in ["grant_type", "client_id", "x"] {
                    if let Some(v) = form.get(key) {
                        prop_assert!(!v.is_empty());
                    }
                }
            }
            Err(e) => prop_assert!(format!("{e:?}").contains("repeated"), "{e:?}"),
        }
        Ok(())
    });
}

#[test]
fn page_json_decodes_or_is_refused() {
    use whack_shared::device_page::{
        CeremonyFinish, DecisionRequest, LookupRequest, RegisterStart, SigninStart,
    };
    let bodies = prop_oneof![
        any::<String>(),
        (
            prop::sample::select(vec![
                "user_code",
                "display_name",
                "ceremony_id",
                "credential",
                "decision",
                "approval"
            ]),
            ".{0,30}",
        )
            .prop_map(|(k, v)| format!(
                "{{\"{k}\":{}}}",
                serde_json::to_string(&v).unwrap_or_default()
            )),
    ];
    fuzz("page_json", bodies, |text| {
        let bytes = text.as_bytes();
        let _ = serde_json::from_slice::<LookupRequest>(bytes);
        let _ = serde_json::from_slice::<SigninStart>(bytes);
        let _ = serde_json::from_slice::<CeremonyFinish>(bytes);
        let _ = serde_json::from_slice::<DecisionRequest>(bytes);
        if let Ok(start) = serde_json::from_slice::<RegisterStart>(bytes)
            && whack_shared::player_name::validate(start.display_name.trim()).is_ok()
        {
            let name = start.display_name.trim();
            prop_assert!((1..=24).contains(&name.chars().count()), "{name:?}");
        }
        Ok(())
    });
}

#[test]
fn user_and_join_codes_normalize_to_the_canonical_form() {
    use whack_shared::user_code::{ALPHABET, LEN, display, normalize};
    let letters: String = ALPHABET.iter().map(|b| char::from(*b)).collect();
    let near = format!("[{letters}{} \\-aeiou0-9]{{0,12}}", letters.to_lowercase());
    let codes = prop_oneof![any::<String>(), near.as_str()];
    fuzz("codes", codes, |typed| {
        if let Some(code) = normalize(&typed) {
            prop_assert_eq!(code.len(), LEN);
            prop_assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            prop_assert_eq!(normalize(&display(&code)), Some(code.clone()));
            prop_assert_eq!(normalize(&typed.to_lowercase()), Some(code));
        }
        Ok(())
    });
}

#[test]
fn refresh_tokens_from_outside_never_rotate_or_revoke() {
    use crate::auth::refresh::{RefreshError, RefreshTokens};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let store = std::sync::Arc::new(crate::storage::MemoryStore::new());
    let rules = RefreshTokens::new(store, 1_000_000);
    let started = runtime.block_on(rules.start_session("p1", "Ann", "cli", None, 0));
    let (sid, _, live) = started.unwrap_or_else(|e| panic!("{e}"));
    let tokens = prop_oneof![
        any::<String>(),
        "whr_[0-9a-f]{32}\\.[0-9]{1,3}\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}",
        "[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}".prop_map(move |tail| format!("whr_{sid}.0.{tail}")),
    ];
    fuzz("refresh_tokens", tokens, |token| {
        let presented = whack_shared::Secret::new(token);
        if presented == live {
            return Ok(());
        }
        let outcome = runtime.block_on(rules.refresh(&presented, None, 1_000));
        prop_assert!(matches!(outcome, Err(RefreshError::Invalid)), "{outcome:?}");
        Ok(())
    });
    let still_live = runtime.block_on(rules.refresh(&live, None, 2_000));
    assert!(still_live.is_ok(), "{still_live:?}");
}
