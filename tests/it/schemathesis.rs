//! Property-based API testing: schemathesis (from PyPI, installed by `make test` into
//! target/test-tools/) generates requests from kvpt's own OpenAPI document (`/api`) and
//! checks every answer: never a 5xx, status codes, content types, headers and bodies as
//! the document says, and requests that break the document refused. The one check left
//! out, `positive_data_acceptance`, would demand that every request the document allows
//! be accepted; OpenAPI 3.0 cannot say that a bbox's range depends on its CRS, that x and
//! y of a tile depend on z, or what an OGC datetime interval looks like, and kvpt rightly
//! answers those with 400.

use crate::common::{serve, TestDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_5xx_and_no_answer_outside_the_openapi_document() {
    let root = env!("CARGO_MANIFEST_DIR");
    let st = format!("{root}/target/test-tools/schemathesis/bin/schemathesis");
    assert!(
        std::path::Path::new(&st).exists(),
        "schemathesis is missing: run `make test` (it installs it into target/test-tools)"
    );
    let db = TestDb::with_demo(300, 51).await;
    // Writes too (Part 4), as an administrator with a read,write token, in this throwaway
    // database: every request carries it.
    db.sign_in(
        "schemathesis",
        kvpt::domain::UserRole::Admin,
        kvpt::domain::Classification::Secret,
        &[],
    )
    .await;
    let token = db
        .token("schemathesis", kvpt::accounts::tokens::Scope::ReadWrite)
        .await;
    let addr = serve(db.served()).await;
    let examples = std::env::var("KVPT_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".into());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(st)
            .args([
                "run",
                &format!("http://{addr}/api"),
                "--checks",
                "all",
                "--exclude-checks",
                "positive_data_acceptance",
                "--max-examples",
                &examples,
                // One worker: two threads of hypothesis's lambda descriptions trip CPython
                // 3.11's "AST constructor recursion depth mismatch" (gh-106905) now and then.
                "--workers",
                "1",
                "--no-color",
                "--header",
                &format!("Authorization: Bearer {token}"),
            ])
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("Tested: 44"),
        "every operation tested:\n{stdout}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.contains("generated"))
        .unwrap_or_default()
        .trim()
        .to_string();
    eprintln!("schemathesis: {summary}");
}
