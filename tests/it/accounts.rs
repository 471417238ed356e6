//! Accounts from the command line: argon2id hashes, districts, audit rows without secrets,
//! and refusals that write nothing.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{count, TestDb};
use kvpt::accounts::users::{self, NewUser, UserError};
use kvpt::domain::{Classification, UserRole};

fn engineer(name: &str, districts: &[&str]) -> NewUser {
    NewUser {
        username: name.to_string(),
        display_name: "Kỹ sư Tân Biên".to_string(),
        role: UserRole::Engineer,
        clearance: Classification::Confidential,
        unit: Some("Ban CHQS huyện Tân Biên".to_string()),
        districts: districts.iter().map(|d| d.to_string()).collect(),
    }
}

#[tokio::test]
async fn add_hashes_links_districts_and_audits_without_secrets() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    users::add(
        &mut client,
        &engineer("ks.tbi", &["TBI", "706"]),
        "mật khẩu đủ dài",
        "test",
    )
    .await
    .unwrap();
    let row = client
        .query_one("SELECT password_hash, role::text, clearance::text FROM app_user WHERE username = 'ks.tbi'", &[])
        .await
        .unwrap();
    let hash: String = row.get(0);
    assert!(hash.starts_with("$argon2id$"));
    assert!(kvpt::accounts::password::verify("mật khẩu đủ dài", &hash));
    assert_eq!(
        (row.get::<_, String>(1), row.get::<_, String>(2)),
        ("engineer".into(), "confidential".into())
    );
    let listed = users::list(&client).await.unwrap();
    assert_eq!(
        listed[0].districts,
        vec!["TBI".to_string(), "TCH".to_string()]
    );
    let audit: serde_json::Value = client
        .query_one("SELECT after FROM audit_log WHERE action = 'user.add'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit["role"], "engineer");
    assert!(
        !audit.to_string().contains("argon2"),
        "no hash in the audit log"
    );
}

#[tokio::test]
async fn refusals_write_nothing() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let short = users::add(&mut client, &engineer("ks.a", &[]), "short", "test").await;
    assert!(matches!(short, Err(UserError::Password(_))));
    let district = users::add(
        &mut client,
        &engineer("ks.b", &["HANOI"]),
        "mật khẩu đủ dài",
        "test",
    )
    .await;
    assert!(matches!(district, Err(UserError::UnknownDistrict(d)) if d == "HANOI"));
    assert_eq!(
        count(&client, "SELECT count(*) FROM app_user").await,
        0,
        "rolled back"
    );
    assert_eq!(count(&client, "SELECT count(*) FROM audit_log").await, 0);
    users::add(
        &mut client,
        &engineer("ks.c", &[]),
        "mật khẩu đủ dài",
        "test",
    )
    .await
    .unwrap();
    let again = users::add(
        &mut client,
        &engineer("ks.c", &[]),
        "mật khẩu đủ dài",
        "test",
    )
    .await;
    let message = again.unwrap_err().to_string();
    assert!(message.contains("taken"), "{message}");
    assert!(matches!(
        users::disable(&mut client, "nobody", "test").await,
        Err(UserError::NotFound(_))
    ));
}

fn kvpt(db: &TestDb, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_commands_work_end_to_end() {
    let db = TestDb::new().await;
    let (ok, out, err) = kvpt(
        &db,
        &[
            "user",
            "add",
            "ks.tbi",
            "--name",
            "Kỹ sư Tân Biên",
            "--role",
            "engineer",
            "--districts",
            "TBI,TCH",
        ],
        "mật khẩu đủ dài\n",
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("user ks.tbi added (engineer"), "{out}");
    let (ok, out, _) = kvpt(&db, &["user", "list"], "");
    assert!(
        ok && out.contains("ks.tbi\tKỹ sư Tân Biên\tengineer\tinternal\tTBI,TCH"),
        "{out}"
    );

    let client = db.client().await;
    let before: String = client
        .query_one(
            "SELECT password_hash FROM app_user WHERE username = 'ks.tbi'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let (ok, out, err) = kvpt(&db, &["user", "passwd", "ks.tbi"], "một mật khẩu mới\n");
    assert!(ok, "{out}{err}");
    let after: String = client
        .query_one(
            "SELECT password_hash FROM app_user WHERE username = 'ks.tbi'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_ne!(before, after);
    assert!(kvpt::accounts::password::verify("một mật khẩu mới", &after));

    let (ok, _, _) = kvpt(&db, &["user", "disable", "ks.tbi"], "");
    assert!(ok);
    let (_, out, _) = kvpt(&db, &["user", "list"], "");
    assert!(out.trim_end().ends_with("disabled"), "{out}");
    // Enabled again, audited; then out of its unit with an empty --unit.
    let (ok, out, err) = kvpt(&db, &["user", "enable", "ks.tbi"], "");
    assert!(ok && out.contains("user ks.tbi enabled"), "{out}{err}");
    let (_, out, _) = kvpt(&db, &["user", "list"], "");
    assert!(!out.contains("disabled"), "{out}");
    let (ok, _, err) = kvpt(
        &db,
        &[
            "user",
            "set",
            "ks.tbi",
            "--unit",
            "Đồn Biên phòng Tống Lê Chân",
        ],
        "",
    );
    assert!(ok, "{err}");
    let (ok, _, err) = kvpt(&db, &["user", "set", "ks.tbi", "--role", "engineer"], "");
    assert!(ok, "{err}");
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM app_user WHERE unit = 'Đồn Biên phòng Tống Lê Chân'"
        )
        .await,
        1,
        "a change that names no unit keeps it"
    );
    let (ok, _, err) = kvpt(&db, &["user", "set", "ks.tbi", "--unit", ""], "");
    assert!(ok, "{err}");
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM app_user WHERE username = 'ks.tbi' AND unit IS NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM audit_log WHERE action = 'user.enable' AND entity_key = 'ks.tbi'
               AND before->>'disabled' = 'true' AND after->>'disabled' = 'false'"
        )
        .await,
        1
    );

    // Mistakes: one line each, exit 1, nothing written.
    for (args, stdin, says) in [
        (
            vec!["user", "add", "x.y", "--name", "X", "--role", "general"],
            "mật khẩu đủ dài\n",
            "no role 'general'",
        ),
        (
            vec!["user", "add", "x.y", "--name", "X", "--clearance", "top"],
            "mật khẩu đủ dài\n",
            "no clearance 'top'",
        ),
        (
            vec!["user", "add", "x.y", "--name", "X"],
            "ngắn\n",
            "at least 10 characters",
        ),
        (
            vec!["user", "add", "X Y", "--name", "X"],
            "mật khẩu đủ dài\n",
            "usernames are",
        ),
        (
            vec!["user", "passwd", "nobody"],
            "mật khẩu đủ dài\n",
            "no user 'nobody'",
        ),
    ] {
        let (ok, _, err) = kvpt(&db, &args, stdin);
        assert!(!ok, "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    assert_eq!(count(&client, "SELECT count(*) FROM app_user").await, 1);
}
