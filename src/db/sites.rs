//! One site as its page shows it: details, a small map, photos and budget lines.

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;

use super::DbError;
use crate::domain::Classification;

#[derive(Debug, Clone)]
pub struct SiteDetails {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub kind: String,
    pub district: Option<String>,
    pub district_en: Option<String>,
    pub district_id: Option<i32>,
    pub commune: Option<String>,
    pub abroad: Option<String>,
    pub unit: Option<String>,
    pub programme: String,
    pub phase: Option<i16>,
    pub classification: String,
    pub status: String,
    pub percent: i16,
    pub planned_start: Option<NaiveDate>,
    pub planned_finish: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_finish: Option<NaiveDate>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub layer_group: String,
}

/// A small map: the site and the district lines and border around it, as SVG paths in
/// Web Mercator metres (y already flipped by ST_AsSVG).
#[derive(Debug, Clone)]
pub struct SiteMap {
    pub view_box: [f64; 4],
    pub site: String,
    pub site_is_point: bool,
    pub districts: String,
    pub border: String,
}

#[derive(Debug, Clone)]
pub struct PhotoRef {
    pub id: i64,
    pub history_id: Option<i64>,
    pub width: i32,
    pub height: i32,
    /// When and how far from the site it says it was taken (EXIF), if it says.
    pub taken_at: Option<DateTime<Utc>>,
    pub distance_m: Option<f64>,
    /// Taken more than 500 m from the site.
    pub far: bool,
    /// Taken more than 7 days before the update it documents (or its upload).
    pub early: bool,
}

/// Metres from the site beyond which a photo is flagged.
pub const PHOTO_FAR_M: f64 = 500.0;
/// Days before its update beyond which a photo is flagged.
pub const PHOTO_EARLY_DAYS: i32 = 7;

/// The columns of a [`PhotoRef`] from `site_photo p LEFT JOIN progress_history h`, with
/// the distance and the days at parameters `far` and `days`.
fn photo_columns(far: usize, days: usize) -> String {
    format!(
        "p.id, p.history_id, p.width, p.height, p.taken_at, p.distance_m,
         coalesce(p.distance_m > ${far}, false),
         coalesce(p.taken_at < coalesce(h.recorded_at, p.uploaded_at) - make_interval(days => ${days}), false)"
    )
}

fn photo_ref(r: &tokio_postgres::Row) -> PhotoRef {
    PhotoRef {
        id: r.get(0),
        history_id: r.get(1),
        width: r.get(2),
        height: r.get(3),
        taken_at: r.get(4),
        distance_m: r.get(5),
        far: r.get(6),
        early: r.get(7),
    }
}

#[derive(Debug, Clone)]
pub struct BudgetLine {
    pub year: i16,
    pub source: String,
    pub estimate: i64,
    pub allocated: i64,
    pub disbursed: i64,
    pub settled: i64,
    pub version: i32,
}

/// The site `code` if it exists and `clearance` may see it.
pub async fn details(
    client: &impl GenericClient,
    code: &str,
    clearance: Classification,
) -> Result<Option<SiteDetails>, DbError> {
    let row = client
        .query_opt(
            "SELECT s.id, s.code, s.name, s.name_en, s.kind, d.short_name, d.name_en, s.district_id,
                    c.short_name, coalesce(a.name_vi, a.name), s.responsible_unit, s.programme::text,
                    s.phase, s.classification::text, s.status::text, s.progress_pct,
                    s.planned_start, s.planned_finish, s.actual_start, s.actual_finish,
                    s.version, s.updated_at, k.layer_group
               FROM site s JOIN site_kind k ON k.code = s.kind
               LEFT JOIN admin_unit d ON d.id = s.district_id
               LEFT JOIN admin_unit c ON c.id = s.commune_id
               LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
              WHERE s.code = $1 AND s.classification <= $2::text::classification",
            &[&code, &clearance.code()],
        )
        .await?;
    Ok(row.map(|r| SiteDetails {
        id: r.get(0),
        code: r.get(1),
        name: r.get(2),
        name_en: r.get(3),
        kind: r.get(4),
        district: r.get(5),
        district_en: r.get(6),
        district_id: r.get(7),
        commune: r.get(8),
        abroad: r.get(9),
        unit: r.get(10),
        programme: r.get(11),
        phase: r.get(12),
        classification: r.get(13),
        status: r.get(14),
        percent: r.get(15),
        planned_start: r.get(16),
        planned_finish: r.get(17),
        actual_start: r.get(18),
        actual_finish: r.get(19),
        version: r.get(20),
        updated_at: r.get(21),
        layer_group: r.get(22),
    }))
}

