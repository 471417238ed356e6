//! Applying progress updates: the site row, its history row, its photos and an audit row in
//! one transaction, against the version the engineer saw (optimistic concurrency).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use tokio_postgres::Transaction;

use super::photos::Photo;
use super::rules::{self, Progress, Update, Violation};
use crate::accounts::sessions::SessionUser;
use crate::db::DbError;
use crate::domain::{SiteStatus, UserRole};

/// Why an update was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error("no site '{0}'")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// The site changed since the engineer loaded it: here is where it stands now.
    #[error("site {} changed since version {expected}: it is at version {}", current.code, current.version)]
    Conflict {
        expected: i32,
        current: Box<SiteState>,
    },
    #[error("the update breaks {} rule(s)", .0.len())]
    Rules(Vec<Violation>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for ProgressError {
    fn from(err: tokio_postgres::Error) -> Self {
        ProgressError::Db(err.into())
    }
}

/// One history entry as people read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryEntry {
    pub id: i64,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub old_status: Option<String>,
    pub new_status: String,
    pub old_pct: Option<i16>,
    pub new_pct: i16,
    pub note: Option<String>,
    pub correction_reason: Option<String>,
}

/// Where a site stands now, with its last update.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SiteState {
    pub code: String,
    pub status: String,
    pub percent: i16,
    pub actual_start: Option<NaiveDate>,
    pub actual_finish: Option<NaiveDate>,
    pub version: i32,
    pub last_update: Option<HistoryEntry>,
    /// With review on: the engineer's update waits for review as this submission (the
    /// site stands as it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted: Option<i64>,
}

/// What a successful update produced.
#[derive(Debug, Clone)]
pub struct Applied {
    pub state: SiteState,
    pub history_id: i64,
    /// The site's map layer, and its data versions after this write (once committed): the
    /// layer's and the layer's at each classification (`defence_works@secret`).
    pub layer: String,
    pub layer_versions: Vec<(String, i64)>,
}

/// Fields an API caller left out keep the site's current value (`PATCH`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    pub status: bool,
    pub percent: bool,
    pub actual_start: bool,
    pub actual_finish: bool,
}

/// An update as sent: the change, and the version it was made against.
#[derive(Debug, Clone)]
pub struct Request {
    pub code: String,
    pub update: Update,
    /// Which of `update`'s fields are placeholders for "as it is now".
    pub keep: Keep,
    pub expected_version: i32,
    pub photos: Vec<Photo>,
    /// Said in the audit row beside the update (a resolved conflict: whose it was).
    pub audit_note: Option<serde_json::Value>,
    /// An administrator resolving an engineer's conflict as their supervisor: the role and
    /// district checks are the engineer's, made when the update was first sent; the
    /// clearance check and the rules still hold.
    pub supervising: bool,
}

const HISTORY_COLUMNS: &str =
    "h.id, h.recorded_at, h.actor, h.old_status::text, h.new_status::text,
     h.old_pct, h.new_pct, h.note, h.correction_reason";

fn history_entry(row: &tokio_postgres::Row, at: usize) -> HistoryEntry {
    HistoryEntry {
        id: row.get(at),
        recorded_at: row.get(at + 1),
        actor: row.get(at + 2),
        old_status: row.get(at + 3),
        new_status: row.get(at + 4),
        old_pct: row.get(at + 5),
        new_pct: row.get(at + 6),
        note: row.get(at + 7),
        correction_reason: row.get(at + 8),
    }
}

/// The full history of a site, oldest first.
pub async fn history(
    client: &impl deadpool_postgres::GenericClient,
    site_id: i64,
) -> Result<Vec<HistoryEntry>, DbError> {
    let rows = client
        .query(
            &format!(
                "SELECT {HISTORY_COLUMNS} FROM progress_history h
                  WHERE h.site_id = $1 ORDER BY h.recorded_at, h.id"
            ),
            &[&site_id],
        )
        .await?;
    Ok(rows.iter().map(|r| history_entry(r, 0)).collect())
}

