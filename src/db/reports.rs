//! What an official report reads besides the dashboard's figures (issue 24 §7): the works
//! changed in its period, the works' points for its map, the district outlines, and the
//! highest classification it holds. Every read starts from the dashboard's `state` (the
//! works visible at the requester's clearance, in the scope, as they stood), so a report
//! holds what its dashboard holds and nothing else.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::dashboard::{site_rows, Params, SiteRow, SITE_ROW};
use super::DbError;

/// One change of a work in the report's period.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub district: String,
    pub at: DateTime<Utc>,
    pub old_status: Option<String>,
    pub new_status: String,
    pub old_pct: Option<i16>,
    pub new_pct: i16,
}

/// The changes recorded from `from` to the report's moment (its as-of day's end, or
/// now), newest first, at most `limit`; and how many there were in all.
pub async fn changes(
    client: &impl GenericClient,
    p: &Params,
    from: DateTime<Utc>,
    limit: i64,
) -> Result<(Vec<Change>, i64), DbError> {
    let sql = format!(
        "{}
         , changed AS (
             SELECT h.site_id, h.recorded_at, h.old_status::text AS old_status,
                    h.new_status::text AS new_status, h.old_pct, h.new_pct, h.id
               FROM progress_history h JOIN state st ON st.id = h.site_id
              WHERE h.recorded_at >= $11 AND h.recorded_at < coalesce($2::timestamptz, now()))
         SELECT sa.code, sa.name, st.kind, coalesce(d.short_name, ''), c.recorded_at, c.old_status,
                c.new_status, c.old_pct, c.new_pct, count(*) OVER ()
           FROM changed c JOIN state st ON st.id = c.site_id JOIN site_all sa ON sa.id = c.site_id
           LEFT JOIN admin_unit d ON d.id = st.district_id
          ORDER BY c.recorded_at DESC, c.id DESC LIMIT $12",
        p.state()
    );
    let bound = p.bound();
    let rows = client.query(&sql, &bound.args(&[&from, &limit])).await?;
    let total = rows.first().map_or(0, |r| r.get(9));
    let changes = rows
        .iter()
        .map(|r| Change {
            code: r.get(0),
            name: r.get(1),
            kind: r.get(2),
            district: r.get(3),
            at: r.get(4),
            old_status: r.get(5),
            new_status: r.get(6),
            old_pct: r.get(7),
            new_pct: r.get(8),
        })
        .collect();
    Ok((changes, total))
}

/// The investments without a place on the map that the report counts, as they stood, each
/// with its category (at most `limit`, by code); and how many there are, their estimate and
/// what was disbursed, all of them.
pub async fn investments(
    client: &impl GenericClient,
    p: &Params,
    limit: i64,
) -> Result<(Vec<(SiteRow, String)>, [i64; 3]), DbError> {
    let sql = format!(
        "{}\n{} JOIN investment i ON i.site_id = f.id ORDER BY sa.code LIMIT $11",
        p.state(),
        SITE_ROW.replace(
            ", f.last_update",
            ", f.last_update, i.category::text, count(*) OVER (), sum(f.e) OVER ()::int8,
               sum(f.d) OVER ()::int8"
        )
    );
    let bound = p.bound();
    let rows = client.query(&sql, &bound.args(&[&limit])).await?;
    let totals = rows
        .first()
        .map_or([0; 3], |r| [r.get(12), r.get(13), r.get(14)]);
    let categories = rows.iter().map(|r| r.get::<_, String>(11));
    Ok((
        site_rows(&rows).into_iter().zip(categories).collect(),
        totals,
    ))
}

/// Each work's point (longitude, latitude) and status, as the report's map shows them.
pub async fn points(
    client: &impl GenericClient,
    p: &Params,
) -> Result<Vec<(f64, f64, String)>, DbError> {
    let sql = format!(
        "{}
         SELECT ST_X(s.point), ST_Y(s.point), st.status::text
           FROM state st
           JOIN LATERAL (SELECT ST_PointOnSurface(a.geom) AS point FROM site_all a
                          WHERE a.id = st.id AND a.geom IS NOT NULL) s ON true",
        p.state()
    );
    let bound = p.bound();
    let rows = client.query(&sql, &bound.args(&[])).await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// The highest classification among the works the report counts (`None`: no work).
pub async fn highest_classification(
    client: &impl GenericClient,
    p: &Params,
) -> Result<Option<String>, DbError> {
    let sql = format!(
        "{}
         SELECT max(a.classification)::text FROM state st JOIN site_all a ON a.id = st.id",
        p.state()
    );
    let bound = p.bound();
    Ok(client.query_one(&sql, &bound.args(&[])).await?.get(0))
}

/// Outlines for the map, simplified, as lines of (longitude, latitude): the province's
/// and its districts' boundaries and the border with Cambodia; `(kind, line)` with kind
/// "province", "district" or "border".
pub async fn outlines(
    client: &impl GenericClient,
) -> Result<Vec<(String, Vec<(f64, f64)>)>, DbError> {
    let rows = client
        .query(
            "WITH shapes AS (
                 SELECT level AS kind, ST_Boundary(ST_SimplifyPreserveTopology(geom, 0.0005)) AS g
                   FROM admin_unit WHERE level IN ('province', 'district') AND geom IS NOT NULL
                 UNION ALL
                 SELECT 'border', ST_SimplifyPreserveTopology(geom, 0.0005) FROM border_line WHERE is_primary)
             SELECT kind, ST_AsGeoJSON((ST_Dump(ST_Multi(g))).geom, 5) FROM shapes",
            &[],
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let kind: String = r.get(0);
        let json: serde_json::Value =
            serde_json::from_str(r.get(1)).map_err(|e| DbError::Data(format!("outline: {e}")))?;
        let line = json["coordinates"]
            .as_array()
            .map(|points| {
                points
                    .iter()
                    .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        out.push((kind, line));
    }
    Ok(out)
}

/// The bounds (west, south, east, north) of a district by code, for a district's map.
pub async fn district_bounds(
    client: &impl GenericClient,
    code: &str,
) -> Result<Option<[f64; 4]>, DbError> {
    let row = client
        .query_opt(
            "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)
               FROM admin_unit WHERE level = 'district' AND code = $1",
            &[&code],
        )
        .await?;
    Ok(row.map(|r| [r.get(0), r.get(1), r.get(2), r.get(3)]))
}
