//! Review and approval of progress updates (issue 24 §6). When review is on (the
//! deployment's setting, `app_setting.review`), an engineer's update is kept as submitted
//! (`progress_submission`, its photos waiting with it) instead of applied; a reviewer or an
//! administrator approves it — applied then by [`super::store::apply_in`] onto the version
//! it was made from, its history row the engineer's — or returns it with a reason.

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use serde_json::json;
use tokio_postgres::Transaction;

use super::rules::Update;
use super::store::{self, Applied, Keep, ProgressError, Request};
use crate::accounts::sessions::SessionUser;
use crate::db::DbError;
use crate::domain::{Classification, SiteStatus, UserRole};

/// Whether the deployment reviews engineers' updates.
pub async fn is_on(client: &impl GenericClient) -> Result<bool, DbError> {
    Ok(client
        .query_opt("SELECT review FROM app_setting", &[])
        .await?
        .is_some_and(|r| r.get(0)))
}

/// Turns review on or off for every instance on the database.
pub async fn set(client: &impl GenericClient, on: bool) -> Result<(), DbError> {
    client
        .execute(
            "UPDATE app_setting SET review = $1, changed_at = now() WHERE review IS DISTINCT FROM $1",
            &[&on],
        )
        .await?;
    Ok(())
}

/// Reviewers and administrators review.
pub fn may_review(user: &SessionUser) -> bool {
    matches!(user.role, UserRole::Reviewer | UserRole::Admin)
}

/// [`may_review`], or why not.
pub(crate) fn must_review(user: &SessionUser) -> Result<(), ReviewError> {
    if may_review(user) {
        return Ok(());
    }
    Err(ReviewError::Forbidden(format!(
        "reviewers and administrators review updates; you are {}",
        user.role.code()
    )))
}

/// Submission `id` of site `site_id` by `user_id`, if it waits or was approved: the history
/// row its approval wrote (none while it waits). A returned one, or anyone else's, is none.
pub(super) async fn own_submission(
    tx: &Transaction<'_>,
    site_id: i64,
    user_id: i32,
    id: i64,
) -> Result<Option<Option<i64>>, DbError> {
    Ok(tx
        .query_opt(
            "SELECT history_id FROM progress_submission
              WHERE id = $1 AND site_id = $2 AND submitted_by = $3 AND state <> 'returned'",
            &[&id, &site_id, &user_id],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Photo `photo_id` documents submission `submission_id`.
pub(super) async fn attach_photo(
    tx: &Transaction<'_>,
    photo_id: i64,
    submission_id: i64,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE site_photo SET submission_id = $2 WHERE id = $1",
        &[&photo_id, &submission_id],
    )
    .await?;
    Ok(())
}

/// A submitted update as the review list, the field page and the site page show it: what
/// every kind of update shares, and `change`, what it changes (a work's progress here, a
/// zone's search figures in `search::review`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Submission<C = ProgressChange> {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub district: Option<String>,
    pub site_id: i64,
    pub actor: String,
    pub submitted_at: DateTime<Utc>,
    pub change: C,
    pub note: Option<String>,
    pub correction_reason: Option<String>,
    pub state: String,
    pub reason: Option<String>,
    pub decided_actor: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The work has moved on since it was made: it can only be returned.
    pub stale: bool,
    /// Its photos: id, metres from the site where taken (when known).
    pub photos: Vec<(i64, Option<f64>)>,
}

/// What a progress update changes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProgressChange {
    pub old_status: String,
    pub new_status: String,
    pub old_pct: i16,
    pub new_pct: i16,
    pub old_actual_start: Option<NaiveDate>,
    pub new_actual_start: Option<NaiveDate>,
    pub old_actual_finish: Option<NaiveDate>,
    pub new_actual_finish: Option<NaiveDate>,
}

/// The columns every submission list selects first (of `p`, its work `s`, district `d`):
/// read back by [`submission_of`].
pub(crate) const HEAD: &str =
    "p.id, s.code, s.name, s.kind, d.short_name, s.id, p.actor, p.submitted_at,
        p.note, p.correction_reason, p.state::text, p.reason, p.decided_actor, p.decided_at";