pub async fn state_of(tx: &Transaction<'_>, site_id: i64) -> Result<SiteState, DbError> {
    let row = tx
        .query_one(
            &format!(
                "SELECT s.code, s.status::text, s.progress_pct, s.actual_start, s.actual_finish,
                        s.version, {HISTORY_COLUMNS}
                   FROM site s
                   LEFT JOIN LATERAL (SELECT * FROM progress_history
                                       WHERE site_id = s.id ORDER BY recorded_at DESC, id DESC LIMIT 1) h
                     ON true
                  WHERE s.id = $1"
            ),
            &[&site_id],
        )
        .await?;
    Ok(SiteState {
        code: row.get(0),
        status: row.get(1),
        percent: row.get(2),
        actual_start: row.get(3),
        actual_finish: row.get(4),
        version: row.get(5),
        last_update: row.get::<_, Option<i64>>(6).map(|_| history_entry(&row, 6)),
        submitted: None,
    })
}

/// Whether `user` may update progress at all (the role), before looking at any site.
pub fn may_update(user: &SessionUser) -> Result<(), ProgressError> {
    if user.role == UserRole::Engineer {
        Ok(())
    } else {
        Err(ProgressError::Forbidden(format!(
            "only engineers update progress; you are {}",
            user.role.code()
        )))
    }
}

/// A site locked for an update by `user`, where it stands.
pub struct LockedSite {
    pub id: i64,
    pub version: i32,
    pub current: Progress,
    /// Its map layer.
    pub layer: String,
}

/// Locks site `code` for an update by `user`: a site above their clearance does not exist
/// for them (404); one outside their districts and unit is refused (403).
pub async fn lock_site(
    tx: &Transaction<'_>,
    user: &SessionUser,
    code: &str,
) -> Result<LockedSite, ProgressError> {
    lock_site_as(tx, user, code, false).await
}

/// [`lock_site`], or with `supervising` for an administrator resolving a conflict: only
/// the clearance is checked.
pub async fn lock_site_as(
    tx: &Transaction<'_>,
    user: &SessionUser,
    code: &str,
    supervising: bool,
) -> Result<LockedSite, ProgressError> {
    let supervising = supervising && matches!(user.role, UserRole::Admin | UserRole::Reviewer);
    if !supervising {
        may_update(user)?;
    }
    let row = tx
        .query_opt(
            "SELECT s.id, s.status::text, s.progress_pct, s.actual_start, s.actual_finish, s.version,
                    k.layer_group,
                    s.classification <= $2::text::classification,
                    EXISTS (SELECT 1 FROM user_district ud
                             WHERE ud.user_id = $3 AND ud.district_id = s.district_id)
                    OR coalesce(s.responsible_unit = $4, false)
               FROM site s JOIN site_kind k ON k.code = s.kind
              WHERE s.code = $1
                FOR UPDATE OF s",
            &[&code, &user.clearance.code(), &user.id, &user.unit],
        )
        .await?;
    let Some(row) = row.filter(|r| r.get::<_, bool>(7)) else {
        return Err(ProgressError::NotFound(code.to_string()));
    };
    if !supervising && !row.get::<_, bool>(8) {
        return Err(ProgressError::Forbidden(format!(
            "site {code} is outside your districts and unit"
        )));
    }
    Ok(LockedSite {
        id: row.get(0),
        version: row.get(5),
        current: Progress {
            status: SiteStatus::from_code(row.get(1))
                .ok_or_else(|| DbError::Data("unknown status in the database".into()))?,
            percent: row.get(2),
            actual_start: row.get(3),
            actual_finish: row.get(4),
        },
        layer: row.get(6),
    })
}

/// Where site `site_id` stood at `version`: its history row of the highest version at or
/// before it, by version (not by time: a write that waited for the site's lock has the
/// later version and the earlier timestamp). Rows loaded without a version, the demo's,
/// are older than any written since; before any history a work is planned, 0 %.
pub async fn progress_at(
    tx: &Transaction<'_>,
    site_id: i64,
    version: i32,
) -> Result<Progress, DbError> {
    let row = tx
        .query_opt(
            "SELECT new_status::text, new_pct, actual_start, actual_finish FROM progress_history
              WHERE site_id = $1 AND (site_version <= $2 OR site_version IS NULL)
              ORDER BY site_version DESC NULLS LAST, id DESC LIMIT 1",
            &[&site_id, &version],
        )
        .await?;
    Ok(match row {
        Some(r) => Progress {
            status: SiteStatus::from_code(r.get(0))
                .ok_or_else(|| DbError::Data("unknown status in the database".into()))?,
            percent: r.get(1),
            actual_start: r.get(2),
            actual_finish: r.get(3),
        },
        None => Progress {
            status: SiteStatus::Planned,
            percent: 0,
            actual_start: None,
            actual_finish: None,
        },
    })
}

