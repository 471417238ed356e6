//! The areas a map filter offers: Tây Ninh's districts, then the Cambodian provinces where
//! search zones lie.

use deadpool_postgres::GenericClient;

use super::DbError;

/// An area to filter by: its code and its name in Vietnamese and in English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaName {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

/// Districts first, then the Cambodian provinces, each by name.
pub async fn filter_areas(client: &impl GenericClient) -> Result<Vec<AreaName>, DbError> {
    names(
        client,
        "SELECT code, short_name, coalesce(name_en, short_name), 0 AS o FROM admin_unit WHERE level = 'district'
         UNION ALL
         SELECT code, coalesce(name_vi, name), name, 1 FROM adjacent_area WHERE country = 'KH'
         ORDER BY 4, 2",
    )
    .await
}

/// Tây Ninh's districts by name: the scopes a dashboard or report offers.
pub async fn districts(client: &impl GenericClient) -> Result<Vec<AreaName>, DbError> {
    names(
        client,
        "SELECT code, short_name, coalesce(name_en, short_name) FROM admin_unit
          WHERE level = 'district' ORDER BY short_name",
    )
    .await
}

async fn names(client: &impl GenericClient, sql: &str) -> Result<Vec<AreaName>, DbError> {
    Ok(client
        .query(sql, &[])
        .await?
        .iter()
        .map(|r| AreaName {
            code: r.get(0),
            name_vi: r.get(1),
            name_en: r.get(2),
        })
        .collect())
}

/// The communes of the list with their district: (id, code, name, district code,
/// district name).
pub async fn communes(
    client: &impl GenericClient,
) -> Result<Vec<(i32, String, String, String, String)>, DbError> {
    Ok(client
        .query(
            "SELECT c.id, c.code, c.name, d.code, d.short_name
               FROM admin_unit c JOIN admin_unit d ON d.id = c.parent_id
              WHERE c.level = 'commune' ORDER BY c.code",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect())
}

/// The communes with a boundary, by where their boundaries come from ("simulated …" for
/// the demo's, "imported from FILE …" for an import's): (source, how many).
pub async fn boundary_sources(client: &impl GenericClient) -> Result<Vec<(String, i64)>, DbError> {
    Ok(client
        .query(
            "SELECT coalesce(source, ''), count(*) FROM admin_unit
              WHERE level = 'commune' AND geom IS NOT NULL GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Where the boundaries of one import wait until they are written (dropped at commit).
pub async fn stage_boundaries(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), DbError> {
    tx.batch_execute(
        "CREATE TEMP TABLE staged_boundary (unit_id integer PRIMARY KEY,
                                            geom geometry(MultiPolygon, 4326) NOT NULL) ON COMMIT DROP",
    )
    .await?;
    Ok(())
}

/// Why a boundary read from a file cannot be a commune's.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundaryFault {
    /// No geometry at all.
    Missing,
    /// Nothing of it is an area.
    NotPolygonal,
    /// Its inside point is this many kilometres from the commune's district.
    OutsideDistrict(f64),
}

/// Stages the boundary `wkb` (in the PROJ system `proj`, WGS 84 when `None`) of the
/// admin unit `unit_id`: made valid, its areas kept, in WGS 84; refused when it has no
/// area or lies more than `slack` degrees outside the unit's district.
pub async fn stage_boundary(
    tx: &deadpool_postgres::Transaction<'_>,
    unit_id: i32,
    wkb: Option<&[u8]>,
    proj: Option<&str>,
    slack: f64,
) -> Result<Option<BoundaryFault>, DbError> {
    let Some(wkb) = wkb else {
        return Ok(Some(BoundaryFault::Missing));
    };
    let row = tx
        .query_one(
            "WITH read AS (
                 SELECT CASE WHEN $3::text IS NULL THEN ST_SetSRID(ST_GeomFromWKB($2), 4326)
                             ELSE ST_SetSRID(ST_Transform(ST_SetSRID(ST_GeomFromWKB($2), 0), $3::text,
                                                          '+proj=longlat +datum=WGS84 +no_defs'), 4326) END AS g),
             area AS (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) AS g FROM read)
             SELECT ST_IsEmpty(a.g), ST_Distance(ST_PointOnSurface(a.g), d.geom) * 111.32, a.g
               FROM area a, admin_unit c JOIN admin_unit d ON d.id = c.parent_id
              WHERE c.id = $1",
            &[&unit_id, &wkb, &proj],
        )
        .await?;
    if row.get::<_, bool>(0) {
        return Ok(Some(BoundaryFault::NotPolygonal));
    }
    let km: f64 = row.get(1);
    if km > slack * 111.32 {
        return Ok(Some(BoundaryFault::OutsideDistrict(km)));
    }
    tx.execute(
        "INSERT INTO staged_boundary (unit_id, geom)
         SELECT $1, ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3))
           FROM (SELECT CASE WHEN $3::text IS NULL THEN ST_SetSRID(ST_GeomFromWKB($2), 4326)
                             ELSE ST_SetSRID(ST_Transform(ST_SetSRID(ST_GeomFromWKB($2), 0), $3::text,
                                                          '+proj=longlat +datum=WGS84 +no_defs'), 4326) END AS g) x",
        &[&unit_id, &wkb, &proj],
    )
    .await?;
    Ok(None)
}

