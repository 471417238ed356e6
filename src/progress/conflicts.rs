//! Conflicts kept until a person resolves them: an update made from an older version that
//! crossed another (both changed a field, to different values). Each keeps base, theirs
//! and mine; it is read by its author, and by administrators cleared for the site. A
//! conflict is about a site's progress or (`kind` "search") a search zone's figures, which
//! `search::store` writes and resolves with these same functions.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use serde_json::{json, Value};
use tokio_postgres::Transaction;

use super::merge::Asked;
use super::rules::{Progress, Violation};
use crate::accounts::sessions::SessionUser;
use crate::db::DbError;
use crate::domain::UserRole;

/// One conflict as its author and the conflict list see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub id: i64,
    /// "progress" or "search": which figures it is about.
    pub kind: String,
    pub code: String,
    pub author: String,
    pub fields: Vec<String>,
    pub base_version: i32,
    pub theirs_version: i32,
    pub base: Value,
    pub theirs: Value,
    pub mine: Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub resolved: bool,
}

/// The progress fields as JSON.
pub fn progress_json(p: &Progress) -> Value {
    json!({
        "status": p.status.code(), "percent": p.percent,
        "actual_start": p.actual_start, "actual_finish": p.actual_finish,
    })
}

/// An update as asked (the fields it sets, its note and reason) as JSON.
pub fn asked_json(asked: &Asked, note: &Option<String>, reason: &Option<String>) -> Value {
    json!({
        "status": asked.status.map(|s| s.code()), "percent": asked.percent,
        "actual_start": asked.actual_start, "actual_finish": asked.actual_finish,
        "note": note, "correction_reason": reason,
    })
}

/// What a conflict records, written with the update that crossed.
pub struct NewConflict<'a> {
    /// "progress" or "search".
    pub kind: &'static str,
    pub site_id: i64,
    pub base_version: i32,
    pub theirs_version: i32,
    pub fields: &'a [&'static str],
    pub base: Value,
    pub theirs: Value,
    pub mine: Value,
}

/// Records a conflict of `user`'s; its id.
pub async fn record(
    tx: &Transaction<'_>,
    user: &SessionUser,
    c: &NewConflict<'_>,
) -> Result<i64, DbError> {
    let fields: Vec<&str> = c.fields.to_vec();
    Ok(tx
        .query_one(
            "INSERT INTO progress_conflict (site_id, user_id, base_version, theirs_version, fields,
                                            base, theirs, mine, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[
                &c.site_id,
                &user.id,
                &c.base_version,
                &c.theirs_version,
                &fields,
                &c.base,
                &c.theirs,
                &c.mine,
                &c.kind,
            ],
        )
        .await?
        .get(0))
}

const COLUMNS: &str = "c.id, s.code, u.username, c.fields, c.base_version, c.theirs_version,
                       c.base, c.theirs, c.mine, c.created_at, c.resolved_at IS NOT NULL, c.kind";

fn conflict_of(r: &tokio_postgres::Row) -> Conflict {
    Conflict {
        id: r.get(0),
        code: r.get(1),
        author: r.get(2),
        fields: r.get(3),
        base_version: r.get(4),
        theirs_version: r.get(5),
        base: r.get(6),
        theirs: r.get(7),
        mine: r.get(8),
        created_at: r.get(9),
        resolved: r.get(10),
        kind: r.get(11),
    }
}

/// The open conflicts `user` may see: their own; every one for an administrator; only on
/// sites within their clearance.
pub async fn open(
    client: &impl GenericClient,
    user: &SessionUser,
) -> Result<Vec<Conflict>, DbError> {
    Ok(client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM progress_conflict c
                   JOIN site s ON s.id = c.site_id JOIN app_user u ON u.id = c.user_id
                  WHERE c.resolved_at IS NULL AND (c.user_id = $1 OR $2)
                    AND s.classification <= $3::text::classification
                  ORDER BY c.id"
            ),
            &[
                &user.id,
                &(user.role == UserRole::Admin),
                &user.clearance.code(),
            ],
        )
        .await?
        .iter()
        .map(conflict_of)
        .collect())
}

