//! The coordinate system of an imported layer: WGS 84, VN-2000 in any of its forms
//! (geographic, UTM, the provincial TM-3 zones, also as Vietnamese software writes them
//! in a `.prj`), or another CRS PROJ knows. Every VN-2000 variant goes to WGS 84 through
//! the pinned EPSG:6960 parameters, whatever the file's own `TOWGS84` says.

use gdal::spatial_ref::SpatialRef;
use serde::Serialize;

/// Position Vector `+towgs84` of EPSG:6960 (Decision 05/2007/QĐ-BTNMT; see
/// geodata/VN2000.md for the sign convention).
pub const TOWGS84_6960: &str =
    "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278";

/// Where a layer's coordinates are, and how they reach WGS 84.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceCrs {
    /// As people name it: "VN-2000 / TM-3 105°30′ (EPSG:9209)".
    pub label: String,
    /// PROJ definition to transform from; `None` for WGS 84 longitude/latitude.
    pub proj: Option<String>,
    pub geographic: bool,
}

impl SourceCrs {
    pub fn wgs84() -> Self {
        Self {
            label: "WGS 84 (EPSG:4326)".into(),
            proj: None,
            geographic: true,
        }
    }
}

/// A note in both languages.
pub type Note = (String, String);

/// Reads `--srs`: an EPSG code (`EPSG:9209`, `9209`) or a name: `wgs84`, `vn2000`
/// (geographic), `vn2000-utm48`, `vn2000-tm3` (105°30′, Tây Ninh).
pub fn from_option(text: &str) -> Result<SourceCrs, Note> {
    let t = text.trim().to_ascii_lowercase();
    let code: Option<u32> = match t.as_str() {
        "wgs84" | "wgs-84" | "crs84" | "ogc:crs84" => Some(4326),
        "vn2000" | "vn-2000" => Some(4756),
        "vn2000-utm48" | "vn2000-utm" | "utm48" => Some(3405),
        "vn2000-tm3" | "tm3" | "vn2000-tm3-105.5" => Some(9209),
        other => other
            .trim_start_matches("epsg:")
            .trim_start_matches("urn:ogc:def:crs:epsg::")
            .parse()
            .ok(),
    };
    let bad = || {
        (
            format!(
                "Hệ tọa độ “{text}” không hợp lệ: dùng mã EPSG (EPSG:9209, EPSG:3405, EPSG:4756, EPSG:4326) hoặc wgs84, vn2000, vn2000-utm48, vn2000-tm3."
            ),
            format!(
                "unknown coordinate system '{text}': give an EPSG code (EPSG:9209, EPSG:3405, EPSG:4756, EPSG:4326) or wgs84, vn2000, vn2000-utm48, vn2000-tm3"
            ),
        )
    };
    let code = code.ok_or_else(bad)?;
    let srs = SpatialRef::from_epsg(code).map_err(|_| bad())?;
    resolve(Some(&srs), "").map(|(crs, _)| crs)
}

