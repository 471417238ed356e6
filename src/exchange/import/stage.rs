//! The database side of an import, inside the one transaction that checks and (when
//! everything passes) writes: rows copied into a temporary table, their geometry brought
//! to WGS 84 and judged by PostGIS (validity, type, where it lies, the work its code
//! names), then the works inserted and updated set-wise with their history and audit.

use chrono::NaiveDate;
use deadpool_postgres::Transaction;
use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

use super::check::{Existing, Final, Found};
use super::rows::Incoming;
use super::source::SourceLayer;
use super::{Importer, PROVINCE_BUFFER_M};
use crate::db::DbError;
use crate::domain::{Classification, Programme, SiteStatus};
use crate::search::rules::Figures;

const WGS84: &str = "+proj=longlat +datum=WGS84 +no_defs";

/// Copies the rows in and returns what PostGIS finds about each, in row order.
///
/// Only works at or below `clearance` are joined: a work the importer may not see is never
/// read here (not its kind, not its place, not its state), so no check can speak of it. Its
/// code comes back as `code_taken` alone, which a new work's code must not be.
pub async fn analyse(
    tx: &Transaction<'_>,
    layers: &[SourceLayer],
    rows: &[Incoming],
    clearance: Classification,
    lock: bool,
) -> Result<Vec<Found>, DbError> {
    tx.batch_execute(
        "CREATE TEMP TABLE import_layer (layer int PRIMARY KEY, proj text) ON COMMIT DROP;
         CREATE TEMP TABLE import_row (row int PRIMARY KEY, layer int NOT NULL, code text,
                                       kind text, src bytea) ON COMMIT DROP;",
    )
    .await?;
    for (i, layer) in layers.iter().enumerate() {
        let proj = layer.crs.as_ref().and_then(|c| c.proj.clone());
        tx.execute(
            "INSERT INTO import_layer (layer, proj) VALUES ($1, $2)",
            &[&(i as i32), &proj],
        )
        .await?;
    }
    let sink = tx
        .copy_in("COPY import_row (row, layer, code, kind, src) FROM STDIN BINARY")
        .await?;
    let writer = BinaryCopyInWriter::new(
        sink,
        &[Type::INT4, Type::INT4, Type::TEXT, Type::TEXT, Type::BYTEA],
    );
    pin_mut!(writer);
    for r in rows {
        let kind = r.kind.map(|k| k.code());
        writer
            .as_mut()
            .write(&[&(r.row as i32), &(r.layer as i32), &r.code, &kind, &r.wkb])
            .await?;
    }
    writer.finish().await?;
    tx.batch_execute("ANALYZE import_row").await?;
    // The works the importer may see: every join on `site` below carries it. (The code
    // comes from the enum, never from the request.) Investments without a place on the map
    // are not works an import writes: their codes are taken.
    let visible = format!(
        "s.classification <= '{}'::classification AND s.geom IS NOT NULL",
        clearance.code()
    );
    if lock {
        // What the rules are checked against stays as it is until the commit.
        tx.execute(
            &format!(
                "SELECT 1 FROM site s WHERE s.code IN (SELECT code FROM import_row) AND {visible}
                  ORDER BY s.id FOR UPDATE"
            ),
            &[],
        )
        .await?;
        // And their zones' figures, which search teams write locking the zone alone: an
        // update committed meanwhile is not written over with what was read before it.
        tx.execute(
            &format!(
                "SELECT 1 FROM search_zone z JOIN site s ON s.id = z.site_id
                  WHERE s.code IN (SELECT code FROM import_row) AND {visible}
                  ORDER BY z.site_id FOR UPDATE OF z"
            ),
            &[],
        )
        .await?;
    }
    // The geometry in WGS 84, curves made lines, closed lines made polygons where the
    // work's kind takes polygons and no lines, single points out of one-point multipoints.
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE import_geom ON COMMIT DROP AS
         SELECT r.row, src.g AS src, fixed.closed_to_polygon,
                CASE WHEN l.proj IS NULL THEN ST_SetSRID(fixed.g, 4326)
                     ELSE ST_SetSRID(ST_Transform(ST_SetSRID(fixed.g, 0), l.proj, '{WGS84}'), 4326) END AS geom
           FROM import_row r
           JOIN import_layer l USING (layer)
           LEFT JOIN site s ON s.code = r.code AND {visible}
           CROSS JOIN LATERAL (SELECT ST_Force2D(CASE WHEN ST_HasArc(w.g) THEN ST_CurveToLine(w.g) ELSE w.g END) AS g
                                 FROM (SELECT ST_GeomFromWKB(r.src) AS g) w) src
           CROSS JOIN LATERAL (
               SELECT (GeometryType(src.g) = 'LINESTRING' AND ST_IsClosed(src.g) AND ST_NPoints(src.g) >= 4
                       AND EXISTS (SELECT 1 FROM site_kind_geometry WHERE kind = coalesce(r.kind, s.kind) AND family = 'polygon')
                       AND NOT EXISTS (SELECT 1 FROM site_kind_geometry WHERE kind = coalesce(r.kind, s.kind) AND family = 'line'))
                      AS closed_to_polygon) c
           CROSS JOIN LATERAL (
               SELECT c.closed_to_polygon,
                      CASE WHEN c.closed_to_polygon THEN ST_MakePolygon(src.g)
                           WHEN GeometryType(src.g) = 'MULTIPOINT' AND ST_NumGeometries(src.g) = 1 THEN ST_GeometryN(src.g, 1)
                           ELSE src.g END AS g) fixed
          WHERE r.src IS NOT NULL;
         ALTER TABLE import_geom ADD PRIMARY KEY (row);
         ANALYZE import_geom;"
    ))
    .await?;
    let found = tx
        .query(
            &format!(
                "WITH allowed AS (
                     SELECT ST_Buffer(ST_Union(geom)::geography, {PROVINCE_BUFFER_M})::geometry AS province
                       FROM admin_unit WHERE level = 'province'),
                 cambodia AS (SELECT ST_Union(geom) AS geom FROM adjacent_area WHERE country = 'KH'),
                 dup AS (SELECT code, array_agg(row ORDER BY row) AS rows FROM import_row
                          WHERE code IS NOT NULL GROUP BY code HAVING count(*) > 1)
                 SELECT r.row, geometry_family(g.geom), ST_IsEmpty(g.src),
                        ST_IsValid(g.src), ST_IsValidReason(g.src) AS reason,
                        v.location,
                        CASE WHEN g.geom IS NULL OR ST_IsEmpty(g.geom) THEN true
                             ELSE ST_CoveredBy(g.geom, a.province)
                               OR (coalesce(r.kind, s.kind, '') = 'remains_search_zone'
                                   AND ST_CoveredBy(g.geom, ST_Union(a.province, kh.geom))) END AS inside,
                        g.closed_to_polygon,
                        d.rows,
                        s.id, s.kind, s.classification::text, s.version, s.status::text, s.progress_pct,
                        s.name, s.name_en, s.programme::text, s.phase, s.responsible_unit,
                        s.planned_start, s.planned_finish, s.actual_start, s.actual_finish, s.district_id,
                        z.remains_expected, z.remains_found, z.area_concluded_ha::float8,
                        CASE WHEN s.id IS NOT NULL AND g.geom IS NOT NULL AND NOT ST_IsEmpty(g.geom)
                                  AND geometry_family(g.geom) = s.geom_family
                             THEN ST_HausdorffDistance(s.geom, g.geom) < 1e-7 ELSE false END AS same,
                        g.geom,
                        s.id IS NULL AND EXISTS (SELECT 1 FROM site_all t WHERE t.code = r.code) AS taken,
                        z.site_id IS NOT NULL, z.map_drawn, z.map_drawn_on, z.concluded_on, z.unit_in_charge,
                        lp.site_id IS NOT NULL, lp.five_year, lp.current_use::text, lp.planned_use::text,
                        lp.legal_status::text, lp.decision_no, lp.decision_date
                   FROM import_row r
                   LEFT JOIN import_geom g USING (row)
                   LEFT JOIN site s ON s.code = r.code AND {visible}
                   LEFT JOIN search_zone z ON z.site_id = s.id
                   LEFT JOIN land_parcel lp ON lp.site_id = s.id
                   LEFT JOIN dup d ON d.code = r.code
                   CROSS JOIN allowed a CROSS JOIN cambodia kh
                   LEFT JOIN LATERAL (
                       SELECT CASE WHEN l.proj IS NULL THEN ARRAY[ST_X(p), ST_Y(p), ST_X(p), ST_Y(p)]
                                   ELSE ARRAY[ST_X(p), ST_Y(p),
                                              ST_X(ST_Transform(ST_SetSRID(p, 0), l.proj, '{WGS84}')),
                                              ST_Y(ST_Transform(ST_SetSRID(p, 0), l.proj, '{WGS84}'))] END AS location
                         FROM import_layer l, (SELECT (ST_IsValidDetail(g.src)).location AS p) x
                        WHERE l.layer = r.layer AND g.src IS NOT NULL AND NOT ST_IsValid(g.src)) v ON true
                  ORDER BY r.row"
            ),
            &[],
        )
        .await?;
    // Where each valid geometry lies: its district, and how far outside it is when outside.
    let placed = tx
        .query(
            "SELECT g.row,
                    (SELECT id FROM admin_unit u WHERE u.level = 'district'
                        AND ST_Intersects(u.geom, ST_PointOnSurface(g.geom)) ORDER BY id LIMIT 1)
               FROM import_geom g
              WHERE NOT ST_IsEmpty(g.geom) AND ST_IsValid(g.geom)",
            &[],
        )
        .await?;
    let mut districts = std::collections::HashMap::new();
    for p in placed {
        districts.insert(p.get::<_, i32>(0), p.get::<_, Option<i32>>(1));
    }
    let review = tx
        .query_opt("SELECT review FROM app_setting", &[])
        .await?
        .is_some_and(|r| r.get::<_, bool>(0));
    let mut out = Vec::with_capacity(found.len());
    let mut outside = Vec::new();
    for row in found {
        let r: i32 = row.get(0);
        let existing = row.get::<_, Option<i64>>(9).map(|id| Existing {
            id,
            kind: row.get(10),
            classification: Classification::from_code(row.get(11))
                .unwrap_or(Classification::Secret),
            version: row.get(12),
            status: SiteStatus::from_code(row.get(13)).unwrap_or(SiteStatus::Planned),
            percent: row.get(14),
            name: row.get(15),
            name_en: row.get(16),
            programme: Programme::from_code(row.get(17)).unwrap_or(Programme::Kvpt2021),
            phase: row.get(18),
            unit: row.get(19),
            planned_start: row.get::<_, Option<NaiveDate>>(20),
            planned_finish: row.get(21),
            actual_start: row.get(22),
            actual_finish: row.get(23),
            district_id: row.get(24),
            zone: row.get::<_, bool>(31).then(|| Figures {
                remains_expected: row.get(25),
                remains_found: row.get(26),
                area_concluded_ha: row.get(27),
                map_drawn: row.get(32),
                map_drawn_on: row.get(33),
                concluded_on: row.get(34),
                unit_in_charge: row.get(35),
            }),
            land: land_of(&row, 36),
        });
        let inside: bool = row.get(6);
        let valid: Option<bool> = row.get(3);
        if !inside {
            outside.push(r);
        }
        out.push(Found {
            family: row.get(1),
            empty: row.get::<_, Option<bool>>(2).unwrap_or(false),
            valid: valid.unwrap_or(true),
            reason: row.get(4),
            location: row
                .get::<_, Option<Vec<f64>>>(5)
                .and_then(|v| v.try_into().ok()),
            inside,
            outside_km: None,
            closed_to_polygon: row.get::<_, Option<bool>>(7).unwrap_or(false),
            same_code_rows: row.get::<_, Option<Vec<i32>>>(8).unwrap_or_default(),
            existing,
            same_geometry: row.get(28),
            code_taken: row.get(30),
            district_id: districts.get(&r).copied().flatten(),
            review,
        });
    }
    if !outside.is_empty() {
        let far = tx
            .query(
                "SELECT g.row, ST_Distance(g.geom::geography, p.geom::geography) / 1000
                   FROM import_geom g, (SELECT ST_Union(geom) AS geom FROM admin_unit WHERE level = 'province') p
                  WHERE g.row = ANY($1) AND ST_IsValid(g.geom)",
                &[&outside],
            )
            .await?;
        for f in far {
            let r: i32 = f.get(0);
            if let Some(found) = out.get_mut(r as usize - 1) {
                found.outside_km = f.get(1);
            }
        }
    }
    Ok(out)
}

