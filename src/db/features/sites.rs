//! The works as features: which match a filter, and each written as GeoJSON from its columns.

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::json::{push_json_opt, push_json_str};
use super::{bbox_envelope, geojson_geometry_text, Binds, SiteFilter};
use crate::db::DbError;
use crate::domain::{Classification, LayerGroup};
use crate::spatial::crs::Crs;

pub(super) const SITE_FROM: &str = "site s JOIN site_kind k ON k.code = s.kind";

pub(crate) fn site_conditions(filter: &SiteFilter, binds: &mut Binds) -> String {
    // Investments without a place on the map are in no collection and no GIS file.
    let mut conditions = vec!["s.geom IS NOT NULL".to_string()];
    if let Some(group) = filter.group {
        conditions.push(format!("k.layer_group = {}", binds.bind(group.code())));
    }
    if let Some(clearance) = filter.clearance {
        // Equality on the allowed levels: measured cheaper per row than ordering the enum.
        let allowed: Vec<String> = Classification::ALL
            .iter()
            .filter(|c| **c <= clearance)
            .map(|c| c.code().to_string())
            .collect();
        conditions.push(format!(
            "s.classification = ANY({}::text[]::classification[])",
            binds.bind(allowed)
        ));
    }
    if !filter.kinds.is_empty() {
        let codes: Vec<String> = filter.kinds.iter().map(|k| k.code().to_string()).collect();
        conditions.push(format!("s.kind = ANY({})", binds.bind(codes)));
    }
    if !filter.statuses.is_empty() {
        let codes: Vec<String> = filter
            .statuses
            .iter()
            .map(|k| k.code().to_string())
            .collect();
        conditions.push(format!("s.status::text = ANY({})", binds.bind(codes)));
    }
    if !filter.district_ids.is_empty() || !filter.foreign_area_ids.is_empty() {
        conditions.push(format!(
            "(s.district_id = ANY({}) OR s.foreign_area_id = ANY({}))",
            binds.bind(filter.district_ids.clone()),
            binds.bind(filter.foreign_area_ids.clone())
        ));
    }
    if !filter.phases.is_empty() {
        conditions.push(format!(
            "s.phase = ANY({})",
            binds.bind(filter.phases.clone())
        ));
    }
    if !filter.programmes.is_empty() {
        let codes: Vec<String> = filter
            .programmes
            .iter()
            .map(|p| p.code().to_string())
            .collect();
        conditions.push(format!("s.programme::text = ANY({})", binds.bind(codes)));
    }
    if let Some(q) = &filter.q {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        conditions.push(format!(
            "search_key(s.code || ' ' || s.name) LIKE '%' || search_key({}) || '%'",
            binds.bind(escaped)
        ));
    }
    if let Some(bbox) = &filter.bbox {
        let envelope = bbox_envelope(bbox, binds);
        conditions.push(if bbox.crs.srid() == 4326 {
            // The envelope is a true rectangle: a work whose box lies inside it intersects
            // it, and only works across its edge need the exact (GEOS) test.
            format!(
                "s.geom && {envelope} AND (s.geom @ {envelope} OR ST_Intersects(s.geom, {envelope}))"
            )
        } else {
            format!("s.geom && {envelope} AND ST_Intersects(s.geom, {envelope})")
        });
    }
    if let Some(interval) = filter.datetime {
        if let Some(start) = interval.start {
            conditions.push(format!("s.updated_at >= {}", binds.bind(start)));
        }
        if let Some(end) = interval.end {
            conditions.push(format!("s.updated_at <= {}", binds.bind(end)));
        }
    }
    if let Some(cql) = &filter.cql {
        conditions.push(super::filter::filter_sql(cql, binds));
    }
    conditions.join(" AND ")
}

/// The columns a site feature is written from (see [`write_site_feature`]), the geometry last.
fn site_columns(crs: Crs) -> String {
    format!(
        "s.code, s.name, s.name_en, s.kind, k.layer_group, s.status::text, s.progress_pct,
         coalesce(d.short_name, a.name_vi, a.name), coalesce(d.code, a.code), c.name,
         s.foreign_area_id IS NOT NULL, s.phase, s.programme::text, s.responsible_unit,
         s.classification::text, s.planned_start, s.planned_finish, s.actual_start, s.actual_finish,
         s.updated_at, s.version,
         coalesce(b.estimate, 0)::bigint, coalesce(b.allocated, 0)::bigint,
         coalesce(b.disbursed, 0)::bigint, coalesce(b.settled, 0)::bigint,
         {geometry}",
        geometry = geojson_geometry_text("s.geom", crs)
    )
}