/// The CRS of a layer from its spatial reference (`.prj`, GeoPackage table, …), with a
/// note on how a VN-2000 variant was recognised; or why there is none.
pub fn resolve(srs: Option<&SpatialRef>, driver: &str) -> Result<(SourceCrs, Option<Note>), Note> {
    let Some(srs) = srs else {
        if matches!(driver, "GeoJSON" | "GeoJSONSeq" | "LIBKML" | "KML") {
            // RFC 7946 and KML are WGS 84 by definition.
            return Ok((SourceCrs::wgs84(), None));
        }
        return Err((
            "Tệp không ghi hệ tọa độ (không có .prj hoặc tương đương): hãy chọn hệ tọa độ (VN-2000 TM-3 105°30′, VN-2000 UTM 48N, VN-2000 địa lý hoặc WGS 84).".into(),
            "the file does not say its coordinate system (no .prj or equivalent): choose one (VN-2000 TM-3 105°30′, VN-2000 UTM 48N, VN-2000 geographic or WGS 84)".into(),
        ));
    };
    let proj4 = srs.to_proj4().unwrap_or_default();
    let wkt = srs.to_wkt().unwrap_or_default().to_ascii_uppercase();
    let mut identified = srs.clone();
    let _ = identified.auto_identify_epsg();
    let code = identified.auth_code().ok().or_else(|| srs.auth_code().ok());
    let params = Proj4::parse(&proj4);
    let names_vn2000 = [
        "VN-2000",
        "VN_2000",
        "VN2000",
        "VIETNAM_2000",
        "VIETNAM 2000",
    ]
    .iter()
    .any(|n| wkt.contains(n));
    let vn_shift = params.get("towgs84").is_some_and(|t| {
        t.starts_with("-191.9") || t.starts_with("-192.8") || t.starts_with("-192.9")
    });
    let vn_code = matches!(code, Some(4756 | 3405 | 3406 | 5896..=5899 | 9205..=9218));
    let plain_wgs84 = params.get("datum") == Some("WGS84")
        || (params.get("ellps") == Some("WGS84")
            && params
                .get("towgs84")
                .is_none_or(|t| t.split(',').all(|v| v.parse::<f64>() == Ok(0.0))));
    let geographic = srs.is_geographic();
    let tm = params.transverse_mercator();
    // A TM-3 zone (k 0.9999) over Vietnam is VN-2000's provincial grid: software that drops
    // the datum writes it as WGS 84.
    let tm3_as_wgs84 = !names_vn2000
        && !vn_shift
        && !vn_code
        && plain_wgs84
        && tm.is_some_and(|t| (t.k - 0.9999).abs() < 1e-9 && (102.0..=109.5).contains(&t.lon_0));
    if names_vn2000 || vn_shift || vn_code || tm3_as_wgs84 {
        let note_guess = tm3_as_wgs84.then(|| {
            (
                "Tệp .prj ghi WGS 84 nhưng múi chiếu TM-3 (k = 0,9999) là lưới tọa độ tỉnh của VN-2000: đọc theo VN-2000. Nếu thật là WGS 84, hãy chọn hệ tọa độ.".to_string(),
                "the .prj says WGS 84, but a TM-3 zone (k 0.9999) is VN-2000's provincial grid: read as VN-2000. If it really is WGS 84, choose the coordinate system".to_string(),
            )
        });
        let crs = if geographic {
            SourceCrs {
                label: "VN-2000 (EPSG:4756)".into(),
                proj: Some(format!(
                    "+proj=longlat +ellps=WGS84 +towgs84={TOWGS84_6960} +no_defs"
                )),
                geographic: true,
            }
        } else if let Some(tm) = tm {
            SourceCrs {
                label: tm.vn2000_label(),
                proj: Some(format!(
                    "+proj=tmerc +lat_0={} +lon_0={} +k={} +x_0={} +y_0={} +ellps=WGS84 +towgs84={TOWGS84_6960} +units=m +no_defs",
                    tm.lat_0, tm.lon_0, tm.k, tm.x_0, tm.y_0
                )),
                geographic: false,
            }
        } else {
            return Err((
                format!("Hệ tọa độ VN-2000 với phép chiếu không hỗ trợ ({proj4}); chỉ nhận địa lý, UTM và TM-3."),
                format!("VN-2000 with a projection kvpt does not read ({proj4}); geographic, UTM and TM-3 are"),
            ));
        };
        let note = note_guess.unwrap_or_else(|| {
            (
                format!("Hệ tọa độ: {}, chuyển sang WGS 84 theo tham số EPSG:6960 (Quyết định 05/2007/QĐ-BTNMT).", crs.label),
                format!("coordinates: {}, to WGS 84 through the EPSG:6960 parameters (Decision 05/2007/QĐ-BTNMT)", crs.label),
            )
        });
        return Ok((crs, Some(note)));
    }
    if geographic && plain_wgs84 {
        return Ok((SourceCrs::wgs84(), None));
    }
    if proj4.is_empty() {
        return Err((
            "Không hiểu hệ tọa độ trong tệp: hãy chọn hệ tọa độ.".into(),
            "the file's coordinate system cannot be understood: choose one".into(),
        ));
    }
    let name = srs.name().unwrap_or_else(|| proj4.clone());
    let label = match code {
        Some(c) => format!("{name} (EPSG:{c})"),
        None => name,
    };
    Ok((
        SourceCrs {
            label: label.clone(),
            proj: Some(proj4),
            geographic,
        },
        Some((
            format!("Hệ tọa độ: {label}, chuyển sang WGS 84 bằng PROJ."),
            format!("coordinates: {label}, to WGS 84 with PROJ"),
        )),
    ))
}

/// The parameters of a PROJ string.
struct Proj4(Vec<(String, String)>);

#[derive(Debug, Clone, Copy)]
struct Tm {
    lat_0: f64,
    lon_0: f64,
    k: f64,
    x_0: f64,
    y_0: f64,
}

