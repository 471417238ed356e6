//! `kvpt demo load`: generates the synthetic dataset and writes it in one
//! transaction with COPY, so 100 000 sites load in well under a minute.

pub mod context;
pub mod generate;

use std::fmt;
use std::time::Instant;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::{Client, Transaction};

use crate::db::DbError;
pub use context::Context;
pub use generate::{generate, DemoSite};

/// What a load did, printed by the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoReport {
    Skipped {
        existing: i64,
    },
    Loaded {
        sites: usize,
        history: usize,
        budget: usize,
        millis: u128,
    },
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemoReport::Skipped { existing } => {
                write!(f, "demo data not loaded: the database already holds {existing} sites")
            }
            DemoReport::Loaded { sites, history, budget, millis } => write!(
                f,
                "demo data loaded: {sites} sites, {history} progress updates, {budget} budget lines in {:.1} s",
                *millis as f64 / 1000.0
            ),
        }
    }
}

/// Why the demo was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the database already holds {0} sites; the demo only fills an empty database")]
    NotEmpty(i64),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for DemoError {
    fn from(err: tokio_postgres::Error) -> Self {
        DemoError::Db(err.into())
    }
}

/// Generates `total` sites from `seed` and loads them. Refuses a database that
/// already holds sites, or with `if_empty` leaves it alone and says so.
pub async fn load(
    client: &mut Client,
    total: usize,
    seed: u64,
    if_empty: bool,
) -> Result<DemoReport, DemoError> {
    let started = Instant::now();
    let existing: i64 = client
        .query_one("SELECT count(*) FROM site_all", &[])
        .await?
        .get(0);
    if existing > 0 {
        if if_empty {
            return Ok(DemoReport::Skipped { existing });
        }
        return Err(DemoError::NotEmpty(existing));
    }
    let ctx = Context::load(&*client).await?;
    // CPU only, a second or two at 100 000 sites; nothing else runs meanwhile.
    let sites = generate(&ctx, total, seed);
    let tx = client.transaction().await?;
    // One version bump per layer for the whole load, not one queued event per row.
    tx.batch_execute("SET LOCAL kvpt.bulk = 'on'").await?;
    tx.batch_execute(include_str!("../../sql/demo/indexes_off.sql"))
        .await?;
    // Before the works, whose communes are then derived from where they lie.
    tx.batch_execute(include_str!("../../sql/demo/communes.sql"))
        .await?;
    write(&tx, &sites).await?;
    tx.batch_execute(include_str!("../../sql/demo/land.sql"))
        .await?;
    tx.batch_execute(include_str!("../../sql/demo/profiles.sql"))
        .await?;
    tx.batch_execute(include_str!("../../sql/demo/indexes_on.sql"))
        .await?;
    tx.batch_execute(
        "ANALYZE site_all; ANALYZE progress_history; ANALYZE budget_line; ANALYZE site_budget_total;
         ANALYZE budget_history",
    )
    .await?;
    tx.batch_execute("SELECT bulk_load_done()").await?;
    tx.commit().await?;
    Ok(DemoReport::Loaded {
        sites: sites.len(),
        history: sites.iter().map(|s| s.history.len()).sum(),
        budget: sites.iter().map(|s| s.budget.len()).sum(),
        millis: started.elapsed().as_millis(),
    })
}