/// Applies one update inside `tx` (which the caller commits): locks the site, checks
/// clearance, the engineer's districts or unit, the version and the rules, then writes the
/// site, its history, its photos and an audit row.
pub async fn apply_in(
    tx: &Transaction<'_>,
    user: &SessionUser,
    request: &Request,
    today: NaiveDate,
) -> Result<Applied, ProgressError> {
    apply_as(tx, user, request, today, None).await
}

/// [`apply_in`], its history row recorded as `author`'s (id, name) when given: a reviewer
/// approving an engineer's submitted update. Without an author, an engineer's update is
/// kept for review when review is on (`super::review`).
pub async fn apply_as(
    tx: &Transaction<'_>,
    user: &SessionUser,
    request: &Request,
    today: NaiveDate,
    author: Option<&(Option<i32>, String)>,
) -> Result<Applied, ProgressError> {
    let site = lock_site_as(tx, user, &request.code, request.supervising).await?;
    let (site_id, version, current) = (site.id, site.version, site.current.clone());
    if version != request.expected_version {
        return Err(ProgressError::Conflict {
            expected: request.expected_version,
            current: Box::new(state_of(tx, site_id).await?),
        });
    }
    let mut update = request.update.clone();
    let keep = request.keep;
    if keep.status {
        update.status = current.status;
    }
    if keep.percent {
        update.percent = i64::from(current.percent);
    }
    if keep.actual_start {
        update.actual_start = current.actual_start;
    }
    if keep.actual_finish {
        update.actual_finish = current.actual_finish;
    }
    let update = &update;
    let violations = rules::check(&current, update, today);
    if !violations.is_empty() {
        return Err(ProgressError::Rules(violations));
    }
    let percent = i16::try_from(update.percent).unwrap_or(0);
    let text = |t: &Option<String>| {
        t.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let (note, reason) = (text(&update.note), text(&update.correction_reason));
    if author.is_none()
        && !request.supervising
        && user.role == UserRole::Engineer
        && tx
            .query_opt("SELECT review FROM app_setting", &[])
            .await?
            .is_some_and(|r| r.get::<_, bool>(0))
    {
        let id = submit(
            tx,
            user,
            site_id,
            version,
            &current,
            update,
            (&note, &reason),
            &request.photos,
        )
        .await?;
        let mut state = state_of(tx, site_id).await?;
        state.submitted = Some(id);
        return Ok(Applied {
            state,
            history_id: 0,
            layer: site.layer,
            layer_versions: Vec::new(),
        });
    }
    let (recorded_by, actor) = match author {
        Some((id, name)) => (*id, name.clone()),
        None => (Some(user.id), user.username.clone()),
    };
    // The site, its history row and the audit row in one statement: one round trip.
    let before = json!({
        "status": current.status.code(), "percent": current.percent,
        "actual_start": current.actual_start, "actual_finish": current.actual_finish,
        "version": version,
    });
    let written = tx
        .query_one(
            "WITH upd AS (
                 UPDATE site SET status = $2::text::site_status, progress_pct = $3,
                        actual_start = $4, actual_finish = $5,
                        version = version + 1, updated_at = now()
                  WHERE id = $1 RETURNING version),
             h AS (
                 INSERT INTO progress_history (site_id, recorded_by, actor, old_status, new_status,
                        old_pct, new_pct, note, correction_reason, actual_start, actual_finish, site_version)
                 SELECT $1, $16, $17, $8::text::site_status, $2::text::site_status, $9, $3, $10, $11, $4, $5,
                        upd.version
                   FROM upd
                 RETURNING id, recorded_at, site_version),
             a AS (
                 INSERT INTO audit_log (user_id, actor, action, entity, entity_key, before, after)
                 SELECT $6, $7, 'site.progress', 'site', $12, $13,
                        jsonb_build_object('status', $2::text, 'percent', $3, 'actual_start', $4,
                                           'actual_finish', $5, 'version', h.site_version, 'note', $10,
                                           'correction_reason', $11, 'photos', $14::int,
                                           'history_id', h.id)
                            || coalesce($15::jsonb, '{}'::jsonb)
                   FROM h)
             SELECT h.site_version, h.id, h.recorded_at FROM h",
            &[
                &site_id,
                &update.status.code(),
                &percent,
                &update.actual_start,
                &update.actual_finish,
                &user.id,
                &user.username,
                &current.status.code(),
                &current.percent,
                &note,
                &reason,
                &request.code,
                &before,
                &(request.photos.len() as i32),
                &request.audit_note,
                &recorded_by,
                &actor,
            ],
        )
        .await?;
    let (new_version, history_id, recorded_at): (i32, i64, DateTime<Utc>) =
        (written.get(0), written.get(1), written.get(2));
    for photo in &request.photos {
        insert_photo(tx, site_id, Some(history_id), user.id, photo).await?;
    }
    Ok(Applied {
        state: SiteState {
            code: request.code.clone(),
            status: update.status.code().to_string(),
            percent,
            actual_start: update.actual_start,
            actual_finish: update.actual_finish,
            version: new_version,
            submitted: None,
            last_update: Some(HistoryEntry {
                id: history_id,
                recorded_at,
                actor: actor.clone(),
                old_status: Some(current.status.code().to_string()),
                new_status: update.status.code().to_string(),
                old_pct: Some(current.percent),
                new_pct: percent,
                note,
                correction_reason: reason,
            }),
        },
        history_id,
        layer: site.layer,
        // Known once committed: the layer's versions are bumped at commit.
        layer_versions: Vec::new(),
    })
}

