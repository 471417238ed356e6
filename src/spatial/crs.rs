//! The coordinate reference systems kvpt answers in (OGC API – Features Part 2).
//!
//! Data is stored in WGS 84 longitude/latitude (CRS84). A caller may ask for features
//! or give a bounding box in any of these; VN-2000 / TM-3 105°30′ goes through the
//! pinned EPSG:6960 transformation (see `geodata/VN2000.md`).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    /// WGS 84 longitude, latitude: the default and RFC 7946's only CRS.
    Crs84,
    /// WGS 84 with EPSG's axis order: latitude, longitude.
    Epsg4326,
    /// Web Mercator, metres.
    Epsg3857,
    /// VN-2000 / TM-3 105°30′: easting, northing in metres.
    Vn2000Tm3,
}

impl Crs {
    pub const ALL: &'static [Crs] = &[Crs::Crs84, Crs::Epsg4326, Crs::Epsg3857, Crs::Vn2000Tm3];

    /// The OGC URI naming this CRS, as `Content-Crs` and collection CRS lists give it.
    pub fn uri(self) -> &'static str {
        match self {
            Crs::Crs84 => "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            Crs::Epsg4326 => "http://www.opengis.net/def/crs/EPSG/0/4326",
            Crs::Epsg3857 => "http://www.opengis.net/def/crs/EPSG/0/3857",
            Crs::Vn2000Tm3 => "http://www.opengis.net/def/crs/EPSG/0/9209",
        }
    }

    /// The PostGIS SRID whose coordinates this CRS uses (axis order aside).
    pub fn srid(self) -> i32 {
        match self {
            Crs::Crs84 | Crs::Epsg4326 => 4326,
            Crs::Epsg3857 => 3857,
            Crs::Vn2000Tm3 => 9209,
        }
    }

    /// True when the first coordinate is latitude (northing) rather than longitude.
    pub fn lat_first(self) -> bool {
        self == Crs::Epsg4326
    }

    /// True for angular coordinates, which get 7 decimals (about 1 cm); metres get 3.
    pub fn is_geographic(self) -> bool {
        matches!(self, Crs::Crs84 | Crs::Epsg4326)
    }

    pub fn decimals(self) -> i32 {
        if self.is_geographic() {
            7
        } else {
            3
        }
    }

    /// Reads the URI, its `[EPSG:9209]` safe-CURIE form or the short `EPSG:9209` / `CRS84`.
    pub fn parse(text: &str) -> Result<Crs, CrsError> {
        let t = text.trim();
        let t = t
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(t);
        let t = t
            .strip_prefix("https://")
            .or_else(|| t.strip_prefix("http://"))
            .map(|rest| rest.replacen("www.opengis.net/def/crs/", "", 1))
            .unwrap_or_else(|| t.to_string());
        let normal = t.to_ascii_uppercase().replace("/0/", ":").replace('/', ":");
        match normal.as_str() {
            "OGC:1.3:CRS84" | "OGC:CRS84" | "CRS84" => Ok(Crs::Crs84),
            "EPSG:4326" => Ok(Crs::Epsg4326),
            "EPSG:3857" => Ok(Crs::Epsg3857),
            "EPSG:9209" => Ok(Crs::Vn2000Tm3),
            _ => Err(CrsError(text.to_string())),
        }
    }
}

/// `bbox` as given, in `bbox-crs` axis order: [min axis 1, min axis 2, max axis 1, max axis 2].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub coords: [f64; 4],
    pub crs: Crs,
}

impl Bbox {
    /// [min x, min y, max x, max y] with x east and y north, whatever the axis order.
    pub fn xy(&self) -> [f64; 4] {
        let [a, b, c, d] = self.coords;
        if self.crs.lat_first() {
            [b, a, d, c]
        } else {
            [a, b, c, d]
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrsError(pub String);

impl fmt::Display for CrsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Crs::ALL.iter().map(|c| c.uri()).collect();
        write!(
            f,
            "'{}' is not a supported CRS; use one of {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for CrsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_uris_curies_and_short_forms() {
        for (text, crs) in [
            ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", Crs::Crs84),
            ("CRS84", Crs::Crs84),
            ("OGC:CRS84", Crs::Crs84),
            ("http://www.opengis.net/def/crs/EPSG/0/4326", Crs::Epsg4326),
            ("EPSG:4326", Crs::Epsg4326),
            ("[EPSG:3857]", Crs::Epsg3857),
            ("epsg:9209", Crs::Vn2000Tm3),
            ("http://www.opengis.net/def/crs/EPSG/0/9209", Crs::Vn2000Tm3),
        ] {
            assert_eq!(Crs::parse(text), Ok(crs), "{text}");
        }
        for crs in Crs::ALL {
            assert_eq!(Crs::parse(crs.uri()), Ok(*crs));
        }
    }

    #[test]
    fn refuses_others_and_lists_the_known_ones() {
        let err = Crs::parse("EPSG:32648").unwrap_err();
        assert!(err.to_string().contains("EPSG:32648"));
        assert!(err.to_string().contains("EPSG/0/9209"));
        assert!(Crs::parse("").is_err());
        assert!(Crs::parse("EPSG:43260").is_err());
    }
}