/// Writes the sites, then their history, budget and search data keyed by code.
pub async fn write(tx: &Transaction<'_>, sites: &[DemoSite]) -> Result<(), DbError> {
    copy_rows(
        tx,
        "COPY site_all (code, name, name_en, kind, geom, programme, phase, responsible_unit, status,
                    progress_pct, planned_start, planned_finish, actual_start, actual_finish,
                    classification, version, created_at, updated_at) FROM STDIN",
        sites.iter().map(|s| {
            let first = s.history.first().map(|h| h.date);
            let last = s.history.last().map(|h| h.date);
            vec![
                text(&s.code),
                text(&s.name),
                text(&s.name_en),
                text(s.kind.code()),
                if s.ewkt.is_empty() {
                    "\\N".to_string()
                } else {
                    text(&s.ewkt)
                },
                text(s.programme.code()),
                opt(s.phase),
                text(&s.responsible_unit),
                text(s.status.code()),
                s.progress_pct.to_string(),
                s.planned_start.to_string(),
                s.planned_finish.to_string(),
                opt(s.actual_start),
                opt(s.actual_finish),
                text(s.classification.code()),
                s.history.len().max(1).to_string(),
                opt(first.map(timestamp)),
                opt(last.map(timestamp)),
            ]
        }),
    )
    .await?;

    tx.batch_execute(
        "CREATE TEMP TABLE demo_history (code text, seq integer, recorded_at timestamptz, old_status site_status,
             new_status site_status, old_pct smallint, new_pct smallint, note text) ON COMMIT DROP;
         CREATE TEMP TABLE demo_budget (code text, year smallint, source funding_source,
             estimate_vnd bigint, allocated_vnd bigint, disbursed_vnd bigint, settled_vnd bigint) ON COMMIT DROP;
         CREATE TEMP TABLE demo_zone (code text, remains_expected integer, remains_found integer,
             area_concluded_ha numeric, map_drawn boolean, concluded_on date, unit_in_charge text) ON COMMIT DROP;
         CREATE TEMP TABLE demo_investment (code text, category investment_category) ON COMMIT DROP;",
    )
    .await?;
    copy_rows(
        tx,
        "COPY demo_history FROM STDIN",
        sites.iter().flat_map(|s| {
            s.history.iter().enumerate().map(move |(seq, h)| {
                vec![
                    text(&s.code),
                    seq.to_string(),
                    timestamp(h.date),
                    opt(h.old.map(|o| o.0.code())),
                    text(h.new_status.code()),
                    opt(h.old.map(|o| o.1)),
                    h.new_pct.to_string(),
                    text(&h.note),
                ]
            })
        }),
    )
    .await?;
    copy_rows(
        tx,
        "COPY demo_budget FROM STDIN",
        sites.iter().flat_map(|s| {
            s.budget.iter().map(move |b| {
                vec![
                    text(&s.code),
                    b.year.to_string(),
                    text(b.source.code()),
                    b.estimate_vnd.to_string(),
                    b.allocated_vnd.to_string(),
                    b.disbursed_vnd.to_string(),
                    b.settled_vnd.to_string(),
                ]
            })
        }),
    )
    .await?;
    copy_rows(
        tx,
        "COPY demo_zone FROM STDIN",
        sites.iter().filter_map(|s| {
            s.zone.as_ref().map(|z| {
                vec![
                    text(&s.code),
                    z.remains_expected.to_string(),
                    z.remains_found.to_string(),
                    format!("{:.2}", z.area_concluded_ha),
                    z.map_drawn.to_string(),
                    opt(z.concluded_on),
                    text(&z.unit_in_charge),
                ]
            })
        }),
    )
    .await?;
    copy_rows(
        tx,
        "COPY demo_investment FROM STDIN",
        sites
            .iter()
            .filter_map(|s| s.category.map(|c| vec![text(&s.code), text(c.code())])),
    )
    .await?;
    tx.batch_execute(include_str!("../../sql/demo/investments.sql"))
        .await?;
    // One statement at a time, so each is seen (and timed) on its own in the server's log.
    for statement in [
        "INSERT INTO progress_history (site_id, recorded_at, actor, old_status, new_status, old_pct, new_pct, note)
         SELECT s.id, h.recorded_at, 'demo', h.old_status, h.new_status, h.old_pct, h.new_pct, h.note
           FROM demo_history h JOIN site s USING (code) ORDER BY s.id, h.seq",
        // A line stands as entered at the end of its year, a settled one no earlier than the
        // work's completion (never later than now).
        "INSERT INTO budget_line (site_id, year, source, estimate_vnd, allocated_vnd, disbursed_vnd,
                                  settled_vnd, updated_at)
         SELECT s.id, b.year, b.source, b.estimate_vnd, b.allocated_vnd, b.disbursed_vnd, b.settled_vnd,
                least(greatest(make_timestamptz(b.year, 12, 31, 12, 0, 0, 'Asia/Ho_Chi_Minh'),
                               CASE WHEN b.settled_vnd > 0 THEN done.at + interval '1 day' END),
                      now())
           FROM demo_budget b JOIN site s USING (code)
           LEFT JOIN (SELECT code, max(recorded_at) AS at FROM demo_history
                       WHERE new_status IN ('completed', 'handed_over') GROUP BY code) done USING (code)",
        "INSERT INTO search_zone (site_id, remains_expected, remains_found, area_concluded_ha, map_drawn,
                                  concluded_on, unit_in_charge)
         SELECT s.id, z.remains_expected, z.remains_found, z.area_concluded_ha, z.map_drawn,
                z.concluded_on, z.unit_in_charge
           FROM demo_zone z JOIN site s USING (code)",
        // Their history as the dashboards read it (migration 0025).
        "SELECT search_history_seed()",
    ] {
        tx.batch_execute(statement).await?;
    }
    Ok(())
}

/// Streams rows in COPY text format, a few thousand at a time.
async fn copy_rows(
    tx: &Transaction<'_>,
    statement: &str,
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<(), DbError> {
    let sink = tx.copy_in::<_, Bytes>(statement).await?;
    futures_util::pin_mut!(sink);
    let mut buf = String::with_capacity(1 << 20);
    for row in rows {
        buf.push_str(&row.join("\t"));
        buf.push('\n');
        if buf.len() > (1 << 20) {
            sink.send(Bytes::from(std::mem::take(&mut buf))).await?;
        }
    }
    if !buf.is_empty() {
        sink.send(Bytes::from(buf)).await?;
    }
    sink.finish().await?;
    Ok(())
}

/// A value escaped for COPY's text format.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "\\N".to_string(), |v| text(&v.to_string()))
}

/// Updates are stamped at 09:00 Indochina time on their day.
fn timestamp(date: chrono::NaiveDate) -> String {
    format!("{date} 09:00:00+07")
}