/// The open conflicts on site `site_id` that `user` may see (as [`open`]).
pub async fn open_on_site(
    client: &impl GenericClient,
    user: &SessionUser,
    site_id: i64,
) -> Result<Vec<Conflict>, DbError> {
    Ok(client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM progress_conflict c
                   JOIN site s ON s.id = c.site_id JOIN app_user u ON u.id = c.user_id
                  WHERE c.resolved_at IS NULL AND c.site_id = $4 AND (c.user_id = $1 OR $2)
                    AND s.classification <= $3::text::classification
                  ORDER BY c.id"
            ),
            &[
                &user.id,
                &(user.role == UserRole::Admin),
                &user.clearance.code(),
                &site_id,
            ],
        )
        .await?
        .iter()
        .map(conflict_of)
        .collect())
}

/// Conflict `id` if `user` may resolve it (open; their own, or any for an administrator
/// cleared for the site, their supervisor), locked until the transaction ends so it is
/// resolved once.
pub async fn lock_resolvable(
    tx: &Transaction<'_>,
    user: &SessionUser,
    id: i64,
) -> Result<Option<Conflict>, DbError> {
    Ok(tx
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM progress_conflict c
                   JOIN site s ON s.id = c.site_id JOIN app_user u ON u.id = c.user_id
                  WHERE c.id = $1 AND (c.user_id = $2 OR $4) AND c.resolved_at IS NULL
                    AND s.classification <= $3::text::classification
                    FOR UPDATE OF c"
            ),
            &[
                &id,
                &user.id,
                &user.clearance.code(),
                &(user.role == UserRole::Admin),
            ],
        )
        .await?
        .as_ref()
        .map(conflict_of))
}

/// Marks conflict `id` resolved by `user` with `resolution` (the fields picked, the
/// history row written).
pub async fn mark_resolved(
    tx: &Transaction<'_>,
    user: &SessionUser,
    id: i64,
    resolution: &Value,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE progress_conflict SET resolved_at = now(), resolved_by = $2, resolution = $3
          WHERE id = $1",
        &[&id, &user.id, resolution],
    )
    .await?;
    Ok(())
}

/// Conflict `id` against where the site now stands (`version`, `theirs`).
pub async fn refresh(
    tx: &Transaction<'_>,
    id: i64,
    version: i32,
    theirs: &Value,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE progress_conflict SET theirs_version = $2, theirs = $3 WHERE id = $1",
        &[&id, &version, theirs],
    )
    .await?;
    Ok(())
}

/// Who else than `author` wrote the updates since `version` of site `site_id`, by name.
pub async fn authors_since(
    tx: &Transaction<'_>,
    site_id: i64,
    version: i32,
    author: &str,
) -> Result<Vec<String>, DbError> {
    Ok(tx
        .query(
            "SELECT DISTINCT ON (actor) actor FROM progress_history
              WHERE site_id = $1 AND site_version > $2 AND actor <> $3 ORDER BY actor",
            &[&site_id, &version, &author],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Which figures conflict `id` is about ("progress" or "search"), if there is one; only to
/// send its resolution to the right feature, which checks who may.
pub async fn kind_of(client: &impl GenericClient, id: i64) -> Result<Option<String>, DbError> {
    Ok(client
        .query_opt("SELECT kind FROM progress_conflict WHERE id = $1", &[&id])
        .await?
        .map(|r| r.get(0)))
}

/// What is wrong with `picks` for `conflict`: a field it does not name, or one it names
/// left without a pick (`field_of` gives the rule's field for a name).
pub fn check_picks<P>(
    conflict: &Conflict,
    picks: &std::collections::HashMap<String, P>,
    field_of: impl Fn(&str) -> &'static str,
) -> Vec<Violation> {
    let mut out: Vec<Violation> = picks
        .keys()
        .filter(|f| !conflict.fields.contains(f))
        .map(|f| Violation {
            field: field_of(""),
            rule: "pick_named_fields",
            vi: format!("Xung đột này không có trường “{f}”."),
            en: format!("this conflict has no field '{f}'"),
        })
        .collect();
    out.extend(
        conflict
            .fields
            .iter()
            .filter(|f| !picks.contains_key(f.as_str()))
            .map(|f| Violation {
                field: field_of(f),
                rule: "pick_each_field",
                vi: format!("Hãy chọn giá trị của mình hoặc của người khác cho trường {f}."),
                en: format!("pick mine or theirs for {f}"),
            }),
    );
    out
}
