//! Logs: `RUST_LOG` decides for our own crates, while every dependency is held
//! at `info` or above whatever it says. At `debug` and `trace` hyper,
//! tungstenite, sled and webauthn-rs print headers, frames, keys and
//! ceremonies, which carry tokens and codes.

use tracing::Metadata;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, FilterFn};
use tracing_subscriber::layer::{Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Whether an event may pass at all: ours at any level, others' at info and above.
fn dependency_cap(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("whack") || *meta.level() <= tracing::Level::INFO
}

/// `RUST_LOG` (default `info`) with the dependency cap.
pub fn filter<S>(directives: Option<&str>) -> impl Filter<S> + use<S> {
    let env = directives
        .and_then(|d| EnvFilter::try_new(d).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    env.and(FilterFn::new(dependency_cap))
}

/// Installs the stderr logger.
pub fn init() {
    let directives = std::env::var("RUST_LOG").ok();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter(directives.as_deref()));
    tracing_subscriber::registry().with(layer).init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut out) = self.0.lock() {
                out.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn trace_everywhere_still_keeps_dependencies_at_info() {
        let captured = Captured::default();
        let writer = captured.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_filter(filter(Some("trace,tungstenite=trace")));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "tungstenite::protocol", "frame whr_dependency_secret");
            tracing::debug!(target: "hyper::proto", "header whr_dependency_secret");
            tracing::info!(target: "hyper::server", "dependency info passes");
            tracing::trace!(target: "whack_server::game", "our own trace passes");
        });
        let text =
            String::from_utf8_lossy(&captured.0.lock().map(|o| o.clone()).unwrap_or_default())
                .into_owned();
        assert!(!text.contains("whr_dependency_secret"), "{text}");
        assert!(text.contains("dependency info passes"), "{text}");
        assert!(text.contains("our own trace passes"), "{text}");
    }
}
