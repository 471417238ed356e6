//! `bbox`: four numbers (or six with heights) in a CRS, checked for order and range.

use super::ParamError;
use crate::spatial::crs::{Bbox, Crs};

/// How far from its origin (metres) a bbox in a plane CRS reaches.
const PLANE_LIMIT_M: f64 = 1.0e7;

pub fn parse_bbox(value: &str, crs: Crs) -> Result<Bbox, ParamError> {
    let bad = |reason: String| ParamError::new("bbox", reason);
    let numbers = value
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| bad(format!("'{}' is not a finite number", v.trim())))
        })
        .collect::<Result<Vec<f64>, ParamError>>()?;
    let coords = match numbers.as_slice() {
        [a, b, c, d] => [*a, *b, *c, *d],
        // With heights: min x, min y, min z, max x, max y, max z. Heights are ignored.
        [a, b, _, d, e, _] => [*a, *b, *d, *e],
        other => {
            return Err(bad(format!(
                "needs 4 numbers (or 6 with heights), not {}",
                other.len()
            )))
        }
    };
    // A plane CRS has a domain beyond which PostGIS cannot bring a point back to degrees
    // (VN-2000 TM-3 fails past about 20 000 km): nothing kvpt holds lies within 1 000 km
    // of those edges, so a box is cut to ±10 000 km, which selects the same works.
    let coords = if crs.is_geographic() {
        coords
    } else {
        // Web Mercator reaches ±20 037 508 m (Tây Ninh lies near x = 11 800 000).
        let limit = if crs == Crs::Epsg3857 {
            20_037_508.342_789_244
        } else {
            PLANE_LIMIT_M
        };
        coords.map(|c| c.clamp(-limit, limit))
    };
    let bbox = Bbox { coords, crs };
    let [x1, y1, x2, y2] = bbox.xy();
    if crs.is_geographic() {
        if !(-180.0..=180.0).contains(&x1) || !(-180.0..=180.0).contains(&x2) {
            return Err(bad("longitudes must lie between -180 and 180".into()));
        }
        if !(-90.0..=90.0).contains(&y1) || !(-90.0..=90.0).contains(&y2) {
            return Err(bad("latitudes must lie between -90 and 90".into()));
        }
        if x1 > x2 {
            return Err(bad(
                "the western edge is east of the eastern one; boxes across the antimeridian are not supported"
                    .into(),
            ));
        }
    } else if x1 > x2 {
        return Err(bad("the minimum easting is larger than the maximum".into()));
    }
    if y1 > y2 {
        return Err(bad("the southern edge is north of the northern one".into()));
    }
    Ok(bbox)
}