/// A submission from a row of [`HEAD`], then `stale` at column 14, and `change`.
pub(crate) fn submission_of<C>(r: &tokio_postgres::Row, change: C) -> Submission<C> {
    Submission {
        id: r.get(0),
        code: r.get(1),
        name: r.get(2),
        kind: r.get(3),
        district: r.get(4),
        site_id: r.get(5),
        actor: r.get(6),
        submitted_at: r.get(7),
        note: r.get(8),
        correction_reason: r.get(9),
        state: r.get(10),
        reason: r.get(11),
        decided_actor: r.get(12),
        decided_at: r.get(13),
        stale: r.get(14),
        change,
        photos: Vec::new(),
    }
}

/// The submissions' query up to its `WHERE`.
fn select() -> String {
    format!("SELECT {HEAD},
        (p.old_status, p.old_pct, p.old_actual_start, p.old_actual_finish)
            IS DISTINCT FROM (s.status, s.progress_pct, s.actual_start, s.actual_finish),
        p.old_status::text, p.new_status::text, p.old_pct, p.new_pct, p.old_actual_start,
        p.new_actual_start, p.old_actual_finish, p.new_actual_finish,
        coalesce((SELECT array_agg(ph.id ORDER BY ph.id) FROM site_photo ph WHERE ph.submission_id = p.id), '{{}}'),
        coalesce((SELECT array_agg(ph.distance_m::float8 ORDER BY ph.id) FROM site_photo ph WHERE ph.submission_id = p.id), '{{}}')
   FROM progress_submission p JOIN site s ON s.id = p.site_id
   LEFT JOIN admin_unit d ON d.id = s.district_id")
}

fn submission(r: &tokio_postgres::Row) -> Submission {
    let ids: Vec<i64> = r.get(23);
    let distances: Vec<Option<f64>> = r.get(24);
    let change = ProgressChange {
        old_status: r.get(15),
        new_status: r.get(16),
        old_pct: r.get(17),
        new_pct: r.get(18),
        old_actual_start: r.get(19),
        new_actual_start: r.get(20),
        old_actual_finish: r.get(21),
        new_actual_finish: r.get(22),
    };
    Submission {
        photos: ids.into_iter().zip(distances).collect(),
        ..submission_of(r, change)
    }
}

/// Which submissions a list holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which<'a> {
    /// Waiting, on works the clearance sees, oldest first (the review list).
    Open(Classification),
    /// The user's own waiting or returned in the last 60 days, newest first (/field).
    OfAuthor(&'a SessionUser),
    /// The work's waiting or returned in the last 60 days, newest first (its page).
    OfSite(i64),
}

/// The submissions of `which`, by `select` (a query up to its `WHERE` over submissions `p`
/// and works `s`) read by `row`.
pub(crate) async fn list<C>(
    client: &impl GenericClient,
    select: &str,
    which: Which<'_>,
    row: fn(&tokio_postgres::Row) -> Submission<C>,
) -> Result<Vec<Submission<C>>, DbError> {
    const RECENT: &str = "(p.state = 'submitted'
                         OR (p.state = 'returned' AND p.decided_at > now() - interval '60 days'))";
    let rows = match which {
        Which::Open(clearance) => {
            client
                .query(
                    &format!(
                        "{select} WHERE p.state = 'submitted' AND s.classification <= $1::text::classification
                          ORDER BY p.submitted_at, p.id LIMIT 500"
                    ),
                    &[&clearance.code()],
                )
                .await?
        }
        Which::OfAuthor(user) => {
            client
                .query(
                    &format!(
                        "{select} WHERE p.submitted_by = $1 AND s.classification <= $2::text::classification
                            AND {RECENT} ORDER BY p.id DESC LIMIT 200"
                    ),
                    &[&user.id, &user.clearance.code()],
                )
                .await?
        }
        Which::OfSite(site_id) => {
            client
                .query(
                    &format!("{select} WHERE p.site_id = $1 AND {RECENT} ORDER BY p.id DESC LIMIT 50"),
                    &[&site_id],
                )
                .await?
        }
    };
    Ok(rows.iter().map(row).collect())
}

