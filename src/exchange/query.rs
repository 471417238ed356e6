//! The one query every export reads: the works a filter and a profile let out, each
//! with only the profile's fields and with its position coarsened where the profile says,
//! as they are now or as they stood at a past moment. Nothing the profile withholds is
//! selected, so no writer can leak it.

use chrono::{DateTime, NaiveDate, Utc};

use super::fields::Field;
use super::profile::{Coarsening, Profile};
use crate::db::features::{geojson_geometry_text, project, site_conditions, Binds, SiteFilter};
use crate::domain::SiteKind;
use crate::spatial::crs::Crs;

/// What one export asks for.
#[derive(Debug, Clone)]
pub struct Export {
    pub profile: Profile,
    /// The caller's filter; its clearance is the caller's (the profile's ceiling is
    /// applied on top, the lower of the two wins).
    pub filter: SiteFilter,
    /// As of the end of this day (Vietnam time), rebuilt from the histories.
    pub as_of: Option<NaiveDate>,
    /// The CRS of the coordinates written; GeoJSON is always CRS84. Lon/lat whether
    /// CRS84 or EPSG:4326 is asked for: GIS files store x = longitude either way.
    pub crs: Crs,
}

/// How the geometry column comes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryOut {
    /// RFC 7946 text: CRS84, rings counter-clockwise, 7 decimals.
    GeoJson,
    /// ISO WKB in the export's CRS, then X and Y of a point on it (for CSV).
    Wkb,
}

impl Export {
    pub fn cutoff(&self) -> Option<DateTime<Utc>> {
        self.as_of.and_then(crate::params::cutoff_of)
    }

    /// Kinds that may leave: the profile's, narrowed by the filter's when it names any.
    pub fn kinds(&self) -> Vec<SiteKind> {
        self.profile
            .kinds
            .iter()
            .copied()
            .filter(|k| self.filter.kinds.is_empty() || self.filter.kinds.contains(k))
            .collect()
    }

