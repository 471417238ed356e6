//! A checked CQL2 filter ([`Filter`]) as a SQL condition on the works (`s`, `k` of
//! `SITE_FROM`): each property is a fixed column expression, each literal a bound value.

use chrono::{DateTime, Utc};

use super::{bbox_envelope, Binds};
use crate::params::filter::{Filter, Geom, SpatialOp, TemporalOp, Time, Type, Value};
use crate::spatial::crs::Crs;

/// `filter` as a SQL condition, its values bound in `binds`.
pub(crate) fn filter_sql(filter: &Filter, binds: &mut Binds) -> String {
    match filter {
        Filter::Bool(true) => "true".into(),
        Filter::Bool(false) => "false".into(),
        Filter::And(parts) | Filter::Or(parts) => {
            let joiner = if matches!(filter, Filter::And(_)) {
                " AND "
            } else {
                " OR "
            };
            let parts: Vec<String> = parts.iter().map(|p| filter_sql(p, binds)).collect();
            format!("({})", parts.join(joiner))
        }
        Filter::Not(inner) => format!("(NOT {})", filter_sql(inner, binds)),
        Filter::Compare(op, a, b) => {
            format!("({} {} {})", value(a, binds), op.sql(), value(b, binds))
        }
        Filter::Like(a, b) => format!("({} LIKE {})", value(a, binds), value(b, binds)),
        Filter::Between(a, low, high) => format!(
            "({} BETWEEN {} AND {})",
            value(a, binds),
            value(low, binds),
            value(high, binds)
        ),
        Filter::In(a, list) => {
            let a = value(a, binds);
            let list: Vec<String> = list.iter().map(|v| value(v, binds)).collect();
            format!("({a} IN ({}))", list.join(", "))
        }
        Filter::IsNull(a) => format!("({} IS NULL)", value(a, binds)),
        Filter::Spatial(op, a, b) => {
            let function = match op {
                SpatialOp::Intersects => "ST_Intersects",
                SpatialOp::Equals => "ST_Equals",
                SpatialOp::Disjoint => "ST_Disjoint",
                SpatialOp::Touches => "ST_Touches",
                SpatialOp::Within => "ST_Within",
                SpatialOp::Overlaps => "ST_Overlaps",
                SpatialOp::Crosses => "ST_Crosses",
                SpatialOp::Contains => "ST_Contains",
            };
            format!("{function}({}, {})", geom(a, binds), geom(b, binds))
        }
        Filter::DWithin(a, b, metres) => format!(
            "ST_DWithin({}::geography, {}::geography, {})",
            geom(a, binds),
            geom(b, binds),
            binds.bind(*metres)
        ),
        Filter::Temporal(op, a, b) => temporal(*op, a, b, binds),
    }
}

/// The column expression of a queryable of the works (see `params::filter::SITE_QUERYABLES`).
fn column(name: &str) -> &'static str {
    match name {
        "code" => "s.code",
        "name" => "s.name",
        "name_en" => "s.name_en",
        "kind" => "s.kind",
        "layer" => "k.layer_group",
        "status" => "s.status::text",
        "percent" => "s.progress_pct",
        "district" => {
            "coalesce((SELECT d.short_name FROM admin_unit d WHERE d.id = s.district_id),
                      (SELECT coalesce(a.name_vi, a.name) FROM adjacent_area a WHERE a.id = s.foreign_area_id))"
        }
        "district_code" => {
            "coalesce((SELECT d.code FROM admin_unit d WHERE d.id = s.district_id),
                      (SELECT a.code FROM adjacent_area a WHERE a.id = s.foreign_area_id))"
        }
        "commune" => "(SELECT c.name FROM admin_unit c WHERE c.id = s.commune_id)",
        "country" => "(CASE WHEN s.foreign_area_id IS NULL THEN 'VN' ELSE 'KH' END)",
        "phase" => "s.phase",
        "programme" => "s.programme::text",
        "responsible_unit" => "s.responsible_unit",
        "classification" => "s.classification::text",
        "planned_start" => "s.planned_start",
        "planned_finish" => "s.planned_finish",
        "actual_start" => "s.actual_start",
        "actual_finish" => "s.actual_finish",
        "updated_at" => "s.updated_at",
        "version" => "s.version",
        "estimate_vnd" => "(SELECT coalesce(sum(estimate_vnd), 0) FROM budget_line WHERE site_id = s.id)",
        "allocated_vnd" => "(SELECT coalesce(sum(allocated_vnd), 0) FROM budget_line WHERE site_id = s.id)",
        "disbursed_vnd" => "(SELECT coalesce(sum(disbursed_vnd), 0) FROM budget_line WHERE site_id = s.id)",
        "settled_vnd" => "(SELECT coalesce(sum(settled_vnd), 0) FROM budget_line WHERE site_id = s.id)",
        "geometry" => "s.geom",
        other => unreachable!("queryable '{other}' has no column"),
    }
}