/// The small map of a site: a frame at least 4 km across around it; none for an
/// investment without a place.
pub async fn site_map(
    client: &impl GenericClient,
    site_id: i64,
) -> Result<Option<SiteMap>, DbError> {
    let Some(row) = client
        .query_opt(
            "WITH s AS (SELECT ST_Transform(geom, 3857) AS g FROM site WHERE id = $1 AND geom IS NOT NULL),
                  f AS (SELECT ST_Expand(ST_Envelope(g),
                                         greatest(2000, 0.3 * greatest(ST_XMax(g) - ST_XMin(g),
                                                                       ST_YMax(g) - ST_YMin(g)))) AS g
                          FROM s)
             SELECT ST_XMin(f.g), -ST_YMax(f.g), ST_XMax(f.g) - ST_XMin(f.g), ST_YMax(f.g) - ST_YMin(f.g),
                    ST_AsSVG(s.g, 0, 0), GeometryType(s.g) = 'POINT',
                    coalesce((SELECT ST_AsSVG(ST_Collect(ST_Intersection(ST_Boundary(ST_Transform(d.geom, 3857)), f.g)), 0, 0)
                                FROM admin_unit d
                               WHERE d.level = 'district'
                                 AND ST_Intersects(d.geom, ST_Transform(f.g, 4326))), ''),
                    coalesce((SELECT ST_AsSVG(ST_Collect(ST_Intersection(ST_Transform(b.geom, 3857), f.g)), 0, 0)
                                FROM border_line b
                               WHERE b.is_primary AND ST_Intersects(b.geom, ST_Transform(f.g, 4326))), '')
               FROM s, f",
            &[&site_id],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(SiteMap {
        view_box: [row.get(0), row.get(1), row.get(2), row.get(3)],
        site: row.get(4),
        site_is_point: row.get(5),
        districts: row.get(6),
        border: row.get(7),
    }))
}

pub async fn photos(client: &impl GenericClient, site_id: i64) -> Result<Vec<PhotoRef>, DbError> {
    Ok(client
        .query(
            &format!(
                "SELECT {}
                   FROM site_photo p LEFT JOIN progress_history h ON h.id = p.history_id
                  WHERE p.site_id = $1
                    -- A photo of an update waiting for review (or returned) is not the work's yet.
                    AND (p.submission_id IS NULL OR p.history_id IS NOT NULL)
                  ORDER BY p.id",
                photo_columns(2, 3)
            ),
            &[&site_id, &PHOTO_FAR_M, &PHOTO_EARLY_DAYS],
        )
        .await?
        .iter()
        .map(photo_ref)
        .collect())
}

/// A flagged photo (far from its site or long before its update) as the review list shows it.
#[derive(Debug, Clone)]
pub struct FlaggedPhoto {
    pub photo: PhotoRef,
    pub code: String,
    pub name: String,
    pub uploaded_at: DateTime<Utc>,
    pub uploaded_by: Option<String>,
}

/// The flagged photos of the sites `user_id` may update (their districts or `unit`), or of
/// every site for an administrator, within `clearance`; newest first.
pub async fn flagged_photos(
    client: &impl GenericClient,
    user_id: i32,
    unit: Option<&str>,
    admin: bool,
    clearance: Classification,
    limit: i64,
) -> Result<Vec<FlaggedPhoto>, DbError> {
    Ok(client
        .query(
            &format!(
                "SELECT {}, s.code, s.name, p.uploaded_at, u.username
                   FROM site_photo p
                   JOIN site s ON s.id = p.site_id
                   LEFT JOIN progress_history h ON h.id = p.history_id
                   LEFT JOIN app_user u ON u.id = p.uploaded_by
                  WHERE s.classification <= $3::text::classification
                    AND (p.distance_m > $1
                         OR p.taken_at < coalesce(h.recorded_at, p.uploaded_at) - make_interval(days => $2))
                    AND ($4 OR EXISTS (SELECT 1 FROM user_district ud
                                        WHERE ud.user_id = $5 AND ud.district_id = s.district_id)
                            OR (s.responsible_unit IS NOT NULL AND s.responsible_unit = $6))
                  ORDER BY p.id DESC LIMIT $7",
                photo_columns(1, 2)
            ),
            &[
                &PHOTO_FAR_M,
                &PHOTO_EARLY_DAYS,
                &clearance.code(),
                &admin,
                &user_id,
                &unit,
                &limit,
            ],
        )
        .await?
        .iter()
        .map(|r| FlaggedPhoto {
            photo: photo_ref(r),
            code: r.get(8),
            name: r.get(9),
            uploaded_at: r.get(10),
            uploaded_by: r.get(11),
        })
        .collect())
}

pub async fn budget(client: &impl GenericClient, site_id: i64) -> Result<Vec<BudgetLine>, DbError> {
    Ok(client
        .query(
            "SELECT year, source::text, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd, version
               FROM budget_line WHERE site_id = $1 ORDER BY year, source",
            &[&site_id],
        )
        .await?
        .iter()
        .map(|r| BudgetLine {
            year: r.get(0),
            source: r.get(1),
            estimate: r.get(2),
            allocated: r.get(3),
            disbursed: r.get(4),
            settled: r.get(5),
            version: r.get(6),
        })
        .collect())
}

/// A medium-term ceiling approved for a work × year × source.
#[derive(Debug, Clone)]
pub struct CeilingLine {
    pub year: i16,
    pub source: String,
    pub ceiling: i64,
    pub decision_no: String,
    pub decision_date: chrono::NaiveDate,
    pub version: i32,
}