/// The progress updates waiting for review on works `clearance` sees, oldest first.
pub async fn open(
    client: &impl GenericClient,
    clearance: Classification,
) -> Result<Vec<Submission>, DbError> {
    list(client, &select(), Which::Open(clearance), submission).await
}

/// `user`'s own progress updates waiting or returned in the last 60 days, newest first.
pub async fn of_author(
    client: &impl GenericClient,
    user: &SessionUser,
) -> Result<Vec<Submission>, DbError> {
    list(client, &select(), Which::OfAuthor(user), submission).await
}

/// The site's progress updates waiting, and those returned in the last 60 days.
pub async fn of_site(
    client: &impl GenericClient,
    site_id: i64,
) -> Result<Vec<Submission>, DbError> {
    list(client, &select(), Which::OfSite(site_id), submission).await
}

/// Why a decision was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no update {0} waits for review")]
    NotFound(i64),
    #[error("{0}")]
    Forbidden(String),
    /// The site moved on since the update was made, or the rules refuse it now.
    #[error("{en}")]
    Refused { vi: String, en: String },
    #[error(transparent)]
    Progress(#[from] ProgressError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for ReviewError {
    fn from(err: tokio_postgres::Error) -> Self {
        ReviewError::Db(err.into())
    }
}

/// The submission `id`, locked, if it waits and `user` may see its work: (site code, its
/// author's id and name, the request it makes).
async fn lock_open(
    tx: &Transaction<'_>,
    user: &SessionUser,
    id: i64,
) -> Result<(String, Option<i32>, String, i32, Update), ReviewError> {
    must_review(user)?;
    let row = tx
        .query_opt(
            "SELECT s.code, p.submitted_by, p.actor,
                    -- Applied onto the work as it stands if its progress is still what the
                    -- update was made from (other fields may have changed meanwhile).
                    CASE WHEN (p.old_status, p.old_pct, p.old_actual_start, p.old_actual_finish)
                              IS NOT DISTINCT FROM (s.status, s.progress_pct, s.actual_start, s.actual_finish)
                         THEN s.version ELSE p.base_version END,
                    p.new_status::text, p.new_pct,
                    p.new_actual_start, p.new_actual_finish, p.note, p.correction_reason,
                    -- Its engineer may still update the work: an engineer whose account
                    -- stands, cleared for it, in its district or its unit.
                    EXISTS (SELECT 1 FROM app_user u
                             WHERE u.id = p.submitted_by AND NOT u.disabled AND u.role = 'engineer'
                               AND s.classification <= u.clearance
                               AND (EXISTS (SELECT 1 FROM user_district ud
                                             WHERE ud.user_id = u.id AND ud.district_id = s.district_id)
                                    OR coalesce(s.responsible_unit = u.unit, false)))
               FROM progress_submission p JOIN site s ON s.id = p.site_id
              WHERE p.id = $1 AND p.state = 'submitted' AND s.classification <= $2::text::classification
                FOR UPDATE OF p",
            &[&id, &user.clearance.code()],
        )
        .await?
        .ok_or(ReviewError::NotFound(id))?;
    let status = SiteStatus::from_code(row.get(4))
        .ok_or_else(|| DbError::Data("unknown status in a submission".into()))?;
    let update = Update {
        status,
        percent: i64::from(row.get::<_, i16>(5)),
        actual_start: row.get(6),
        actual_finish: row.get(7),
        note: row.get(8),
        correction_reason: row.get(9),
    };
    if !row.get::<_, bool>(10) {
        return Err(ReviewError::Refused {
            vi: "Người gửi không còn được cập nhật công trình này (tài khoản bị khóa, đổi vai trò, địa bàn hoặc độ mật): hãy trả lại.".into(),
            en: "its engineer may no longer update this work (account disabled, or role, districts or clearance changed): return it".into(),
        });
    }
    Ok((row.get(0), row.get(1), row.get(2), row.get(3), update))
}

/// A submission the rules refuse now (`broken`): it cannot be applied.
pub(crate) fn refused_by(broken: &[super::rules::Violation]) -> ReviewError {
    let (vi, en): (Vec<String>, Vec<String>) =
        broken.iter().map(|b| (b.vi.clone(), b.en.clone())).unzip();
    ReviewError::Refused {
        vi: format!("Không áp dụng được: {}", vi.join("; ")),
        en: format!("cannot be applied: {}", en.join("; ")),
    }
}