/// The versions of `applied`'s layers after their commit, so this process's tile cache
/// moves past them before the next request (NOTIFY brings them too, a moment later).
pub async fn committed_versions(
    client: &impl deadpool_postgres::GenericClient,
    applied: &mut [Applied],
) -> Result<(), DbError> {
    let mut layers: Vec<String> = applied.iter().map(|a| a.layer.clone()).collect();
    layers.sort();
    layers.dedup();
    let rows = client
        .query(
            "SELECT layer, version FROM layer_version WHERE split_part(layer, '@', 1) = ANY($1)",
            &[&layers],
        )
        .await?;
    for a in applied.iter_mut() {
        a.layer_versions = rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
            .filter(|(layer, _)| layer.split('@').next() == Some(a.layer.as_str()))
            .collect();
    }
    Ok(())
}

/// Applies one update in a transaction of its own.
pub async fn apply(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    request: &Request,
    today: NaiveDate,
) -> Result<Applied, ProgressError> {
    let tx = client.transaction().await?;
    let applied = apply_in(&tx, user, request, today).await?;
    tx.commit().await?;
    let mut applied = [applied];
    committed_versions(&*client, &mut applied).await?;
    let [applied] = applied;
    Ok(applied)
}

/// Stores `photo` with the history row it documents (if any), where and when it was
/// taken and how far that is from the site (PostGIS, on the spheroid); its id.
pub async fn insert_photo(
    tx: &Transaction<'_>,
    site_id: i64,
    history_id: Option<i64>,
    user_id: i32,
    photo: &Photo,
) -> Result<i64, DbError> {
    let (lon, lat) = photo.taken.position.unzip();
    Ok(tx
        .query_one(
            "INSERT INTO site_photo (site_id, history_id, content_type, image, thumbnail, width,
                                     height, sha256, uploaded_by, original, taken_at, taken_where,
                                     distance_m)
             SELECT s.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, p.pt,
                    ST_Distance(s.geom::geography, p.pt::geography)
               FROM site s
              CROSS JOIN LATERAL (SELECT CASE WHEN $12::float8 IS NULL THEN NULL
                                              ELSE ST_SetSRID(ST_MakePoint($12, $13), 4326) END AS pt) p
              WHERE s.id = $1
             RETURNING id",
            &[
                &site_id,
                &history_id,
                &photo.content_type,
                &photo.image,
                &photo.thumbnail,
                &photo.width,
                &photo.height,
                &photo.sha256,
                &user_id,
                &photo.original,
                &photo.taken.at,
                &lon,
                &lat,
            ],
        )
        .await?
        .get(0))
}

/// Whether every progress update of site `site_id` after version `base_version` is
/// `user_id`'s own.
pub async fn only_own_since(
    tx: &Transaction<'_>,
    site_id: i64,
    base_version: i32,
    user_id: i32,
) -> Result<bool, DbError> {
    Ok(tx
        .query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM progress_history
                                 WHERE site_id = $1 AND site_version > $2
                                   AND recorded_by IS DISTINCT FROM $3)",
            &[&site_id, &base_version, &user_id],
        )
        .await?
        .get(0))
}