impl Tm {
    fn vn2000_label(&self) -> String {
        let is = |a: f64, b: f64| (a - b).abs() < 1e-9;
        let degrees = self.lon_0.trunc();
        let minutes = ((self.lon_0 - degrees) * 60.0).round();
        let meridian = format!("{degrees}°{minutes:02}′");
        if is(self.k, 0.9996) && is(self.x_0, 500000.0) && is(self.y_0, 0.0) {
            let zone = ((self.lon_0 + 183.0) / 6.0).round();
            let epsg = match zone as i32 {
                48 => " (EPSG:3405)",
                49 => " (EPSG:3406)",
                _ => "",
            };
            format!("VN-2000 / UTM {zone}N{epsg}")
        } else if is(self.k, 0.9999) && is(self.x_0, 500000.0) && is(self.y_0, 0.0) {
            // EPSG:9205–9218, from proj.db (projinfo EPSG:92xx).
            const CODES: [(i32, i32); 14] = [
                (10300, 9205),
                (10400, 9206),
                (10450, 9207),
                (10475, 9208),
                (10550, 9209),
                (10575, 9210),
                (10600, 9211),
                (10625, 9212),
                (10650, 9213),
                (10700, 9214),
                (10725, 9215),
                (10750, 9216),
                (10825, 9217),
                (10850, 9218),
            ];
            let hundredths = (self.lon_0 * 100.0).round() as i32;
            let epsg = CODES
                .iter()
                .find(|(m, _)| *m == hundredths && is(self.lon_0 * 100.0, f64::from(*m)))
                .map(|(_, c)| format!(" (EPSG:{c})"))
                .unwrap_or_default();
            format!("VN-2000 / TM-3 {meridian}{epsg}")
        } else {
            format!(
                "VN-2000 / TM {meridian} k={} x0={} y0={}",
                self.k, self.x_0, self.y_0
            )
        }
    }
}

impl Proj4 {
    fn parse(text: &str) -> Self {
        Self(
            text.split_whitespace()
                .filter_map(|p| p.strip_prefix('+'))
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (p.to_string(), String::new()),
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn num(&self, key: &str, default: f64) -> f64 {
        self.get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn transverse_mercator(&self) -> Option<Tm> {
        match self.get("proj")? {
            "tmerc" | "etmerc" => Some(Tm {
                lat_0: self.num("lat_0", 0.0),
                lon_0: self.num("lon_0", 0.0),
                k: self
                    .get("k")
                    .or(self.get("k_0"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1.0),
                x_0: self.num("x_0", 0.0),
                y_0: self.num("y_0", 0.0),
            }),
            "utm" => {
                let zone = self.num("zone", 48.0);
                let south = self.get("south").is_some();
                Some(Tm {
                    lat_0: 0.0,
                    lon_0: zone * 6.0 - 183.0,
                    k: 0.9996,
                    x_0: 500000.0,
                    y_0: if south { 10_000_000.0 } else { 0.0 },
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vn2000_variants_are_pinned() {
        for (code, label) in [
            ("EPSG:9209", "VN-2000 / TM-3 105°30′ (EPSG:9209)"),
            ("vn2000-utm48", "VN-2000 / UTM 48N (EPSG:3405)"),
            ("EPSG:4756", "VN-2000 (EPSG:4756)"),
        ] {
            let crs = from_option(code).unwrap();
            assert_eq!(crs.label, label);
            assert!(crs.proj.unwrap().contains(TOWGS84_6960), "{code}");
        }
        assert_eq!(from_option("wgs84").unwrap(), SourceCrs::wgs84());
        assert!(from_option("EPSG:999999").is_err());
        assert!(from_option("tây ninh").is_err());
    }

    #[test]
    fn prj_files_as_vietnamese_software_writes_them() {
        // ESRI style, datum named, no TOWGS84.
        let esri = r#"PROJCS["VN_2000_TM3_105_30",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.5],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let srs = SpatialRef::from_esri(esri).unwrap();
        let (crs, note) = resolve(Some(&srs), "ESRI Shapefile").unwrap();
        assert_eq!(crs.label, "VN-2000 / TM-3 105°30′ (EPSG:9209)");
        assert!(crs.proj.unwrap().contains(TOWGS84_6960));
        assert!(note.unwrap().1.contains("EPSG:6960"));
        // The datum dropped: WGS 84 with a TM-3 zone.
        let dropped = r#"PROJCS["TayNinh",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.5],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let srs = SpatialRef::from_esri(dropped).unwrap();
        let (crs, note) = resolve(Some(&srs), "ESRI Shapefile").unwrap();
        assert!(crs.proj.unwrap().contains(TOWGS84_6960));
        assert!(note.unwrap().1.contains("really is WGS 84"));
        // WGS 84 UTM is WGS 84 UTM.
        let utm = SpatialRef::from_epsg(32648).unwrap();
        let (crs, _) = resolve(Some(&utm), "GPKG").unwrap();
        assert!(!crs.proj.unwrap().contains("towgs84=-191"));
        assert!(resolve(None, "CSV").is_err());
        assert_eq!(resolve(None, "GeoJSON").unwrap().0, SourceCrs::wgs84());
    }
}