fn value(v: &Value, binds: &mut Binds) -> String {
    match v {
        Value::Property(q) => column(q.name).to_string(),
        Value::Text(t) => format!("{}::text", binds.bind(t.clone())),
        Value::Number(n) => format!("{}::float8", binds.bind(*n)),
        Value::Bool(b) => format!("{}::boolean", binds.bind(*b)),
        Value::Date(d) => format!("{}::date", binds.bind(*d)),
        Value::Timestamp(t) => format!("{}::timestamptz", binds.bind(*t)),
        Value::CaseI(inner) => format!("lower({})", value(inner, binds)),
        Value::AccentI(inner) => format!(
            "public.unaccent('public.unaccent'::regdictionary, {})",
            value(inner, binds)
        ),
    }
}

/// A geometry in EPSG:4326. A literal is read once (a sub-select) and made valid, so
/// a self-crossing ring is not an error halfway through the scan.
fn geom(g: &Geom, binds: &mut Binds) -> String {
    match g {
        Geom::Property => "s.geom".into(),
        Geom::Bbox(b) => bbox_envelope(b, binds),
        Geom::Literal { geojson, crs } => {
            let read = format!(
                "ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON({})), {})",
                binds.bind(geojson.clone()),
                crs.srid()
            );
            let in_4326 = match crs {
                Crs::Crs84 => read,
                Crs::Epsg4326 => format!("ST_SetSRID(ST_FlipCoordinates({read}), 4326)"),
                Crs::Vn2000Tm3 => format!("from_vn2000_tm3({read})"),
                Crs::Epsg3857 => format!("ST_Transform({read}, 4326)"),
            };
            format!("(SELECT ST_MakeValid({in_4326}))")
        }
    }
}

/// The start and end of a time as `timestamptz` expressions; an instant is both.
fn ends(t: &Time, binds: &mut Binds) -> (String, String) {
    let mut instant = |at: Option<DateTime<Utc>>, open: &str| match at {
        Some(at) => format!("{}::timestamptz", binds.bind(at)),
        None => format!("'{open}'::timestamptz"),
    };
    match t {
        Time::Property(q) => {
            let c = if q.ty == Type::Date {
                format!("({}::timestamp AT TIME ZONE 'UTC')", column(q.name))
            } else {
                column(q.name).to_string()
            };
            (c.clone(), c)
        }
        Time::Instant(at) => {
            let v = instant(Some(*at), "");
            (v.clone(), v)
        }
        Time::Interval(start, end) => (instant(*start, "-infinity"), instant(*end, "infinity")),
    }
}

/// The temporal operators as CQL2 defines them on (start, end) pairs.
fn temporal(op: TemporalOp, a: &Time, b: &Time, binds: &mut Binds) -> String {
    let (s1, e1) = ends(a, binds);
    let (s2, e2) = ends(b, binds);
    let condition = match op {
        TemporalOp::After => format!("{s1} > {e2}"),
        TemporalOp::Before => format!("{e1} < {s2}"),
        TemporalOp::Contains => format!("{s1} < {s2} AND {e1} > {e2}"),
        TemporalOp::Disjoint => format!("NOT ({s1} <= {e2} AND {e1} >= {s2})"),
        TemporalOp::During => format!("{s1} > {s2} AND {e1} < {e2}"),
        TemporalOp::Equals => format!("{s1} = {s2} AND {e1} = {e2}"),
        TemporalOp::FinishedBy => format!("{s1} < {s2} AND {e1} = {e2}"),
        TemporalOp::Finishes => format!("{s1} > {s2} AND {e1} = {e2}"),
        TemporalOp::Intersects => format!("{s1} <= {e2} AND {e1} >= {s2}"),
        TemporalOp::Meets => format!("{e1} = {s2}"),
        TemporalOp::MetBy => format!("{s1} = {e2}"),
        TemporalOp::OverlappedBy => format!("{s1} > {s2} AND {s1} < {e2} AND {e1} > {e2}"),
        TemporalOp::Overlaps => format!("{s1} < {s2} AND {e1} > {s2} AND {e1} < {e2}"),
        TemporalOp::StartedBy => format!("{s1} = {s2} AND {e1} > {e2}"),
        TemporalOp::Starts => format!("{s1} = {s2} AND {e1} < {e2}"),
    };
    format!("({condition})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::filter::{parse, SITE_QUERYABLES};

    /// Whatever a filter holds, the SQL is made of fixed text and `$n` placeholders.
    #[test]
    fn user_text_never_reaches_the_sql() {
        for text in [
            "name = 'x''; DROP TABLE site; --'",
            "name LIKE '%'' OR 1=1 --'",
            "CASEI(name) IN ('a'')) OR true --', 'b')",
            "S_INTERSECTS(geometry, POINT(106 11)) AND code = '$1'",
        ] {
            let filter = parse(text, None, None, SITE_QUERYABLES).unwrap();
            let mut binds = Binds::default();
            let sql = filter_sql(&filter, &mut binds);
            for bad in ["DROP", "1=1", "OR true", "'$1'", "x'"] {
                assert!(!sql.contains(bad), "{text}: {sql}");
            }
            assert!(!binds.refs().is_empty());
        }
    }

    #[test]
    fn every_queryable_has_a_column() {
        for q in SITE_QUERYABLES {
            assert!(!column(q.name).is_empty());
        }
    }
}
