//! What the demo generator places sites against: the province, its districts,
//! the border and the Cambodian provinces, read from PostGIS and projected to a
//! local metric plane so distances can be reasoned about in metres.

use geo::{BoundingRect, LineString, MapCoords, MultiLineString, MultiPolygon, Point, Rect};
use tokio_postgres::GenericClient;

use crate::db::DbError;

/// An equirectangular plane around Tây Ninh: metres east and north of (lon0, lat0).
/// Over the province (about 1° across) distances are right to within 0.5%.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl Frame {
    pub fn around(lon0: f64, lat0: f64) -> Self {
        let kx = 111_320.0 * lat0.to_radians().cos();
        Self {
            lon0,
            lat0,
            kx,
            ky: 110_574.0,
        }
    }

    /// lon/lat → metres.
    pub fn to_plane(&self, lon: f64, lat: f64) -> (f64, f64) {
        ((lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky)
    }

    /// metres → lon/lat.
    pub fn to_lonlat(&self, x: f64, y: f64) -> (f64, f64) {
        (self.lon0 + x / self.kx, self.lat0 + y / self.ky)
    }
}

#[derive(Debug, Clone)]
pub struct District {
    pub code: String,
    pub abbr: String,
    pub name: String,
    pub short_name: String,
    pub borders_cambodia: bool,
    pub geom: MultiPolygon,
    pub bbox: Rect,
    pub centre: Point,
}

#[derive(Debug, Clone)]
pub struct ForeignArea {
    pub code: String,
    pub abbr: String,
    pub name_vi: String,
    pub geom: MultiPolygon,
    pub bbox: Rect,
}

/// The loaded context, in plane coordinates.
#[derive(Debug, Clone)]
pub struct Context {
    pub frame: Frame,
    pub province: MultiPolygon,
    pub province_bbox: Rect,
    pub districts: Vec<District>,
    /// The primary border line, as one or more parts.
    pub border: Vec<LineString>,
    pub cambodia: Vec<ForeignArea>,
}

fn parse(json: &str, frame: &Frame) -> Result<geo::Geometry, DbError> {
    let geometry: geojson::Geometry = json
        .parse()
        .map_err(|e| DbError::Data(format!("geometry from PostGIS: {e}")))?;
    let geometry: geo::Geometry = geometry
        .try_into()
        .map_err(|e| DbError::Data(format!("geometry from PostGIS: {e}")))?;
    Ok(geometry.map_coords(|c| {
        let (x, y) = frame.to_plane(c.x, c.y);
        geo::coord! { x: x, y: y }
    }))
}

fn multi_polygon(json: &str, frame: &Frame) -> Result<MultiPolygon, DbError> {
    match parse(json, frame)? {
        geo::Geometry::MultiPolygon(mp) => Ok(mp),
        geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        other => Err(DbError::Data(format!("expected a polygon, got {other:?}"))),
    }
}

fn bbox(geom: &MultiPolygon) -> Result<Rect, DbError> {
    geom.bounding_rect()
        .ok_or_else(|| DbError::Data("empty polygon in geodata".into()))
}

impl Context {
    /// Reads the context layers; fails with a clear message if they are not loaded.
    pub async fn load(client: &impl GenericClient) -> Result<Self, DbError> {
        let frame = Frame::around(106.0, 11.3);
        let province = client
            .query_opt(
                "SELECT ST_AsGeoJSON(geom) FROM admin_unit WHERE level = 'province' ORDER BY id LIMIT 1",
                &[],
            )
            .await?
            .ok_or_else(|| DbError::Data("no province loaded: run `kvpt geodata load` first".into()))?;
        let province = multi_polygon(province.get(0), &frame)?;

        let mut districts = Vec::new();
        for row in client
            .query(
                "SELECT code, coalesce(abbr, code), name, short_name, borders_cambodia,
                        ST_AsGeoJSON(geom), ST_AsGeoJSON(ST_PointOnSurface(geom))
                   FROM admin_unit WHERE level = 'district' ORDER BY code",
                &[],
            )
            .await?
        {
            let geom = multi_polygon(row.get(5), &frame)?;
            let centre = match parse(row.get(6), &frame)? {
                geo::Geometry::Point(p) => p,
                _ => return Err(DbError::Data("district point is not a point".into())),
            };
            districts.push(District {
                code: row.get(0),
                abbr: row.get(1),
                name: row.get(2),
                short_name: row.get(3),
                borders_cambodia: row.get(4),
                bbox: bbox(&geom)?,
                geom,
                centre,
            });
        }

        let mut border = Vec::new();
        for row in client
            .query(
                "SELECT ST_AsGeoJSON(geom) FROM border_line WHERE is_primary",
                &[],
            )
            .await?
        {
            match parse(row.get(0), &frame)? {
                geo::Geometry::MultiLineString(MultiLineString(lines)) => border.extend(lines),
                geo::Geometry::LineString(line) => border.push(line),
                _ => return Err(DbError::Data("border is not a line".into())),
            }
        }

        let mut cambodia = Vec::new();
        for row in client
            .query(
                "SELECT code, coalesce(name_vi, name), ST_AsGeoJSON(geom)
                   FROM adjacent_area WHERE country = 'KH' ORDER BY code",
                &[],
            )
            .await?
        {
            let code: String = row.get(0);
            let name_vi: String = row.get(1);
            let abbr: String = name_vi
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .collect::<String>()
                .to_uppercase();
            let geom = multi_polygon(row.get(2), &frame)?;
            cambodia.push(ForeignArea {
                code,
                abbr: format!(
                    "K{}",
                    abbr.chars()
                        .filter(|c| c.is_ascii_alphabetic())
                        .collect::<String>()
                ),
                name_vi,
                bbox: bbox(&geom)?,
                geom,
            });
        }

        if districts.is_empty() || border.is_empty() || cambodia.is_empty() {
            return Err(DbError::Data(
                "context layers are incomplete: run `kvpt geodata load` on an empty database"
                    .into(),
            ));
        }
        Ok(Self {
            frame,
            province_bbox: bbox(&province)?,
            province,
            districts,
            border,
            cambodia,
        })
    }
}
