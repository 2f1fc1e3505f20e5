//! The real `whack` binary given bad input: usage errors exit 2, unusable servers get
//! a readable message and exit 1. No keyring is involved: these run with a fresh HOME
//! and `--insecure-storage`, or fail before storage is touched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

fn whack(home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whack"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_RUNTIME_DIR", home)
        .output()
        .unwrap()
}

/// `whack login` against `url`, printing the code instead of opening a browser.
fn login(home: &std::path::Path, url: &str) -> Output {
    whack(
        home,
        &[
            "--server",
            url,
            "--insecure-storage",
            "login",
            "--no-browser",
        ],
    )
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP server that is not Whack: answers every request with a 404 page.
fn foreign_http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nnot found",
            );
        }
    });
    port
}

#[test]
fn usage_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["frobnicate"][..],
        &["login", "--bogus"],
        &["status", "extra"],
        &["--server"],
    ] {
        let out = whack(home.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    let out = whack(home.path(), &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out);
    assert!(
        help.contains("login") && help.contains("--insecure-storage"),
        "{help}"
    );
}

#[test]
fn malformed_server_urls_are_usage_errors_with_a_hint() {
    let home = tempfile::tempdir().unwrap();
    let cases = [
        ("localhost:8080", "did you mean http://localhost:8080"),
        ("ftp://example.com", "must start with http:// or https://"),
        ("http://", "is not a URL"),
        ("http://x/?token=1", "without a query"),
    ];
    for (url, expected) in cases {
        let out = whack(home.path(), &["--server", url, "status"]);
        assert_eq!(out.status.code(), Some(2), "{url}: {}", text(&out));
        assert!(text(&out).contains(expected), "{url}: {}", text(&out));
    }
    // The environment variable is checked the same way.
    let out = Command::new(env!("CARGO_BIN_EXE_whack"))
        .arg("status")
        .env("HOME", home.path())
        .env("WHACK_SERVER", "not a url")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_server_that_is_down_is_named_and_no_code_is_shown() {
    let home = tempfile::tempdir().unwrap();
    let url = format!("http://localhost:{}", closed_port());
    let out = login(home.path(), &url);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("cannot reach the Whack server"), "{all}");
    assert!(all.contains(&url), "{all}");
    assert!(!all.contains("Code:"), "{all}");
}

#[test]
fn a_server_that_is_not_whack_is_called_out() {
    let home = tempfile::tempdir().unwrap();
    let url = format!("http://localhost:{}", foreign_http_server());
    let out = login(home.path(), &url);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("is not a Whack server"),
        "{}",
        text(&out)
    );
}

#[test]
fn https_to_a_plain_http_server_is_a_tls_error() {
    let home = tempfile::tempdir().unwrap();
    let url = format!("https://localhost:{}", foreign_http_server());
    let out = login(home.path(), &url);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("TLS error"), "{}", text(&out));
}

#[test]
fn status_with_nothing_listening_says_cannot_reach_and_exits_1() {
    let home = tempfile::tempdir().unwrap();
    let url = format!("http://localhost:{}", closed_port());
    let out = whack(
        home.path(),
        &["--server", &url, "--insecure-storage", "status"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("cannot reach the Whack server"), "{all}");
    assert!(all.contains(&url), "{all}");
    assert!(!all.contains("Not logged in"), "{all}");
    // Logout has nothing to revoke and says so, whatever the server.
    let out = whack(
        home.path(),
        &["--server", &url, "--insecure-storage", "logout"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("Not logged in"), "{}", text(&out));
}

#[test]
fn status_against_another_web_server_says_it_is_not_whack() {
    let home = tempfile::tempdir().unwrap();
    let url = format!("http://localhost:{}", foreign_http_server());
    let out = whack(
        home.path(),
        &["--server", &url, "--insecure-storage", "status"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("is not a Whack server"), "{all}");
    assert!(
        all.contains("/.well-known/oauth-authorization-server"),
        "{all}"
    );
    assert!(!all.contains("Not logged in"), "{all}");
}

#[test]
fn a_server_url_naming_a_page_is_refused_with_the_right_url() {
    let home = tempfile::tempdir().unwrap();
    for (url, right) in [
        (
            "http://localhost:8080/device",
            "--server http://localhost:8080",
        ),
        (
            "http://localhost:8080/device?user_code=BCDF-GHJK",
            "--server http://localhost:8080",
        ),
        (
            "http://localhost:8080/oauth/token",
            "--server http://localhost:8080",
        ),
        (
            "http://localhost:8080/#x",
            "did you mean http://localhost:8080 ?",
        ),
    ] {
        for command in [&["status"][..], &["login", "--no-browser"], &[]] {
            let mut args = vec!["--server", url];
            args.extend(command);
            let out = whack(home.path(), &args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
            assert!(text(&out).contains(right), "{args:?}: {}", text(&out));
            assert!(!text(&out).contains("HTTP 404"), "{args:?}: {}", text(&out));
        }
    }
}