/// From this many rows an import writes as a bulk load (one version bump per layer).
const BULK_ROWS: usize = 500;

/// Writes every row of `finals` (all checked): new works inserted, changed ones updated,
/// each with a history row when its progress moved and an audit row; then the layers move
/// (once, for a bulk load). Returns (inserted, updated).
pub async fn write(
    tx: &Transaction<'_>,
    finals: &[Final],
    who: &Importer,
    import_id: i64,
    file_name: &str,
) -> Result<(u64, u64), DbError> {
    // A large import bumps every layer once (bulk); a small one (and every API write) lets
    // the per-row triggers bump just the layers and classifications it touched, so a write
    // to a secret work moves nothing a lower clearance's caches are keyed by.
    let bulk = finals.len() >= BULK_ROWS;
    if bulk {
        tx.batch_execute("SET LOCAL kvpt.bulk = 'on'").await?;
    }
    tx.batch_execute(
        "CREATE TEMP TABLE import_final (
             row int PRIMARY KEY, site_id bigint, code text NOT NULL, name text NOT NULL, name_en text,
             kind text NOT NULL, programme text NOT NULL, phase smallint, unit text, classification text NOT NULL,
             status text NOT NULL, pct smallint NOT NULL, planned_start date, planned_finish date,
             actual_start date, actual_finish date, geom_changed bool NOT NULL, progress_changed bool NOT NULL,
             zone bool NOT NULL, remains_expected int, remains_found int, area_ha float8,
             map_drawn bool, map_drawn_on date, concluded_on date, unit_in_charge text, note text, correction_reason text, changes text[] NOT NULL,
             land bool NOT NULL, land_five_year text, land_current_use text, land_planned_use text,
             land_legal_status text, land_decision_no text, land_decision_date date) ON COMMIT DROP;",
    )
    .await?;
    let sink = tx
        .copy_in(
            "COPY import_final (row, site_id, code, name, name_en, kind, programme, phase, unit,
                 classification, status, pct, planned_start, planned_finish, actual_start, actual_finish,
                 geom_changed, progress_changed, zone, remains_expected, remains_found, area_ha,
                 map_drawn, map_drawn_on, concluded_on, unit_in_charge, note, correction_reason, changes,
                 land, land_five_year, land_current_use, land_planned_use, land_legal_status,
                 land_decision_no, land_decision_date)
                 FROM STDIN BINARY",
        )
        .await?;
    let types = [
        Type::INT4,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT2,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT2,
        Type::DATE,
        Type::DATE,
        Type::DATE,
        Type::DATE,
        Type::BOOL,
        Type::BOOL,
        Type::BOOL,
        Type::INT4,
        Type::INT4,
        Type::FLOAT8,
        Type::BOOL,
        Type::DATE,
        Type::DATE,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT_ARRAY,
        Type::BOOL,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::DATE,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for f in finals {
        let z = f.zone.as_ref();
        let (zone, expected, found, area) = (
            z.is_some(),
            z.map(|z| z.remains_expected),
            z.map(|z| z.remains_found),
            z.map(|z| z.area_concluded_ha),
        );
        let (drawn, drawn_on, concluded_on, unit) = (
            z.map(|z| z.map_drawn),
            z.and_then(|z| z.map_drawn_on),
            z.and_then(|z| z.concluded_on),
            z.and_then(|z| z.unit_in_charge.clone()),
        );
        let l = f.land.as_ref();
        let (land, five_year, current, planned, legal) = (
            l.is_some(),
            l.map(|l| l.five_year.clone()),
            l.map(|l| l.current_use.code()),
            l.map(|l| l.planned_use.code()),
            l.map(|l| l.legal_status.code()),
        );
        let decision = l.and_then(|l| l.decision.clone());
        let (decision_no, decision_date) = (
            decision.as_ref().map(|d| d.0.clone()),
            decision.as_ref().map(|d| d.1),
        );
        writer
            .as_mut()
            .write(&[
                &f.row,
                &f.site_id,
                &f.code,
                &f.name,
                &f.name_en,
                &f.kind.code(),
                &f.programme.code(),
                &f.phase,
                &f.unit,
                &f.classification.code(),
                &f.status.code(),
                &f.percent,
                &f.planned_start,
                &f.planned_finish,
                &f.actual_start,
                &f.actual_finish,
                &f.geom_changed,
                &f.progress_changed,
                &zone,
                &expected,
                &found,
                &area,
                &drawn,
                &drawn_on,
                &concluded_on,
                &unit,
                &f.note,
                &f.correction_reason,
                &f.changes,
                &land,
                &five_year,
                &current,
                &planned,
                &legal,
                &decision_no,
                &decision_date,
            ])
            .await?;
    }
    writer.finish().await?;
    let note = if who.via == "api" {
        format!("{file_name} (API, lần ghi #{import_id})")
    } else {
        format!("Nhập từ tệp {file_name} (lần nhập #{import_id})")
    };
    let inserted = tx
        .execute(
            "WITH ins AS (
                 INSERT INTO site (code, name, name_en, kind, geom, programme, phase, responsible_unit,
                                   status, progress_pct, planned_start, planned_finish, actual_start,
                                   actual_finish, classification)
                 SELECT f.code, f.name, f.name_en, f.kind, g.geom, f.programme::programme, f.phase, f.unit,
                        f.status::site_status, f.pct, f.planned_start, f.planned_finish, f.actual_start,
                        f.actual_finish, f.classification::classification
                   FROM import_final f JOIN import_geom g USING (row)
                  WHERE f.site_id IS NULL
                  ORDER BY f.row
                 RETURNING id, code, version, status, progress_pct, actual_start, actual_finish),
             h AS (
                 INSERT INTO progress_history (site_id, recorded_by, actor, new_status, new_pct, note,
                                               actual_start, actual_finish, site_version)
                 SELECT ins.id, $1, $2, ins.status, ins.progress_pct, coalesce(f.note, $3), ins.actual_start,
                        ins.actual_finish, ins.version
                   FROM ins JOIN import_final f USING (code)),
             z AS (
                 INSERT INTO search_zone (site_id, remains_expected, remains_found, area_concluded_ha,
                                          map_drawn, map_drawn_on, concluded_on, unit_in_charge)
                 SELECT ins.id, f.remains_expected, f.remains_found, f.area_ha, f.map_drawn, f.map_drawn_on,
                        f.concluded_on, f.unit_in_charge
                   FROM ins JOIN import_final f USING (code) WHERE f.zone),
             l AS (
                 INSERT INTO land_parcel (site_id, five_year, current_use, planned_use, legal_status,
                                          decision_no, decision_date)
                 SELECT ins.id, f.land_five_year, f.land_current_use::land_use, f.land_planned_use::land_use,
                        f.land_legal_status::land_legal_status, f.land_decision_no, f.land_decision_date
                   FROM ins JOIN import_final f USING (code) WHERE f.land)
             INSERT INTO audit_log (user_id, actor, action, entity, entity_key, before, after)
             SELECT $1, $2, 'site.import', 'site', ins.code, NULL,
                    to_jsonb(f) - 'row' - 'site_id' - 'geom_changed' - 'progress_changed' - 'changes'
                        || jsonb_build_object('import_id', $4::int8)
               FROM ins JOIN import_final f USING (code)",
            &[&who.user_id, &who.name, &note, &import_id],
        )
        .await?;
    let updated = tx
        .execute(
            "WITH old AS (
                 SELECT s.id, s.name, s.name_en, s.programme, s.phase, s.responsible_unit, s.classification,
                        s.status, s.progress_pct, s.planned_start, s.planned_finish, s.actual_start,
                        s.actual_finish, s.version, ST_AsText(s.geom) AS geom_wkt
                   FROM site s JOIN import_final f ON f.site_id = s.id),
             upd AS (
                 UPDATE site s
                    SET name = f.name, name_en = f.name_en, programme = f.programme::programme, phase = f.phase,
                        responsible_unit = f.unit, classification = f.classification::classification,
                        status = f.status::site_status, progress_pct = f.pct,
                        planned_start = f.planned_start, planned_finish = f.planned_finish,
                        actual_start = f.actual_start, actual_finish = f.actual_finish,
                        geom = CASE WHEN f.geom_changed THEN g.geom ELSE s.geom END,
                        version = s.version + 1, updated_at = now()
                   FROM import_final f LEFT JOIN import_geom g USING (row)
                  WHERE s.id = f.site_id
                 RETURNING s.id, s.code, s.version, s.status, s.progress_pct, s.actual_start, s.actual_finish),
             h AS (
                 INSERT INTO progress_history (site_id, recorded_by, actor, old_status, new_status, old_pct,
                                               new_pct, note, correction_reason, actual_start, actual_finish,
                                               site_version)
                 SELECT u.id, $1, $2, o.status, u.status, o.progress_pct, u.progress_pct, coalesce(f.note, $3),
                        f.correction_reason, u.actual_start, u.actual_finish, u.version
                   FROM upd u JOIN old o USING (id) JOIN import_final f ON f.site_id = u.id
                  WHERE f.progress_changed),
             z AS (
                 INSERT INTO search_zone (site_id, remains_expected, remains_found, area_concluded_ha,
                                          map_drawn, map_drawn_on, concluded_on, unit_in_charge)
                 SELECT f.site_id, f.remains_expected, f.remains_found, f.area_ha, f.map_drawn, f.map_drawn_on,
                        f.concluded_on, f.unit_in_charge
                   FROM import_final f WHERE f.zone AND f.site_id IS NOT NULL
                 ON CONFLICT (site_id) DO UPDATE
                    SET remains_expected = excluded.remains_expected, remains_found = excluded.remains_found,
                        area_concluded_ha = excluded.area_concluded_ha, map_drawn = excluded.map_drawn,
                        map_drawn_on = excluded.map_drawn_on, concluded_on = excluded.concluded_on,
                        unit_in_charge = excluded.unit_in_charge, version = search_zone.version + 1
                  -- Unchanged figures keep their version: waiting submissions stay current.
                  WHERE (search_zone.remains_expected, search_zone.remains_found, search_zone.area_concluded_ha,
                         search_zone.map_drawn, search_zone.map_drawn_on, search_zone.concluded_on,
                         search_zone.unit_in_charge)
                        IS DISTINCT FROM (excluded.remains_expected, excluded.remains_found, excluded.area_concluded_ha,
                                          excluded.map_drawn, excluded.map_drawn_on, excluded.concluded_on,
                                          excluded.unit_in_charge)),
             l AS (
                 INSERT INTO land_parcel (site_id, five_year, current_use, planned_use, legal_status,
                                          decision_no, decision_date)
                 SELECT f.site_id, f.land_five_year, f.land_current_use::land_use, f.land_planned_use::land_use,
                        f.land_legal_status::land_legal_status, f.land_decision_no, f.land_decision_date
                   FROM import_final f WHERE f.land AND f.site_id IS NOT NULL
                 ON CONFLICT (site_id) DO UPDATE
                    SET five_year = excluded.five_year, current_use = excluded.current_use,
                        planned_use = excluded.planned_use, legal_status = excluded.legal_status,
                        decision_no = excluded.decision_no, decision_date = excluded.decision_date,
                        version = land_parcel.version + 1, updated_at = now()
                  WHERE (land_parcel.five_year, land_parcel.current_use, land_parcel.planned_use,
                         land_parcel.legal_status, land_parcel.decision_no, land_parcel.decision_date)
                        IS DISTINCT FROM (excluded.five_year, excluded.current_use, excluded.planned_use,
                                          excluded.legal_status, excluded.decision_no, excluded.decision_date))
             INSERT INTO audit_log (user_id, actor, action, entity, entity_key, before, after)
             SELECT $1, $2, 'site.import', 'site', u.code,
                    to_jsonb(o) - 'id' - CASE WHEN f.geom_changed THEN '' ELSE 'geom_wkt' END,
                    to_jsonb(f) - 'row' - 'site_id' - 'geom_changed' - 'progress_changed'
                        || jsonb_build_object('import_id', $4::int8, 'version', u.version)
               FROM upd u JOIN old o USING (id) JOIN import_final f ON f.site_id = u.id",
            &[&who.user_id, &who.name, &note, &import_id],
        )
        .await?;
    // Each zone's figures as the import left them are a row of its search history.
    let zones: Vec<i64> = tx
        .query(
            "SELECT s.id FROM import_final f JOIN site s USING (code) WHERE f.zone",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !zones.is_empty() {
        crate::search::store::record_as_written(tx, &zones, who.user_id, &who.name, &note).await?;
    }
    if bulk {
        tx.execute("SELECT bulk_load_done()", &[]).await?;
    }
    Ok((inserted, updated))
}

