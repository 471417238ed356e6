//! HTTPS served by kvpt (issue 20, §1): a private CA from `kvpt tls init`, HTTP/2 and
//! HTTP/1.1 through ALPN (curl, trusting only that CA), the tile lane kept; a certificate
//! out of date or a key that is not the certificate's stops the start in one line; the
//! server's limits (handshake time, head size) hold over TLS as over plain HTTP.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::TestDb;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kvpt-it-tls-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn certificates(name: &str, days_ago: i64, days: i64) -> kvpt::ops::tls::Written {
    let start = time::OffsetDateTime::now_utc() - time::Duration::days(days_ago);
    kvpt::ops::tls::init(
        &dir(name),
        &["localhost".to_string(), "127.0.0.1".to_string()],
        start,
        days,
    )
    .expect("certificates made")
}

/// curl over HTTPS trusting only `ca`: the HTTP version and the status.
fn curl(ca: &Path, url: &str, version: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "--cacert"])
        .arg(ca)
        .args([version, "-w", "%{http_version} %{http_code}", url])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (v, code) = text.split_once(' ').unwrap_or(("", ""));
    (v.to_string(), code.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_server_answers_over_http2_and_http1_trusting_the_private_ca() {
    let db = TestDb::with_demo(40, 3).await;
    let written = certificates("good", 1, 30);
    let config = kvpt::web::tls::load(&written.server_cert, &written.server_key).expect("loads");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = db.served();
    tokio::spawn(async move {
        kvpt::web::server::run_with(
            listener,
            served,
            &kvpt::web::limits::Limits::default(),
            Some(config),
            std::future::pending(),
        )
        .await;
    });
    let ca = written.ca_cert.clone();
    let results = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for host in ["localhost", "127.0.0.1"] {
            for path in ["/healthz", "/tiles/search_zones/8/203/121.mvt", "/map"] {
                let url = format!("https://{host}:{port}{path}");
                for version in ["--http2", "--http1.1"] {
                    out.push((url.clone(), version, curl(&ca, &url, version)));
                }
            }
        }
        // Without the CA, curl refuses the certificate: it is not a public one.
        let plain = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("https://localhost:{port}/healthz"))
            .output()
            .unwrap();
        // Pages served over HTTPS link HTTPS (the map's style names its tiles), also over
        // HTTP/2 where the host comes in the request's authority; cookies are Secure.
        let body = |version: &str, path: &str, head: bool| {
            let mut cmd = Command::new("curl");
            cmd.args(["-s", "--cacert"]).arg(&ca).arg(version);
            if head {
                cmd.arg("-i");
            }
            let out = cmd
                .arg(format!("https://localhost:{port}{path}"))
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let style = body("--http2", "/style.json", false);
        let login = body("--http1.1", "/login", true);
        (
            out,
            String::from_utf8_lossy(&plain.stdout).into_owned(),
            style,
            login,
            port,
        )
    })
    .await
    .unwrap();
    let (style, login, port) = (&results.2, &results.3, results.4);
    assert!(
        style.contains(&format!("https://localhost:{port}/tiles/")),
        "{style}"
    );
    assert!(!style.contains("http://"), "{style}");
    assert!(
        login
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("set-cookie") && l.contains("Secure")),
        "{login}"
    );
    for (url, version, (got, status)) in &results.0 {
        let expected = if *version == "--http2" { "2" } else { "1.1" };
        assert_eq!(got, expected, "{url} {version}");
        assert!(
            status == "200" || status == "204",
            "{url} {version}: {status}"
        );
    }
    assert_eq!(
        results.1, "000",
        "an untrusted certificate is refused by the client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_s_limits_hold_over_tls_too() {
    let db = TestDb::with_demo(30, 4).await;
    let written = certificates("limits", 1, 30);
    let config = kvpt::web::tls::load(&written.server_cert, &written.server_key).expect("loads");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let limits = kvpt::web::limits::Limits {
        header_timeout: std::time::Duration::from_secs(1),
        max_header_bytes: 8 * 1024,
        ..kvpt::web::limits::Limits::default()
    };
    let served = db.served();
    tokio::spawn(async move {
        kvpt::web::server::run_with(
            listener,
            served,
            &limits,
            Some(config),
            std::future::pending(),
        )
        .await;
    });
    // A client that connects and never starts the handshake is dropped after the header
    // timeout, not held.
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut idle = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("the server hangs up on a silent client");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    // A head larger than allowed is refused over HTTPS as over HTTP, on both versions.
    let ca = written.ca_cert.clone();
    let statuses = tokio::task::spawn_blocking(move || {
        let cookie = format!("cookie: junk={}", "x".repeat(20 * 1024));
        ["--http1.1", "--http2"].map(|version| {
            let out = Command::new("curl")
                .args(["-s", "-o", "/dev/null", "--cacert"])
                .arg(&ca)
                .args([version, "-H", &cookie, "-w", "%{http_code}"])
                .arg(format!("https://localhost:{port}/healthz"))
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    })
    .await
    .unwrap();
    assert_eq!(statuses[0], "431", "HTTP/1.1");
    assert_ne!(statuses[1], "200", "HTTP/2 takes no oversized head either");
    let ca = written.ca_cert.clone();
    let fine = tokio::task::spawn_blocking(move || {
        curl(&ca, &format!("https://localhost:{port}/healthz"), "--http2")
    })
    .await
    .unwrap();
    assert_eq!(fine, ("2".to_string(), "200".to_string()));
}

#[tokio::test]
async fn a_certificate_out_of_date_or_a_key_not_its_own_stops_the_start_in_one_line() {
    let db = TestDb::new().await;
    let expired = certificates("expired", 900, 10);
    let future = certificates("future", -30, 60);
    let other = certificates("other", 1, 30);
    // A chain with a CA that issued none of it after the server's certificate and its CA.
    let mixed = other.server_cert.with_file_name("mixed-chain.pem");
    std::fs::write(
        &mixed,
        std::fs::read_to_string(&other.server_cert).unwrap()
            + &std::fs::read_to_string(&expired.ca_cert).unwrap(),
    )
    .unwrap();
    // A key other users may read.
    let open_key = other.server_key.with_file_name("open-key.pem");
    std::fs::copy(&other.server_key, &open_key).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&open_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    // `tls init`'s file is a chain in order: the server's certificate, then its CA.
    kvpt::web::tls::load(&other.server_cert, &other.server_key).expect("a chain in order loads");
    for (cert, key, says) in [
        (&mixed, &other.server_key, "did not issue certificate 2"),
        (&other.server_cert, &open_key, "chmod 600"),
        (&expired.server_cert, &expired.server_key, "expired on"),
        (&future.server_cert, &future.server_key, "not valid before"),
        (
            &other.server_cert,
            &expired.server_key,
            "is not the key of certificate",
        ),
    ] {
        // Bounded: a case that wrongly starts the server fails the test, not hangs it.
        let out = Command::new("timeout")
            .arg("30")
            .arg(env!("CARGO_BIN_EXE_kvpt"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("DATABASE_URL", db.url())
            .env("KVPT_TLS_CERT", cert)
            .env("KVPT_TLS_KEY", key)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{says}");
        assert!(err.contains(says), "{says}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
}

#[tokio::test]
async fn tls_init_writes_a_ca_and_a_server_certificate_and_says_how_to_install_it() {
    let out_dir = dir("cli");
    let out = Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .args([
            "tls",
            "init",
            "--host",
            "kvpt.bchqs.local,10.20.0.5",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for said in ["Android", "iOS", "Windows", "KVPT_TLS_CERT", "kvpt-ca.pem"] {
        assert!(text.contains(said), "{said}: {text}");
    }
    let cert = out_dir.join("kvpt-server.pem");
    let key = out_dir.join("kvpt-server-key.pem");
    kvpt::web::tls::load(&cert, &key).expect("the server certificate loads");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out_dir.join("kvpt-ca-key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the CA's key is private");
    // The CA vouches for those names and addresses only.
    let ca_pem = std::fs::read(out_dir.join("kvpt-ca.pem")).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&ca_pem).unwrap();
    let ca = pem.parse_x509().unwrap();
    assert!(
        ca.name_constraints().ok().flatten().is_some(),
        "name constraints"
    );
    // Made again over the same folder: refused, the CA phones trust is kept.
    let again = Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .args(["tls", "init", "--host", "kvpt.bchqs.local", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    assert_eq!(std::fs::read(out_dir.join("kvpt-ca.pem")).unwrap(), ca_pem);
    // No host: refused plainly.
    let out = Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .args(["tls", "init", "--host", " ", "--out"])
        .arg(dir("none"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no host given"));
}