/// Writes one GeoJSON Feature from the [`site_columns`] of `row`, starting at column `at`.
/// Built here rather than by `json_build_object`: PostgreSQL's JSON functions were half
/// the database time of a 1 000-feature page.
fn write_site_feature(out: &mut String, row: &Row, at: usize) {
    use std::fmt::Write;
    let text = |i: usize| row.get::<_, Option<&str>>(at + i);
    let date = |i: usize| row.get::<_, Option<NaiveDate>>(at + i);
    let int = |i: usize| row.get::<_, i64>(at + i);
    let code = text(0).unwrap_or_default();
    out.push_str("{\"type\":\"Feature\",\"id\":");
    push_json_str(out, code);
    out.push_str(",\"geometry\":");
    out.push_str(text(25).unwrap_or("null"));
    out.push_str(",\"properties\":{");
    let field = |out: &mut String, name: &str| {
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
    };
    let strings = [
        ("code", 0),
        ("name", 1),
        ("name_en", 2),
        ("kind", 3),
        ("layer", 4),
        ("status", 5),
    ];
    for (i, (name, col)) in strings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, name);
        push_json_opt(out, text(*col));
    }
    out.push(',');
    field(out, "percent");
    let _ = write!(out, "{}", row.get::<_, i16>(at + 6));
    for (name, col) in [("district", 7), ("district_code", 8), ("commune", 9)] {
        out.push(',');
        field(out, name);
        push_json_opt(out, text(col));
    }
    out.push(',');
    field(out, "country");
    out.push_str(if row.get::<_, bool>(at + 10) {
        "\"KH\""
    } else {
        "\"VN\""
    });
    out.push(',');
    field(out, "phase");
    match row.get::<_, Option<i16>>(at + 11) {
        Some(p) => {
            let _ = write!(out, "{p}");
        }
        None => out.push_str("null"),
    }
    for (name, col) in [
        ("programme", 12),
        ("responsible_unit", 13),
        ("classification", 14),
    ] {
        out.push(',');
        field(out, name);
        push_json_opt(out, text(col));
    }
    for (name, col) in [
        ("planned_start", 15),
        ("planned_finish", 16),
        ("actual_start", 17),
        ("actual_finish", 18),
    ] {
        out.push(',');
        field(out, name);
        match date(col) {
            Some(d) => {
                let _ = write!(out, "\"{}\"", d.format("%Y-%m-%d"));
            }
            None => out.push_str("null"),
        }
    }
    out.push(',');
    field(out, "updated_at");
    let updated: DateTime<Utc> = row.get(at + 19);
    let _ = write!(
        out,
        "\"{}\"",
        updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    out.push(',');
    field(out, "version");
    let _ = write!(out, "{}", row.get::<_, i32>(at + 20));
    for (name, col) in [
        ("estimate_vnd", 21),
        ("allocated_vnd", 22),
        ("disbursed_vnd", 23),
        ("settled_vnd", 24),
    ] {
        out.push(',');
        field(out, name);
        let _ = write!(out, "{}", int(col));
    }
    out.push_str("}}");
}

const SITE_DETAIL_JOINS: &str = "
      LEFT JOIN admin_unit d ON d.id = s.district_id
      LEFT JOIN admin_unit c ON c.id = s.commune_id
      LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
      LEFT JOIN LATERAL (
            SELECT sum(estimate_vnd) AS estimate, sum(allocated_vnd) AS allocated,
                   sum(disbursed_vnd) AS disbursed, sum(settled_vnd) AS settled
              FROM budget_line WHERE site_id = s.id) b ON true";

/// The ids of every site matching `filter`, in id order (the order pages follow).
pub async fn matching_site_ids(
    client: &impl GenericClient,
    filter: &SiteFilter,
) -> Result<Vec<i64>, DbError> {
    let mut binds = Binds::default();
    let conditions = site_conditions(filter, &mut binds);
    let sql = format!("SELECT s.id FROM {SITE_FROM} WHERE {conditions} ORDER BY s.id");
    let statement = client.prepare_cached(&sql).await?;
    let rows = client.query(&statement, &binds.refs()).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The sites of `ids` as GeoJSON features in `crs`, in the order given.
pub async fn site_features(
    client: &impl GenericClient,
    ids: &[i64],
    crs: Crs,
) -> Result<Vec<String>, DbError> {
    let sql = format!(
        "SELECT {columns}
           FROM unnest($1::bigint[]) WITH ORDINALITY AS p(id, n)
           JOIN site s ON s.id = p.id JOIN site_kind k ON k.code = s.kind
           {SITE_DETAIL_JOINS}
          ORDER BY p.n",
        columns = site_columns(crs),
    );
    let statement = client.prepare_cached(&sql).await?;
    let rows = client.query(&statement, &[&ids]).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut feature = String::with_capacity(1024);
            write_site_feature(&mut feature, row, 0);
            feature
        })
        .collect())
}

/// One site by code, if it is in the group and within the clearance.
pub async fn site_feature(
    client: &impl GenericClient,
    group: Option<LayerGroup>,
    code: &str,
    crs: Crs,
    clearance: Option<Classification>,
) -> Result<Option<String>, DbError> {
    let filter = SiteFilter {
        group,
        clearance,
        ..SiteFilter::default()
    };
    let mut binds = Binds::default();
    let conditions = site_conditions(&filter, &mut binds);
    let sql = format!(
        "SELECT {columns} FROM {SITE_FROM} {SITE_DETAIL_JOINS}
          WHERE s.code = {code} AND {conditions}",
        code = binds.bind(code.to_string()),
        columns = site_columns(crs),
    );
    let statement = client.prepare_cached(&sql).await?;
    let row = client.query_opt(&statement, &binds.refs()).await?;
    Ok(row.map(|r| {
        let mut feature = String::with_capacity(1024);
        write_site_feature(&mut feature, &r, 0);
        feature
    }))
}
