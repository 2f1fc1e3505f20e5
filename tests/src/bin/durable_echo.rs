//! The refresh bench's reference: `POST /oauth/token` appends the request body
//! to a log and answers once that append is on disk (`fdatasync`), group-committed
//! by the server's own [`Durability`], on the server's runtime, and nothing else.
//! What the server's rotations cost beyond this is the cost of being a server.
//!
//! `durable_echo DIR` writes `DIR/echo.log` and prints `listening on ADDR`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use whack_server::storage::sled_store::group_commit::{Durability, Flush};

/// Bodies written since the last flush, appended to the log by the next one.
type Pending = Arc<Mutex<Vec<u8>>>;

struct AppendLog {
    file: std::fs::File,
    pending: Pending,
    writing: Vec<u8>,
}

impl Flush for AppendLog {
    fn flush(&mut self) -> Result<(), String> {
        std::mem::swap(
            &mut self.writing,
            &mut self.pending.lock().unwrap_or_else(PoisonError::into_inner),
        );
        self.file
            .write_all(&self.writing)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| e.to_string())?;
        self.writing.clear();
        Ok(())
    }
}

#[derive(Clone)]
struct Echo {
    pending: Pending,
    durability: Durability,
}

/// A token response of the server's shape and size (an Ed25519 JWT is ~300 bytes).
fn answer() -> String {
    let jwt = "x".repeat(300);
    format!(
        r#"{{"access_token":"{jwt}","token_type":"Bearer","expires_in":300,"refresh_token":"{}"}}"#,
        "r".repeat(43)
    )
}

async fn token(State(echo): State<Echo>, body: Bytes) -> impl IntoResponse {
    echo.pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend_from_slice(&body);
    match echo.durability.flush().await {
        Ok(()) => Ok(([(header::CONTENT_TYPE, "application/json")], answer())),
        Err(e) => Err((axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: durable_echo DIR"))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::path::Path::new(&dir).join("echo.log"))?;
    let pending = Pending::default();
    let durability = Durability::start_with(AppendLog {
        file,
        pending: Arc::clone(&pending),
        writing: Vec::new(),
    });
    let app = axum::Router::new()
        .route("/oauth/token", axum::routing::post(token))
        .with_state(Echo {
            pending,
            durability,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