/// Whether history row `history_id` is `user_id`'s update of site `site_id` (a photo sent
/// after its update documents that update, and no one else's).
pub async fn is_own_update(
    tx: &Transaction<'_>,
    site_id: i64,
    history_id: i64,
    user_id: i32,
) -> Result<bool, DbError> {
    Ok(tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM progress_history
                             WHERE id = $1 AND site_id = $2 AND recorded_by = $3)",
            &[&history_id, &site_id, &user_id],
        )
        .await?
        .get(0))
}

/// The audit row of a photo added to site `code` on its own (not with an update).
pub async fn audit_photo(
    tx: &Transaction<'_>,
    user: &SessionUser,
    code: &str,
    photo_id: i64,
    history_id: Option<i64>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO audit_log (user_id, actor, action, entity, entity_key, after)
         VALUES ($1, $2, 'site.photo', 'site', $3,
                 jsonb_build_object('photo_id', $4::bigint, 'history_id', $5::bigint))",
        &[&user.id, &user.username, &code, &photo_id, &history_id],
    )
    .await?;
    Ok(())
}

/// A site its engineer may update, as it stands: a row of the bulk CSV template and of
/// the field app's list.
pub struct TemplateRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub district: Option<String>,
    pub status: String,
    pub percent: i16,
    pub version: i32,
    pub actual_start: Option<NaiveDate>,
    pub actual_finish: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
    /// A point on the work (WGS 84 longitude, latitude), to sort by distance; none for an
    /// investment without a place.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Their progress is the user's to update (their districts or unit); otherwise the
    /// work is a search zone their unit is in charge of (its search figures only).
    pub progress: bool,
}

impl TemplateRow {
    /// What the field list's search looks in: code, name and district, folded.
    pub fn search_text(&self) -> String {
        let district = self.district.as_deref().unwrap_or("");
        crate::i18n::folded(&format!("{} {} {district}", self.code, self.name))
    }
}

/// The sites `user` may update (districts or unit, within clearance), and the search
/// zones their unit is in charge of, by code.
pub async fn updatable_sites(
    client: &impl deadpool_postgres::GenericClient,
    user: &SessionUser,
) -> Result<Vec<TemplateRow>, DbError> {
    Ok(client
        .query(
            "SELECT s.code, s.name, s.kind::text, d.name, s.status::text, s.progress_pct, s.version,
                    s.actual_start, s.actual_finish, s.updated_at,
                    ST_X(p.pt), ST_Y(p.pt), w.progress
               FROM site s
               LEFT JOIN admin_unit d ON d.id = s.district_id
              CROSS JOIN LATERAL (SELECT ST_PointOnSurface(s.geom) AS pt) p
              CROSS JOIN LATERAL (
                    SELECT EXISTS (SELECT 1 FROM user_district ud
                                    WHERE ud.user_id = $2 AND ud.district_id = s.district_id)
                           OR coalesce(s.responsible_unit = $3, false) AS progress) w
              WHERE s.classification <= $1::text::classification
                AND (w.progress OR EXISTS (SELECT 1 FROM search_zone z
                                            WHERE z.site_id = s.id AND z.unit_in_charge = $3))
              ORDER BY s.code",
            &[&user.clearance.code(), &user.id, &user.unit],
        )
        .await?
        .iter()
        .map(|r| TemplateRow {
            code: r.get(0),
            name: r.get(1),
            kind: r.get(2),
            district: r.get(3),
            status: r.get(4),
            percent: r.get(5),
            version: r.get(6),
            actual_start: r.get(7),
            actual_finish: r.get(8),
            updated_at: r.get(9),
            lon: r.get(10),
            lat: r.get(11),
            progress: r.get(12),
        })
        .collect())
}

