//! The command line as a user meets it: help for everything, one-line errors.

use std::process::Command;

fn kvpt(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kvpt"));
    cmd.args(args).env_remove("DATABASE_URL");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn help_documents_every_subcommand_and_its_environment_variable() {
    let out = kvpt(&["--help"], &[]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for word in [
        "serve",
        "migrate",
        "db",
        "geodata",
        "demo",
        "DATABASE_URL",
        "KVPT_DATA_DIR",
        "KVPT_PG_BIN",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    let serve = String::from_utf8(kvpt(&["serve", "--help"], &[]).stdout).unwrap();
    for word in [
        "KVPT_ADDR",
        "KVPT_BOOTSTRAP",
        "KVPT_DEMO_SITES",
        "KVPT_DEMO_SEED",
    ] {
        assert!(serve.contains(word), "serve --help lacks {word}");
    }
    let db = String::from_utf8(kvpt(&["db", "--help"], &[]).stdout).unwrap();
    for word in ["start", "stop", "status"] {
        assert!(db.contains(word), "db --help lacks {word}");
    }
}

#[test]
fn missing_postgresql_is_a_one_line_error_not_a_panic() {
    let dir = std::env::temp_dir().join(format!("kvpt-cli-{}", std::process::id()));
    let out = kvpt(
        &["db", "start"],
        &[
            ("KVPT_PG_BIN", "/nonexistent/bin"),
            ("KVPT_DATA_DIR", dir.to_str().unwrap()),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("kvpt: PostgreSQL server binaries not found"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn db_commands_refuse_to_manage_a_server_named_by_database_url() {
    let out = kvpt(
        &["db", "stop"],
        &[("DATABASE_URL", "host=/nowhere dbname=x")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("manages no cluster"));
}

#[test]
fn boolean_flags_read_one_and_yes_from_the_environment() {
    for value in ["1", "yes", "true", "0", "off"] {
        let out = kvpt(
            &["db", "url"],
            &[("KVPT_PG_FAST", value), ("KVPT_PG_TCP", value)],
        );
        assert!(
            out.status.success(),
            "{value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
