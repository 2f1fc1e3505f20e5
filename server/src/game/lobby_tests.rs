//! The hub and room tasks without sockets: connections are plain queues, so seats,
//! hosts, reconnect grace, quick match and revocation can be checked quickly.

use super::hub::{CreateRoom, GameHub, RoomHandle};
use super::link::{CloseSignal, ConnLink, OUT_QUEUE, Out};
use super::room_error::RoomError;
use super::settings::GameSettings;
use crate::durability::Durability;
use crate::revocation::Revocations;
use crate::stats::Stats;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use whack_shared::protocol::{MAX_PLAYERS, PlayerRef, RoomPhase, RoomView, ServerMsg, close};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Fixture {
    hub: GameHub,
    revocations: Arc<Revocations>,
}

fn fixture(settings: GameSettings) -> Result<Fixture, Box<dyn std::error::Error>> {
    let db = sled::Config::new().temporary(true).open()?;
    let revocations = Arc::new(Revocations::new());
    let hub = GameHub::new(
        settings,
        Stats::open(&db)?,
        Durability::start(db),
        Arc::clone(&revocations),
    );
    Ok(Fixture { hub, revocations })
}

struct Peer {
    player: PlayerRef,
    link: ConnLink,
    rx: mpsc::Receiver<Out>,
}

fn peer(id: u64, name: &str) -> Peer {
    let (tx, rx) = mpsc::channel(OUT_QUEUE);
    Peer {
        player: PlayerRef {
            id: format!("p-{name}"),
            name: name.to_owned(),
        },
        link: ConnLink {
            id,
            tx,
            close: Arc::new(CloseSignal::default()),
        },
        rx,
    }
}

impl Peer {
    async fn next(&mut self) -> ServerMsg {
        let out = tokio::time::timeout(Duration::from_secs(5), self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("{} got nothing", self.player.name));
        match out {
            Some(Out::Text(text)) => {
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
            }
            other => panic!("{} got {other:?}", self.player.name),
        }
    }

    async fn room(&mut self) -> RoomView {
        loop {
            if let ServerMsg::RoomState { room } = self.next().await {
                return room;
            }
        }
    }
}

async fn open(hub: &GameHub, host: &mut Peer) -> Result<(RoomHandle, RoomView), RoomError> {
    let handle = hub
        .create_room(
            CreateRoom::default(),
            host.player.clone(),
            host.link.clone(),
        )
        .await?;
    Ok((handle, host.room().await))
}

#[tokio::test]
async fn seats_hosts_and_closing() -> TestResult {
    let Fixture { hub, .. } = fixture(GameSettings::default())?;
    let mut ann = peer(1, "Ann");
    let (handle, room) = open(&hub, &mut ann).await?;
    assert_eq!(
        (room.host.as_str(), room.state, room.players.len()),
        ("p-Ann", RoomPhase::Waiting, 1)
    );
    assert_eq!(hub.list_rooms().len(), 1);

    let mut others: Vec<Peer> = (2..=MAX_PLAYERS as u64)
        .map(|i| peer(i, &format!("P{i}")))
        .collect();
    for p in &mut others {
        hub.join(Some(&handle.id), None, p.player.clone(), p.link.clone())
            .await?;
        assert_eq!(p.room().await.id, room.id);
    }
    let mut late = peer(99, "Late");
    let full = hub
        .join(
            Some(&handle.id),
            None,
            late.player.clone(),
            late.link.clone(),
        )
        .await;
    assert_eq!(full.err(), Some(RoomError::RoomFull));
    assert!(late.rx.try_recv().is_err(), "a refused join sends nothing");

    // The host leaves: the next in join order hosts, the others are told.
    handle
        .tx
        .send(super::room::RoomCmd::Leave {
            player_id: ann.player.id.clone(),
            conn: Some(ann.link.id),
        })
        .await?;
    let seen = loop {
        let room = others[0].room().await;
        if room.players.iter().all(|p| p.id != ann.player.id) {
            break room;
        }
    };
    assert_eq!(seen.host, others[0].player.id);
    assert_eq!(seen.players.len(), MAX_PLAYERS - 1);
    assert!(hub.seat_of(&ann.player.id).is_none());

    // Everyone leaves: the room closes and leaves the list.
    for p in &others {
        handle
            .tx
            .send(super::room::RoomCmd::Leave {
                player_id: p.player.id.clone(),
                conn: None,
            })
            .await?;
    }
    for _ in 0..50 {
        if hub.list_rooms().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(hub.list_rooms().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_dropped_seat_waits_for_its_player_then_goes() -> TestResult {
    let settings = GameSettings {
        reconnect_grace: Duration::from_millis(300),
        ..GameSettings::default()
    };
    let Fixture { hub, .. } = fixture(settings)?;
    let mut ann = peer(1, "Ann");
    let mut bob = peer(2, "Bob");
    let (handle, _) = open(&hub, &mut ann).await?;
    hub.join(Some(&handle.id), None, bob.player.clone(), bob.link.clone())
        .await?;
    bob.room().await;
    ann.room().await;

    let dropped = |p: &Peer| super::room::RoomCmd::Dropped {
        player_id: p.player.id.clone(),
        conn: p.link.id,
    };
    handle.tx.send(dropped(&bob)).await?;
    let room = ann.room().await;
    assert!(
        room.players
            .iter()
            .any(|p| p.id == bob.player.id && !p.connected)
    );
    // Back in time, on a new connection: the same seat.
    let mut bob2 = peer(3, "Bob");
    let back = hub.seat_of(&bob.player.id).ok_or("seat kept")?;
    hub.join(Some(&back.id), None, bob2.player.clone(), bob2.link.clone())
        .await?;
    assert!(bob2.room().await.players.iter().all(|p| p.connected));
    // A stale drop from the old connection changes nothing.
    handle.tx.send(dropped(&bob)).await?;
    ann.room().await;
    // Dropped for good: the seat goes after the grace.
    handle.tx.send(dropped(&bob2)).await?;
    ann.room().await;
    let gone = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let room = ann.room().await;
            if room.players.len() == 1 {
                return room;
            }
        }
    })
    .await?;
    assert_eq!(gone.players[0].id, ann.player.id);
    assert!(hub.seat_of(&bob.player.id).is_none());
    Ok(())
}

