//! Review of search zones' figures (issue 24 §6): with review on, a search team's update is
//! kept as submitted (`search_submission`) instead of applied; a reviewer or an
//! administrator approves it — applied then by [`super::store::apply_as`] onto the figures'
//! version it was made from, its history row the team's — or returns it with a reason. The
//! lists, notices and returning are those of progress updates (`progress::review`).

use chrono::NaiveDate;
use deadpool_postgres::GenericClient;
use serde_json::json;

use super::rules::{Asked, Figures};
use super::store::{self, Outcome, Request, SearchError, ZoneState};
use crate::accounts::sessions::SessionUser;
use crate::db::DbError;
use crate::domain::Classification;
use crate::progress::review::{
    self, list, submission_of, ReviewError, Submission, Table, Which, HEAD,
};

/// What an update of a zone's figures changes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchChange {
    pub old: Figures,
    pub new: Figures,
}

const FIGURES: [&str; 7] = [
    "remains_expected",
    "remains_found",
    "area_concluded_ha::float8",
    "map_drawn",
    "map_drawn_on",
    "concluded_on",
    "unit_in_charge",
];

/// A submission `p` whose zone `z`'s figures moved on since it was made (another update,
/// an import changing them): it can only be returned.
const STALE: &str = "(p.old_remains_expected, p.old_remains_found, p.old_area_concluded_ha, p.old_map_drawn,
                      p.old_map_drawn_on, p.old_concluded_on, p.old_unit_in_charge)
                     IS DISTINCT FROM (z.remains_expected, z.remains_found, z.area_concluded_ha, z.map_drawn,
                                       z.map_drawn_on, z.concluded_on, z.unit_in_charge)";

/// The submissions' query up to its `WHERE`.
fn select() -> String {
    let old: Vec<String> = FIGURES.iter().map(|f| format!("p.old_{f}")).collect();
    let new: Vec<String> = FIGURES.iter().map(|f| format!("p.new_{f}")).collect();
    format!(
        "SELECT {HEAD}, {STALE}, {}, {}
           FROM search_submission p JOIN site s ON s.id = p.site_id
           JOIN search_zone z ON z.site_id = s.id
           LEFT JOIN admin_unit d ON d.id = s.district_id",
        old.join(", "),
        new.join(", ")
    )
}

fn submission(r: &tokio_postgres::Row) -> Submission<SearchChange> {
    let change = SearchChange {
        old: store::figures_of(r, 15),
        new: store::figures_of(r, 22),
    };
    submission_of(r, change)
}

/// The zones' updates waiting for review that `clearance` sees, oldest first.
pub async fn open(
    client: &impl GenericClient,
    clearance: Classification,
) -> Result<Vec<Submission<SearchChange>>, DbError> {
    list(client, &select(), Which::Open(clearance), submission).await
}

/// `user`'s own zone updates waiting or returned in the last 60 days, newest first.
pub async fn of_author(
    client: &impl GenericClient,
    user: &SessionUser,
) -> Result<Vec<Submission<SearchChange>>, DbError> {
    list(client, &select(), Which::OfAuthor(user), submission).await
}

/// The zone's updates waiting, and those returned in the last 60 days.
pub async fn of_site(
    client: &impl GenericClient,
    site_id: i64,
) -> Result<Vec<Submission<SearchChange>>, DbError> {
    list(client, &select(), Which::OfSite(site_id), submission).await
}