    /// The SQL and its parameters. Columns: the profile's fields in order (text, int8,
    /// float8, date or timestamptz), then the geometry (text or bytea), then for
    /// [`GeometryOut::Wkb`] two float8 columns X, Y.
    pub(crate) fn sql(&self, geometry: GeometryOut) -> (String, Binds) {
        let mut binds = Binds::default();
        let as_of = self.as_of.is_some();
        let mut filter = self.filter.clone();
        filter.clearance = Some(match filter.clearance {
            Some(c) if c < self.profile.ceiling => c,
            _ => self.profile.ceiling,
        });
        filter.kinds = self.kinds();
        let mut conditions = site_conditions(&filter, &mut binds);
        if filter.kinds.is_empty() {
            // The filter asked only for kinds the profile withholds: nothing leaves.
            conditions.push_str(" AND false");
        }
        let cutoff = self.cutoff();
        if as_of {
            let at = binds.bind(cutoff.unwrap_or_else(Utc::now));
            conditions.push_str(&format!(
                " AND s.created_at < {at} AND (s.deleted_at IS NULL OR s.deleted_at >= {at})"
            ));
        }
        let columns: Vec<&str> = self.profile.fields.iter().map(|f| f.sql(as_of)).collect();
        let position = self.position(&mut binds);
        let mut joins = String::from(
            "LEFT JOIN admin_unit d ON d.id = s.district_id
             LEFT JOIN admin_unit c ON c.id = s.commune_id
             LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id",
        );
        if as_of {
            let at = binds.bind(cutoff.unwrap_or_else(Utc::now));
            joins.push_str(&format!(
                "
             LEFT JOIN LATERAL (
                   SELECT ph.new_status, ph.new_pct, ph.actual_start, ph.actual_finish,
                          ph.recorded_at, ph.site_version
                     FROM progress_history ph
                    WHERE ph.site_id = s.id AND ph.recorded_at < {at}
                    ORDER BY ph.recorded_at DESC, ph.id DESC
                    LIMIT 1) h ON true"
            ));
            if self.profile.fields.iter().any(|f| f.is_budget()) {
                joins.push_str(&format!(
                    "
             LEFT JOIN LATERAL (
                   SELECT sum(x.estimate_vnd) AS estimate, sum(x.allocated_vnd) AS allocated,
                          sum(x.disbursed_vnd) AS disbursed, sum(x.settled_vnd) AS settled
                     FROM (SELECT DISTINCT ON (bh.year, bh.source) bh.*
                             FROM budget_history bh
                            WHERE bh.site_id = s.id AND bh.recorded_at < {at}
                            ORDER BY bh.year, bh.source, bh.recorded_at DESC, bh.id DESC) x) b ON true"
                ));
            }
        } else if self.profile.fields.iter().any(|f| f.is_budget()) {
            joins.push_str(
                "
             LEFT JOIN LATERAL (
                   SELECT sum(estimate_vnd) AS estimate, sum(allocated_vnd) AS allocated,
                          sum(disbursed_vnd) AS disbursed, sum(settled_vnd) AS settled
                     FROM budget_line WHERE site_id = s.id) b ON true",
            );
        }
        if self.profile.fields.iter().any(|f| f.is_search()) {
            joins.push_str("\n             LEFT JOIN search_zone z ON z.site_id = s.id");
        }
        if self.profile.fields.iter().any(|f| f.is_land()) {
            joins.push_str("\n             LEFT JOIN land_parcel l ON l.site_id = s.id");
        }
        if self.profile.coarsening == Coarsening::District {
            joins.push_str(
                "
             LEFT JOIN centre ce ON ce.key = CASE WHEN s.district_id IS NOT NULL
                                                  THEN 'd' || s.district_id
                                                  ELSE 'a' || s.foreign_area_id END",
            );
        }
        let centres = if self.profile.coarsening == Coarsening::District {
            "WITH centre AS MATERIALIZED (
                 SELECT 'd' || id AS key, ST_PointOnSurface(geom) AS pt
                   FROM admin_unit WHERE level = 'district' AND geom IS NOT NULL
                 UNION ALL
                 SELECT 'a' || id, ST_PointOnSurface(geom) FROM adjacent_area)
             "
        } else {
            ""
        };
        let mut select: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let geometry_join = match geometry {
            GeometryOut::GeoJson => {
                select.push(geojson_geometry_text(&position, Crs::Crs84));
                String::new()
            }
            GeometryOut::Wkb => {
                // Projected once, for the WKB and for the point X and Y are read from.
                select.push("ST_AsBinary(g.geom), ST_X(g.pt), ST_Y(g.pt)".to_string());
                format!(
                    "\n             CROSS JOIN LATERAL (SELECT p.geom, ST_PointOnSurface(p.geom) AS pt
                                   FROM (SELECT {} AS geom) p) g",
                    project(&position, match self.crs {
                        Crs::Epsg4326 => Crs::Crs84,
                        other => other,
                    })
                )
            }
        };
        let sql = format!(
            "{centres}SELECT {select}
               FROM {table} s JOIN site_kind k ON k.code = s.kind
             {joins}{geometry_join}
              WHERE {conditions}
              ORDER BY s.id",
            select = select.join(", "),
            // As of a date, the works deleted since stood then (`site` leaves them out).
            table = if as_of { "site_all" } else { "site" },
        );
        (sql, binds)
    }

    /// The position written for a work: its geometry, or for the profile's coarse kinds
    /// one point standing for it.
    fn position(&self, binds: &mut Binds) -> String {
        if self.profile.coarse_kinds.is_empty() || self.profile.coarsening == Coarsening::None {
            return "s.geom".to_string();
        }
        let codes: Vec<String> = self
            .profile
            .coarse_kinds
            .iter()
            .map(|k| k.code().to_string())
            .collect();
        let grid = |metres: String| {
            format!(
                "ST_Transform(ST_SnapToGrid(ST_Transform(ST_PointOnSurface(s.geom), 32648), {metres}), 4326)"
            )
        };
        let coarse = match self.profile.coarsening {
            Coarsening::Grid(m) => grid(binds.bind(m as f64)),
            // A work with no district or province falls back to a 10 km grid.
            _ => format!("coalesce(ce.pt, {})", grid("10000.0".to_string())),
        };
        format!(
            "CASE WHEN s.kind = ANY({}) THEN {coarse} ELSE s.geom END",
            binds.bind(codes)
        )
    }
}

/// The names of the fields the query returns, for writers that need them.
pub fn field_names(fields: &[&'static Field]) -> Vec<&'static str> {
    fields.iter().map(|f| f.name).collect()
}