/// Approves submission `id`: applied onto the work if its progress is still what the update
/// was made from (refused if it moved on, or if the rules refuse it now), its history row the engineer's, its
/// photos that row's; audited as the reviewer's.
pub async fn approve(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    id: i64,
    today: NaiveDate,
) -> Result<Applied, ReviewError> {
    let tx = client.transaction().await?;
    // The work first, then the submission: the order an engineer's update takes them in.
    tx.execute(
        "SELECT 1 FROM site_all s WHERE s.id = (SELECT site_id FROM progress_submission WHERE id = $1)
            FOR UPDATE",
        &[&id],
    )
    .await?;
    let (code, author_id, author, base_version, update) = lock_open(&tx, user, id).await?;
    let request = Request {
        code,
        update,
        keep: Keep::default(),
        expected_version: base_version,
        photos: Vec::new(),
        audit_note: Some(
            json!({ "submission": id, "submitted_by": author, "approved_by": user.username }),
        ),
        supervising: true,
    };
    let author = (author_id, author);
    let applied = match store::apply_as(&tx, user, &request, today, Some(&author)).await {
        Ok(applied) => applied,
        Err(ProgressError::Conflict { .. }) => {
            return Err(ReviewError::Refused {
                vi: "Công trình đã thay đổi từ khi cập nhật này được gửi: hãy trả lại để kỹ sư cập nhật lại.".into(),
                en: "the work changed since this update was submitted: return it so the engineer updates again".into(),
            })
        }
        Err(ProgressError::Rules(broken)) => return Err(refused_by(&broken)),
        Err(e) => return Err(e.into()),
    };
    tx.execute(
        "UPDATE site_photo SET history_id = $2 WHERE submission_id = $1",
        &[&id, &applied.history_id],
    )
    .await?;
    tx.execute(
        "UPDATE progress_submission SET state = 'approved', decided_by = $2, decided_actor = $3,
                decided_at = now(), history_id = $4
          WHERE id = $1",
        &[&id, &user.id, &user.username, &applied.history_id],
    )
    .await?;
    tx.commit().await?;
    Ok(applied)
}

/// The tables submissions wait in: a work's progress, a zone's search figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Progress,
    Search,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Progress => "progress_submission",
            Table::Search => "search_submission",
        }
    }
}

/// Returns progress submission `id` to its engineer with `reason`; audited.
pub async fn send_back(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    id: i64,
    reason: &str,
) -> Result<(), ReviewError> {
    send_back_from(client, user, Table::Progress, id, reason).await
}

/// Returns submission `id` of `table` to its engineer with `reason`; audited.
pub async fn send_back_from(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    table: Table,
    id: i64,
    reason: &str,
) -> Result<(), ReviewError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(ReviewError::Refused {
            vi: "Cần lý do trả lại (1 đến 1000 ký tự).".into(),
            en: "a reason for returning it is needed (1 to 1000 characters)".into(),
        });
    }
    must_review(user)?;
    let tx = client.transaction().await?;
    let code: String = tx
        .query_opt(
            &format!(
                "SELECT s.code FROM {} p JOIN site s ON s.id = p.site_id
                  WHERE p.id = $1 AND p.state = 'submitted' AND s.classification <= $2::text::classification
                    FOR UPDATE OF p",
                table.name()
            ),
            &[&id, &user.clearance.code()],
        )
        .await?
        .ok_or(ReviewError::NotFound(id))?
        .get(0);
    tx.execute(
        &format!(
            "UPDATE {} SET state = 'returned', decided_by = $2, decided_actor = $3,
                    decided_at = now(), reason = $4
              WHERE id = $1",
            table.name()
        ),
        &[&id, &user.id, &user.username, &reason],
    )
    .await?;
    crate::db::audit::record(
        &tx,
        &crate::db::audit::Change {
            user_id: Some(user.id),
            actor: &user.username,
            action: "review.return",
            entity: table.name(),
            key: &id.to_string(),
            before: Some(json!({ "state": "submitted", "site": code })),
            after: json!({ "state": "returned", "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