/// The extent (west, south, east, north in WGS 84) of `user`'s districts, of the search
/// zones their unit is in charge of (some in Cambodia) and of the works
/// of their unit: what the field app's offline map covers. None when they have neither.
pub async fn field_extent(
    client: &impl deadpool_postgres::GenericClient,
    user: &SessionUser,
) -> Result<Option<[f64; 4]>, DbError> {
    let row = client
        .query_one(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
               FROM (SELECT ST_Extent(g)::geometry AS e FROM (
                        SELECT d.geom AS g FROM user_district ud JOIN admin_unit d ON d.id = ud.district_id
                         WHERE ud.user_id = $1
                        UNION ALL
                        SELECT s.geom FROM site s
                         WHERE $2::text IS NOT NULL AND s.responsible_unit = $2
                           AND s.classification <= $3::text::classification
                        UNION ALL
                        SELECT s.geom FROM site s JOIN search_zone z ON z.site_id = s.id
                         WHERE $2::text IS NOT NULL AND z.unit_in_charge = $2
                           AND s.classification <= $3::text::classification) g) x",
            &[&user.id, &user.unit, &user.clearance.code()],
        )
        .await?;
    let corner = |i: usize| row.get::<_, Option<f64>>(i);
    Ok(match (corner(0), corner(1), corner(2), corner(3)) {
        (Some(w), Some(s), Some(e), Some(n)) => Some([w, s, e, n]),
        _ => None,
    })
}

/// Keeps `update` of site `site_id` (at `version`, standing at `current`) as submitted by
/// `user`, with its photos: the submission's id.
#[allow(clippy::too_many_arguments)]
pub(super) async fn submit(
    tx: &Transaction<'_>,
    user: &SessionUser,
    site_id: i64,
    version: i32,
    current: &Progress,
    update: &Update,
    texts: (&Option<String>, &Option<String>),
    photos: &[Photo],
) -> Result<i64, DbError> {
    let percent = i16::try_from(update.percent).unwrap_or(0);
    let id: i64 = tx
        .query_one(
            "INSERT INTO progress_submission (site_id, submitted_by, actor, base_version, old_status,
                    old_pct, old_actual_start, old_actual_finish, new_status, new_pct,
                    new_actual_start, new_actual_finish, note, correction_reason)
             VALUES ($1, $2, $3, $4, $5::text::site_status, $6, $7, $8, $9::text::site_status, $10,
                     $11, $12, $13, $14)
             RETURNING id",
            &[
                &site_id,
                &user.id,
                &user.username,
                &version,
                &current.status.code(),
                &current.percent,
                &current.actual_start,
                &current.actual_finish,
                &update.status.code(),
                &percent,
                &update.actual_start,
                &update.actual_finish,
                texts.0,
                texts.1,
            ],
        )
        .await?
        .get(0);
    for photo in photos {
        let photo_id = insert_photo(tx, site_id, None, user.id, photo).await?;
        tx.execute(
            "UPDATE site_photo SET submission_id = $2 WHERE id = $1",
            &[&photo_id, &id],
        )
        .await?;
    }
    let after = json!({ "site_id": site_id, "base_version": version,
                        "status": update.status.code(), "percent": percent,
                        "actual_start": update.actual_start, "actual_finish": update.actual_finish,
                        "note": texts.0, "correction_reason": texts.1, "photos": photos.len() });
    submitted(tx, user, ("progress_submission", id, site_id), None, &after).await?;
    Ok(id)
}

/// After submission `id` of `table` (`progress_submission` or `search_submission`) on site
/// `site_id` was written: `user`'s earlier ones of the site still waiting are replaced by
/// it, and it is audited (`before`, `after`).
pub(crate) async fn submitted(
    tx: &Transaction<'_>,
    user: &SessionUser,
    (table, id, site_id): (&str, i64, i64),
    before: Option<&Value>,
    after: &Value,
) -> Result<(), DbError> {
    tx.execute(
        &format!(
            "UPDATE {table}
                SET state = 'returned',
                    reason = 'Thay bằng cập nhật #' || $3::int8 || ' / replaced by update #' || $3::int8,
                    decided_by = $2, decided_actor = $4, decided_at = now()
              WHERE site_id = $1 AND submitted_by = $2 AND state = 'submitted' AND id <> $3::int8"
        ),
        &[&site_id, &user.id, &id, &user.username],
    )
    .await?;
    tx.execute(
        "INSERT INTO audit_log (user_id, actor, action, entity, entity_key, before, after)
         VALUES ($1, $2, 'review.submit', $3, $4, $5, $6)",
        &[
            &user.id,
            &user.username,
            &table,
            &id.to_string(),
            &before,
            &after,
        ],
    )
    .await?;
    Ok(())
}
