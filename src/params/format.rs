//! The file formats kvpt exchanges, with the names, media types and GDAL drivers of each.

use crate::spatial::crs::Crs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    GeoPackage,
    /// Zipped: one .shp/.shx/.dbf/.prj/.cpg set per geometry type, and metadata.txt.
    Shapefile,
    Kml,
    /// WKT geometry plus X and Y of a point on each work.
    Csv,
    FlatGeobuf,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Format::GeoJson,
        Format::GeoPackage,
        Format::Shapefile,
        Format::Kml,
        Format::Csv,
        Format::FlatGeobuf,
    ];

    /// The short name used in URLs, the CLI and the export log.
    pub fn code(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::GeoPackage => "gpkg",
            Format::Shapefile => "shp",
            Format::Kml => "kml",
            Format::Csv => "csv",
            Format::FlatGeobuf => "fgb",
        }
    }

    /// The file name extension of the download.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Shapefile => "shp.zip",
            other => other.code(),
        }
    }

    pub fn from_code(code: &str) -> Option<Format> {
        let code = code.trim().to_ascii_lowercase();
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.code() == code || f.extension() == code)
            .or(match code.as_str() {
                "json" => Some(Format::GeoJson),
                "zip" | "shapefile" => Some(Format::Shapefile),
                "flatgeobuf" => Some(Format::FlatGeobuf),
                "geopackage" => Some(Format::GeoPackage),
                _ => None,
            })
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::GeoJson => "application/geo+json",
            Format::GeoPackage => "application/geopackage+sqlite3",
            Format::Shapefile => "application/zip",
            Format::Kml => "application/vnd.google-earth.kml+xml",
            Format::Csv => "text/csv; charset=utf-8",
            Format::FlatGeobuf => "application/flatgeobuf",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::GeoJson => "GeoJSON",
            Format::GeoPackage => "GeoPackage",
            Format::Shapefile => "Shapefile (zip)",
            Format::Kml => "KML",
            Format::Csv => "CSV (WKT, X/Y)",
            Format::FlatGeobuf => "FlatGeobuf",
        }
    }

    /// The GDAL driver that writes it; GeoJSON is written by kvpt itself, streamed.
    pub fn driver(self) -> Option<&'static str> {
        match self {
            Format::GeoJson => None,
            Format::GeoPackage => Some("GPKG"),
            Format::Shapefile => Some("ESRI Shapefile"),
            // LIBKML: the older KML driver misplaces values after a field named "name".
            Format::Kml => Some("LIBKML"),
            Format::Csv => Some("CSV"),
            Format::FlatGeobuf => Some("FlatGeobuf"),
        }
    }

    /// Whether coordinates may be written in `crs`: GeoJSON (RFC 7946) and KML are
    /// WGS 84 longitude/latitude by definition.
    pub fn accepts(self, crs: Crs) -> Result<(), String> {
        match self {
            Format::GeoJson | Format::Kml if !crs.is_geographic() => Err(format!(
                "{} is always WGS 84 longitude/latitude; choose gpkg, shp, csv or fgb for {}",
                self.label(),
                crs.uri()
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_extensions_read_back() {
        for f in Format::ALL {
            assert_eq!(Format::from_code(f.code()), Some(*f));
            assert_eq!(Format::from_code(f.extension()), Some(*f));
        }
        assert_eq!(Format::from_code("ZIP"), Some(Format::Shapefile));
        assert_eq!(Format::from_code("dxf"), None);
    }

    #[test]
    fn geojson_and_kml_stay_wgs84() {
        assert!(Format::GeoJson.accepts(Crs::Vn2000Tm3).is_err());
        assert!(Format::Kml.accepts(Crs::Epsg3857).is_err());
        assert!(Format::GeoPackage.accepts(Crs::Vn2000Tm3).is_ok());
        assert!(Format::GeoJson.accepts(Crs::Crs84).is_ok());
    }
}