/// Approves submission `id`: applied onto the zone if its figures are still those it was
/// made from (refused if they moved on, or if the rules refuse it now), its history row the
/// team's; audited as the reviewer's. The zone as it now stands.
pub async fn approve(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    id: i64,
    today: NaiveDate,
) -> Result<ZoneState, ReviewError> {
    review::must_review(user)?;
    let tx = client.transaction().await?;
    // The zone first, then the submission: the order an engineer's update takes them in.
    tx.execute(
        "SELECT 1 FROM search_zone z WHERE z.site_id = (SELECT site_id FROM search_submission WHERE id = $1)
            FOR UPDATE",
        &[&id],
    )
    .await?;
    let new: Vec<String> = FIGURES.iter().map(|f| format!("p.new_{f}")).collect();
    let row = tx
        .query_opt(
            &format!(
                "SELECT s.code, p.submitted_by, p.actor,
                        -- Applied onto the zone as it stands if its figures are still those
                        -- the update was made from (its work may have been imported again).
                        CASE WHEN {STALE} THEN p.base_version ELSE z.version END,
                        p.note, p.correction_reason,
                        -- Its author may still update the zone: an engineer whose account
                        -- stands, cleared for it, in its district, its unit or its unit in charge.
                        EXISTS (SELECT 1 FROM app_user u
                                 WHERE u.id = p.submitted_by AND NOT u.disabled AND u.role = 'engineer'
                                   AND s.classification <= u.clearance
                                   AND (EXISTS (SELECT 1 FROM user_district ud
                                                 WHERE ud.user_id = u.id AND ud.district_id = s.district_id)
                                        OR coalesce(s.responsible_unit = u.unit, false)
                                        OR coalesce(z.unit_in_charge = u.unit, false))),
                        {}
                   FROM search_submission p JOIN site s ON s.id = p.site_id
                   JOIN search_zone z ON z.site_id = s.id
                  WHERE p.id = $1 AND p.state = 'submitted' AND s.classification <= $2::text::classification
                    FOR UPDATE OF p",
                new.join(", ")
            ),
            &[&id, &user.clearance.code()],
        )
        .await?
        .ok_or(ReviewError::NotFound(id))?;
    if !row.get::<_, bool>(6) {
        return Err(ReviewError::Refused {
            vi: "Người gửi không còn được cập nhật khu vực này (tài khoản bị khóa, đổi vai trò, địa bàn hoặc độ mật): hãy trả lại.".into(),
            en: "its author may no longer update this zone (account disabled, or role, districts or clearance changed): return it".into(),
        });
    }
    let new = store::figures_of(&row, 7);
    let author: (Option<i32>, String) = (row.get(1), row.get(2));
    let request = Request {
        code: row.get(0),
        version: row.get(3),
        merge: false,
        asked: Asked {
            remains_expected: Some(new.remains_expected),
            remains_found: Some(new.remains_found),
            area_concluded_ha: Some(new.area_concluded_ha),
            map_drawn: Some(new.map_drawn),
            map_drawn_on: Some(new.map_drawn_on),
            concluded_on: Some(new.concluded_on),
            unit_in_charge: Some(new.unit_in_charge),
        },
        note: row.get(4),
        correction_reason: row.get(5),
        supervising: true,
        audit_note: Some(
            json!({ "submission": id, "submitted_by": author.1, "approved_by": user.username }),
        ),
    };
    let (state, history_id) =
        match store::apply_as(&tx, user, &request, today, Some(&author)).await {
            Ok(Outcome::Applied { state, history_id }) => (state, history_id),
            Ok(_) | Err(SearchError::Conflict { .. }) => {
                return Err(ReviewError::Refused {
                    vi: "Khu vực đã thay đổi từ khi cập nhật này được gửi: hãy trả lại để tổ tìm kiếm cập nhật lại.".into(),
                    en: "the zone changed since this update was submitted: return it so the team updates again".into(),
                })
            }
            Err(SearchError::Rules(broken)) => return Err(review::refused_by(&broken)),
            Err(SearchError::NotFound(_)) => return Err(ReviewError::NotFound(id)),
            Err(SearchError::Forbidden(why)) => return Err(ReviewError::Forbidden(why)),
            Err(SearchError::Db(e)) => return Err(ReviewError::Db(e)),
        };
    tx.execute(
        "UPDATE search_submission SET state = 'approved', decided_by = $2, decided_actor = $3,
                decided_at = now(), history_id = $4
          WHERE id = $1",
        &[&id, &user.id, &user.username, &history_id],
    )
    .await?;
    tx.commit().await?;
    Ok(state)
}

/// Returns submission `id` to its team with `reason`; audited.
pub async fn send_back(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    id: i64,
    reason: &str,
) -> Result<(), ReviewError> {
    review::send_back_from(client, user, Table::Search, id, reason).await
}