/// A work's medium-term ceilings by year and source.
pub async fn ceilings(
    client: &impl GenericClient,
    site_id: i64,
) -> Result<Vec<CeilingLine>, DbError> {
    Ok(client
        .query(
            "SELECT year, source::text, ceiling_vnd, decision_no, decision_date, version
               FROM budget_ceiling WHERE site_id = $1 ORDER BY year, source",
            &[&site_id],
        )
        .await?
        .iter()
        .map(|r| CeilingLine {
            year: r.get(0),
            source: r.get(1),
            ceiling: r.get(2),
            decision_no: r.get(3),
            decision_date: r.get(4),
            version: r.get(5),
        })
        .collect())
}

/// A photo (or its thumbnail) if `clearance` may see its site: (content type, bytes). A
/// photo of an update waiting for review (or returned) only for its uploader (`user_id`)
/// and for reviewers (`reviews`).
pub async fn photo(
    client: &impl GenericClient,
    id: i64,
    thumbnail: bool,
    clearance: Classification,
    user_id: Option<i32>,
    reviews: bool,
) -> Result<Option<(String, Vec<u8>)>, DbError> {
    let row = client
        .query_opt(
            "SELECT CASE WHEN $2 THEN 'image/jpeg' ELSE p.content_type END,
                    CASE WHEN $2 THEN p.thumbnail ELSE p.image END
               FROM site_photo p JOIN site s ON s.id = p.site_id
              WHERE p.id = $1 AND s.classification <= $3::text::classification
                AND (p.submission_id IS NULL OR p.history_id IS NOT NULL OR $5
                     OR p.uploaded_by = $4)",
            &[&id, &thumbnail, &clearance.code(), &user_id, &reviews],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// A photo as uploaded, EXIF and all, if `clearance` may see its site and the caller is an
/// administrator (`admin`) or may update the site (`user_id`'s districts or `unit`).
pub async fn original_photo(
    client: &impl GenericClient,
    id: i64,
    clearance: Classification,
    admin: bool,
    user_id: i32,
    unit: Option<&str>,
) -> Result<Option<(String, Vec<u8>)>, DbError> {
    let row = client
        .query_opt(
            "SELECT p.content_type, coalesce(p.original, p.image)
               FROM site_photo p JOIN site s ON s.id = p.site_id
              WHERE p.id = $1 AND s.classification <= $2::text::classification
                AND ($3 OR EXISTS (SELECT 1 FROM user_district ud
                                    WHERE ud.user_id = $4 AND ud.district_id = s.district_id)
                        OR (s.responsible_unit IS NOT NULL AND s.responsible_unit = $5))",
            &[&id, &clearance.code(), &admin, &user_id, &unit],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// Whether `user_id` may update the site: one of their districts, or their unit's work.
pub async fn in_scope(
    client: &impl GenericClient,
    site_id: i64,
    user_id: i32,
    unit: Option<&str>,
) -> Result<bool, DbError> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM user_district ud JOIN site s ON s.district_id = ud.district_id
                             WHERE ud.user_id = $2 AND s.id = $1)
                 OR EXISTS (SELECT 1 FROM site WHERE id = $1 AND responsible_unit IS NOT NULL
                              AND responsible_unit = $3)",
            &[&site_id, &user_id, &unit],
        )
        .await?
        .get(0))
}

/// A defence land parcel's plan as stored, with its area (EPSG:9209, m²).
#[derive(Debug, Clone)]
pub struct LandRecord {
    pub area_m2: Option<f64>,
    /// `None` when no plan was entered yet.
    pub plan: Option<crate::domain::land::LandPlan>,
    pub plan_period: String,
    pub version: i32,
}

/// The land-use plan of work `site_id`, and its area.
pub async fn land(client: &impl GenericClient, site_id: i64) -> Result<LandRecord, DbError> {
    use crate::domain::{LandLegalStatus, LandUse};
    let row = client
        .query_one(
            "SELECT s.land_area_m2, l.five_year, l.current_use::text, l.planned_use::text,
                    l.legal_status::text, l.decision_no, l.decision_date,
                    coalesce(l.plan_period, '2021-2030'), coalesce(l.version, 0)
               FROM site_all s LEFT JOIN land_parcel l ON l.site_id = s.id WHERE s.id = $1",
            &[&site_id],
        )
        .await?;
    let unknown = |what: &str| DbError::Data(format!("unknown {what} in the database"));
    let plan = match row.get::<_, Option<String>>(1) {
        None => None,
        Some(five_year) => Some(crate::domain::land::LandPlan {
            five_year,
            current_use: LandUse::from_code(row.get(2)).ok_or_else(|| unknown("land use"))?,
            planned_use: LandUse::from_code(row.get(3)).ok_or_else(|| unknown("land use"))?,
            legal_status: LandLegalStatus::from_code(row.get(4))
                .ok_or_else(|| unknown("legal status"))?,
            decision: row
                .get::<_, Option<String>>(5)
                .zip(row.get::<_, Option<chrono::NaiveDate>>(6)),
        }),
    };
    Ok(LandRecord {
        area_m2: row.get(0),
        plan,
        plan_period: row.get(7),
        version: row.get(8),
    })
}