#[tokio::test]
async fn quick_match_fills_one_room_and_starts_it() -> TestResult {
    let settings = GameSettings {
        quick_fill: Duration::from_millis(100),
        countdown_ms: 50,
        ..GameSettings::default()
    };
    let Fixture { hub, .. } = fixture(settings)?;
    let mut ann = peer(1, "Ann");
    let mut bob = peer(2, "Bob");
    let a = hub
        .quick_match(ann.player.clone(), ann.link.clone())
        .await?;
    let b = hub
        .quick_match(bob.player.clone(), bob.link.clone())
        .await?;
    assert_eq!(a.id, b.id);
    for p in [&mut ann, &mut bob] {
        loop {
            if matches!(p.next().await, ServerMsg::Countdown { .. }) {
                break;
            }
        }
    }
    // Started rooms take nobody new; quick match opens another.
    let mut cat = peer(3, "Cat");
    let c = hub
        .quick_match(cat.player.clone(), cat.link.clone())
        .await?;
    assert_ne!(c.id, a.id);
    let refused = hub
        .join(Some(&a.id), None, cat.player.clone(), cat.link.clone())
        .await;
    assert_eq!(refused.err(), Some(RoomError::RoomInGame));
    assert!(cat.room().await.quick);
    Ok(())
}

#[tokio::test]
async fn requests_are_checked() -> TestResult {
    let Fixture { hub, .. } = fixture(GameSettings::default())?;
    let ann = peer(1, "Ann");
    let create =
        |request: CreateRoom| hub.create_room(request, ann.player.clone(), ann.link.clone());
    let too_short = create(CreateRoom {
        round_secs: Some(14),
        ..CreateRoom::default()
    })
    .await;
    assert_eq!(too_short.err(), Some(RoomError::BadRoundSecs));
    let seeded = create(CreateRoom {
        seed: Some(1),
        ..CreateRoom::default()
    })
    .await;
    assert_eq!(seeded.err(), Some(RoomError::SeedNotAllowed));
    let unnamed = create(CreateRoom {
        name: Some(" ".into()),
        ..CreateRoom::default()
    })
    .await;
    assert_eq!(unnamed.err(), Some(RoomError::BadName));
    let private = create(CreateRoom {
        private: true,
        ..CreateRoom::default()
    })
    .await?;
    assert!(hub.list_rooms().is_empty(), "private rooms are not listed");
    let nowhere = hub
        .join(None, Some("BBBBBB"), ann.player.clone(), ann.link.clone())
        .await;
    assert_eq!(nowhere.err(), Some(RoomError::NoSuchRoom));
    assert!(!private.id.is_empty());
    Ok(())
}

#[tokio::test]
async fn revocation_and_shutdown_close_registered_connections() -> TestResult {
    let Fixture { hub, revocations } = fixture(GameSettings::default())?;
    let one = hub.register("sid-1")?;
    let other = hub.register("sid-2")?;
    revocations.revoke("sid-1", 1);
    let code = tokio::time::timeout(Duration::from_secs(1), one.close.raised()).await?;
    assert_eq!(code, close::TOKEN_EXPIRED);
    assert_eq!(other.close.code(), None);
    // A session revoked before it registers is closed at once.
    let late = hub.register("sid-1")?;
    assert_eq!(late.close.code(), Some(close::TOKEN_EXPIRED));
    drop((one, late));

    let shutdown = tokio::spawn({
        let hub = hub.clone();
        async move { hub.shutdown().await }
    });
    let code = tokio::time::timeout(Duration::from_secs(1), other.close.raised()).await?;
    assert_eq!(code, close::GOING_AWAY);
    drop(other);
    tokio::time::timeout(Duration::from_secs(2), shutdown).await??;
    assert!(hub.register("sid-3").is_err(), "no new connections");
    Ok(())
}
