//! Web-Mercator tile addresses (z/x/y, XYZ scheme) and their validation.

/// Deepest zoom served.
pub const MAX_ZOOM: u8 = 22;

/// Half the width of the Web-Mercator world, in metres (EPSG:3857's x of longitude 180).
pub const WEB_MERCATOR_HALF: f64 = 20_037_508.342_789_244;

/// A valid tile address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileCoord {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Why a tile address was refused: which part, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("{part} must be a whole number, not '{value}'")]
    NotANumber { part: &'static str, value: String },
    #[error("z must be between 0 and {MAX_ZOOM}, not {z}")]
    ZoomOutOfRange { z: i64 },
    #[error("{part} must be between 0 and {max} at zoom {z}, not {value}")]
    OutOfRange {
        part: &'static str,
        value: i64,
        max: u32,
        z: u8,
    },
    #[error("tiles end in .{expected}, not '{value}'")]
    Extension {
        expected: &'static str,
        value: String,
    },
}

fn number(part: &'static str, value: &str) -> Result<i64, TileError> {
    value.parse::<i64>().map_err(|_| TileError::NotANumber {
        part,
        value: value.chars().take(40).collect(),
    })
}

impl TileCoord {
    /// From the three path segments; `y_ext` is like "118.mvt".
    pub fn parse(
        z: &str,
        x: &str,
        y_ext: &str,
        extension: &'static str,
    ) -> Result<Self, TileError> {
        let y = y_ext
            .strip_suffix(extension)
            .and_then(|s| s.strip_suffix('.'))
            .ok_or_else(|| TileError::Extension {
                expected: extension,
                value: y_ext.chars().take(40).collect(),
            })?;
        let z = number("z", z)?;
        if !(0..=i64::from(MAX_ZOOM)).contains(&z) {
            return Err(TileError::ZoomOutOfRange { z });
        }
        let z = z as u8;
        let max = (1u32 << z) - 1;
        let check = |part: &'static str, value: i64| {
            if (0..=i64::from(max)).contains(&value) {
                Ok(value as u32)
            } else {
                Err(TileError::OutOfRange {
                    part,
                    value,
                    max,
                    z,
                })
            }
        };
        let x = check("x", number("x", x)?)?;
        let y = check("y", number("y", y)?)?;
        Ok(Self { z, x, y })
    }

    /// The tile's area in EPSG:3857 as [xmin, ymin, xmax, ymax], grown on each side by
    /// `buffer` of its width (64/4096: what a tile query reads around its tile).
    pub fn bounds_3857(&self, buffer: f64) -> [f64; 4] {
        let size = 2.0 * WEB_MERCATOR_HALF / f64::from(1u32 << self.z);
        let (x, y) = (f64::from(self.x), f64::from(self.y));
        let grow = size * buffer;
        [
            -WEB_MERCATOR_HALF + x * size - grow,
            WEB_MERCATOR_HALF - (y + 1.0) * size - grow,
            -WEB_MERCATOR_HALF + (x + 1.0) * size + grow,
            WEB_MERCATOR_HALF - y * size + grow,
        ]
    }

    /// The tile containing lon/lat at zoom `z`.
    pub fn containing(lon: f64, lat: f64, z: u8) -> Self {
        let n = f64::from(1u32 << z);
        let x = ((lon + 180.0) / 360.0 * n).floor();
        let lat = lat.to_radians();
        let y =
            ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
        let clamp = |v: f64| v.clamp(0.0, n - 1.0) as u32;
        Self {
            z,
            x: clamp(x),
            y: clamp(y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_parse() {
        assert_eq!(
            TileCoord::parse("8", "203", "119.mvt", "mvt"),
            Ok(TileCoord {
                z: 8,
                x: 203,
                y: 119
            })
        );
        assert_eq!(
            TileCoord::parse("0", "0", "0.mvt", "mvt"),
            Ok(TileCoord { z: 0, x: 0, y: 0 })
        );
    }

    #[test]
    fn bad_addresses_say_which_part_and_why() {
        let err = |z, x, y| TileCoord::parse(z, x, y, "mvt").unwrap_err().to_string();
        assert_eq!(
            err("23", "0", "0.mvt"),
            "z must be between 0 and 22, not 23"
        );
        assert_eq!(
            err("-1", "0", "0.mvt"),
            "z must be between 0 and 22, not -1"
        );
        assert_eq!(
            err("3", "8", "0.mvt"),
            "x must be between 0 and 7 at zoom 3, not 8"
        );
        assert_eq!(
            err("3", "0", "-2.mvt"),
            "y must be between 0 and 7 at zoom 3, not -2"
        );
        assert_eq!(err("a", "0", "0.mvt"), "z must be a whole number, not 'a'");
        assert_eq!(err("3", "0", "0.png"), "tiles end in .mvt, not '0.png'");
        assert_eq!(
            err("3", "0", "NaN.mvt"),
            "y must be a whole number, not 'NaN'"
        );
    }

    #[test]
    fn tile_bounds_in_web_mercator() {
        let world = TileCoord { z: 0, x: 0, y: 0 }.bounds_3857(0.0);
        assert_eq!(
            world,
            [
                -WEB_MERCATOR_HALF,
                -WEB_MERCATOR_HALF,
                WEB_MERCATOR_HALF,
                WEB_MERCATOR_HALF
            ]
        );
        // z1 x1 y0: the north-east quarter; a buffer of 1/4 grows each side by a quarter.
        let ne = TileCoord { z: 1, x: 1, y: 0 }.bounds_3857(0.25);
        let q = WEB_MERCATOR_HALF / 4.0;
        assert_eq!(ne, [-q, -q, WEB_MERCATOR_HALF + q, WEB_MERCATOR_HALF + q]);
    }

    #[test]
    fn the_tile_of_tay_ninh_city() {
        assert_eq!(
            TileCoord::containing(106.1, 11.3, 8),
            TileCoord {
                z: 8,
                x: 203,
                y: 119
            }
        );
    }
}