/// Where the staged boundaries overlap each other, or a real (imported) boundary the
/// import keeps, by more than `min_m2`: (unit, other unit, overlap in m²), largest first.
/// A point in an overlap takes the commune of the lower id (`commune_of`), so an overlap
/// is a warning to read, not a refusal: official files often have slivers.
pub async fn staged_overlaps(
    tx: &deadpool_postgres::Transaction<'_>,
    min_m2: f64,
) -> Result<Vec<(i32, i32, f64)>, DbError> {
    Ok(tx
        .query(
            "WITH kept AS (
                 SELECT id AS unit_id, geom FROM admin_unit
                  WHERE level = 'commune' AND geom IS NOT NULL AND source NOT LIKE 'simulated%'
                    AND id NOT IN (SELECT unit_id FROM staged_boundary)),
             pairs AS (
                 SELECT a.unit_id AS a, b.unit_id AS b, ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS m2
                   FROM staged_boundary a JOIN staged_boundary b
                     ON a.unit_id < b.unit_id AND ST_Intersects(a.geom, b.geom)
                 UNION ALL
                 SELECT a.unit_id, k.unit_id, ST_Area(ST_Intersection(a.geom, k.geom)::geography)
                   FROM staged_boundary a JOIN kept k ON ST_Intersects(a.geom, k.geom))
             SELECT a, b, m2 FROM pairs WHERE m2 > $1 ORDER BY m2 DESC, a, b",
            &[&min_m2],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Writes the staged boundaries (the demo's simulated ones of communes left out are
/// dropped), derives every work's commune again and audits the import as `actor`: how
/// many works changed commune.
pub async fn write_boundaries(
    tx: &deadpool_postgres::Transaction<'_>,
    file_name: &str,
    actor: &str,
) -> Result<i64, DbError> {
    let written = tx
        .execute(
            "UPDATE admin_unit a
                SET geom = s.geom, source = 'imported from ' || $1::text || ' on ' || current_date
               FROM staged_boundary s WHERE a.id = s.unit_id",
            &[&file_name],
        )
        .await?;
    tx.batch_execute(
        "UPDATE admin_unit SET geom = NULL, source = 'GSO list of 01/03/2020 via dvhcvn'
          WHERE level = 'commune' AND source LIKE 'simulated%';
         SET LOCAL kvpt.bulk = 'on';",
    )
    .await?;
    let moved = tx
        .execute(
            "WITH n AS (SELECT id, commune_of(ST_PointOnSurface(geom), district_id) AS commune
                          FROM site_all)
             UPDATE site_all s SET commune_id = n.commune
               FROM n WHERE s.id = n.id AND s.commune_id IS DISTINCT FROM n.commune",
            &[],
        )
        .await?;
    tx.batch_execute(
        "SELECT bulk_load_done();
         UPDATE layer_version SET version = version + 1, changed_at = now()
          WHERE layer IN ('communes', 'labels');",
    )
    .await?;
    let change = super::audit::Change {
        user_id: None,
        actor,
        action: "communes.import",
        entity: "admin_unit",
        key: file_name,
        before: None,
        after: serde_json::json!({ "boundaries": written, "works_moved": moved }),
    };
    super::audit::record(tx, &change).await?;
    Ok(moved as i64)
}
