//! What is loaded: counts for the home page and for /readyz.

use tokio_postgres::GenericClient;

use super::DbError;
use crate::domain::Classification;

/// Sites per kind, per district, and the context layers, for the first page.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// (kind code, count), every kind present even at zero, in kind order.
    pub by_kind: Vec<(String, i64)>,
    /// (district name, count); sites outside Vietnam under "" last.
    pub by_district: Vec<(String, i64)>,
    pub abroad: i64,
    /// Investments without a place and without a district (province-wide purchases).
    pub province_wide: i64,
    pub total_sites: i64,
    pub districts: i64,
    pub communes: i64,
    pub border_km: f64,
    pub adjacent_areas: i64,
    pub rivers: i64,
    pub history_rows: i64,
    pub budget_lines: i64,
}

/// Counts everything shown on the first page, in one round trip per topic; only works up
/// to `clearance` are counted.
pub async fn overview(
    client: &impl GenericClient,
    clearance: Classification,
) -> Result<Overview, DbError> {
    let clearance = clearance.code();
    let by_kind = client
        .query(
            "SELECT k.code, count(s.id)
               FROM site_kind k LEFT JOIN site s
                 ON s.kind = k.code AND s.classification <= $1::text::classification
              GROUP BY k.code ORDER BY k.code",
            &[&clearance],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let by_district = client
        .query(
            "SELECT d.short_name, count(s.id)
               FROM admin_unit d LEFT JOIN site s
                 ON s.district_id = d.id AND s.classification <= $1::text::classification
              WHERE d.level = 'district'
              GROUP BY d.id, d.short_name, d.code ORDER BY d.code",
            &[&clearance],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM site WHERE classification <= $1::text::classification),
                    (SELECT count(*) FROM site
                      WHERE foreign_area_id IS NOT NULL AND classification <= $1::text::classification),
                    (SELECT count(*) FROM admin_unit WHERE level = 'district'),
                    (SELECT count(*) FROM admin_unit WHERE level = 'commune'),
                    (SELECT coalesce(sum(ST_Length(geom::geography)), 0) / 1000
                       FROM border_line WHERE is_primary),
                    (SELECT count(*) FROM adjacent_area),
                    (SELECT count(*) FROM river),
                    (SELECT count(*) FROM progress_history h JOIN site s ON s.id = h.site_id
                      WHERE s.classification <= $1::text::classification),
                    (SELECT count(*) FROM budget_line b JOIN site s ON s.id = b.site_id
                      WHERE s.classification <= $1::text::classification),
                    (SELECT count(*) FROM site
                      WHERE geom IS NULL AND district_id IS NULL AND classification <= $1::text::classification)",
            &[&clearance],
        )
        .await?;
    Ok(Overview {
        by_kind,
        by_district,
        total_sites: row.get(0),
        abroad: row.get(1),
        province_wide: row.get(9),
        districts: row.get(2),
        communes: row.get(3),
        border_km: row.get(4),
        adjacent_areas: row.get(5),
        rivers: row.get(6),
        history_rows: row.get(7),
        budget_lines: row.get(8),
    })
}