/// The import's own audit row: the file and what it did.
pub async fn audit(
    tx: &Transaction<'_>,
    who: &Importer,
    import_id: i64,
    file_name: &str,
    counts: &super::Counts,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO audit_log (user_id, actor, action, entity, entity_key, after)
         VALUES ($1, $2, 'import', 'import', $3, $4)",
        &[
            &who.user_id,
            &who.name,
            &import_id.to_string(),
            &serde_json::json!({
                "file": file_name, "inserted": counts.insert, "updated": counts.update,
                "unchanged": counts.unchanged,
            }),
        ],
    )
    .await?;
    Ok(())
}

/// A land parcel's plan from the found row's columns from `at` (has one, five-year period,
/// current use, planned use, legal status, decision number and date).
fn land_of(row: &tokio_postgres::Row, at: usize) -> Option<crate::domain::land::LandPlan> {
    use crate::domain::{LandLegalStatus, LandUse};
    if !row.get::<_, bool>(at) {
        return None;
    }
    let number: Option<String> = row.get(at + 5);
    let date: Option<NaiveDate> = row.get(at + 6);
    Some(crate::domain::land::LandPlan {
        five_year: row.get(at + 1),
        current_use: LandUse::from_code(row.get(at + 2))?,
        planned_use: LandUse::from_code(row.get(at + 3))?,
        legal_status: LandLegalStatus::from_code(row.get(at + 4))?,
        decision: number.zip(date),
    })
}
