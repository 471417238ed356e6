//! Reading an import file through GDAL: whichever format it is (a zip or folder of
//! Shapefiles, GeoPackage, GeoJSON, KML, DXF, CSV with X/Y or WKT, FlatGeobuf), its
//! layers come out as features with WKB geometry in their own CRS and raw values, text
//! left as bytes where the format's encoding must still be decided (DBF).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use chrono::NaiveDate;
use gdal::vector::{FieldValue, LayerAccess};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};

use super::encoding::TextEncoding;
use super::srs::{self, SourceCrs};
use super::{FileError, Progress};

/// One attribute value as the file has it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// Bytes: UTF-8 except in a DBF, whose encoding is decided later.
    Text(Vec<u8>),
    Int(i64),
    Real(f64),
    Date(NaiveDate),
}

/// One feature of one layer.
#[derive(Debug, Clone)]
pub struct RawFeature {
    pub layer: usize,
    /// 1-based position in its layer (the line for CSV: the header is line 1).
    pub index: usize,
    /// ISO WKB, 2D, in the layer's CRS; `None` when the feature has no geometry.
    pub wkb: Option<Vec<u8>>,
    /// Values by column position in the layer (absent ones are null).
    pub values: Vec<Option<RawValue>>,
}

/// A layer of the file.
#[derive(Debug, Clone)]
pub struct SourceLayer {
    pub name: String,
    pub columns: Vec<String>,
    pub crs: Option<SourceCrs>,
    /// What was understood about the CRS, or why none could be.
    pub crs_note: Option<(String, String)>,
    /// Whether text values are raw DBF bytes.
    pub legacy_text: bool,
    /// Bounds of the coordinates as found: min x, min y, max x, max y.
    pub bounds: Option<[f64; 4]>,
}

/// Everything read from the file.
#[derive(Debug, Default)]
pub struct Source {
    /// GDAL's name of the format.
    pub driver: String,
    pub layers: Vec<SourceLayer>,
    pub features: Vec<RawFeature>,
    /// The encoding a Shapefile's `.cpg` names.
    pub cpg: Option<TextEncoding>,
    /// Entities of a CAD drawing left out, by CAD layer (frames, grids, labels).
    pub skipped_cad_layers: Vec<(String, usize)>,
}

/// Formats read, as GDAL drivers.
const DRIVERS: &[&str] = &[
    "GeoJSON",
    "GeoJSONSeq",
    "GPKG",
    "ESRI Shapefile",
    "LIBKML",
    "KML",
    "DXF",
    "CSV",
    "FlatGeobuf",
];

/// Extensions of the files a zip or folder may hold a dataset in.
const DATA_EXTENSIONS: &[&str] = &[
    "shp", "gpkg", "geojson", "json", "kml", "kmz", "dxf", "csv", "fgb",
];

/// Largest total size a zip may unpack to.
pub const MAX_UNZIPPED: u64 = 2 * 1024 * 1024 * 1024;

/// Reads `path` (a file, a zip, or a folder holding a Shapefile). `scratch` is a private
/// folder a zip is unpacked into.
pub fn read(
    path: &Path,
    scratch: &Path,
    forced_crs: Option<&SourceCrs>,
    max_features: usize,
    progress: &Progress,
) -> Result<Source, FileError> {
    let meta = std::fs::metadata(path).map_err(|e| {
        FileError::new(
            format!("Không mở được “{}”: {e}.", path.display()),
            format!("cannot open '{}': {e}", path.display()),
        )
    })?;
    let datasets = if meta.is_dir() {
        datasets_in(path)?
    } else {
        if meta.len() == 0 {
            return Err(FileError::new(
                "Tệp rỗng (0 byte): không có gì để nhập.",
                "the file is empty (0 bytes): nothing to import",
            ));
        }
        if is_zip(path)? {
            let dir = scratch.join("unzipped");
            unzip(path, &dir)?;
            datasets_in(&dir)?
        } else {
            vec![path.to_path_buf()]
        }
    };
    let mut source = Source::default();
    for dataset in datasets {
        read_dataset(&dataset, forced_crs, max_features, progress, &mut source)?;
    }
    if source.layers.is_empty() {
        return Err(FileError::new(
            "Tệp không có lớp dữ liệu nào.",
            "the file has no data layers",
        ));
    }
    Ok(source)
}

fn is_zip(path: &Path) -> Result<bool, FileError> {
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let n = file.read(&mut head).map_err(|e| io_error(path, e))?;
    let named_zip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    Ok((n == 4 && head == *b"PK\x03\x04") || named_zip)
}

fn io_error(path: &Path, e: std::io::Error) -> FileError {
    FileError::new(
        format!("Không đọc được “{}”: {e}.", path.display()),
        format!("cannot read '{}': {e}", path.display()),
    )
}

/// Unpacks `zip` into `dir`, refusing any entry that would land outside it (absolute
/// paths, `..`, links) and any archive that unpacks to more than [`MAX_UNZIPPED`].
fn unzip(zip: &Path, dir: &Path) -> Result<(), FileError> {
    let file = std::fs::File::open(zip).map_err(|e| io_error(zip, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        FileError::new(
            format!("Tệp zip bị hỏng hoặc không đầy đủ ({e}); hãy nén và tải lên lại."),
            format!("the zip file is damaged or incomplete ({e}); zip and upload it again"),
        )
    })?;
    // Every name is checked before anything is written.
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| damaged(&e))?;
        let name = entry
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| String::from_utf8_lossy(entry.name_raw()).into_owned());
        let unsafe_name =
            entry.enclosed_name().is_none() || entry.is_symlink() || name.contains('\\');
        if unsafe_name {
            return Err(FileError::new(
                format!(
                    "Tệp zip chứa đường dẫn không an toàn “{}” (ra ngoài thư mục giải nén); không đọc gì cả.",
                    name
                ),
                format!(
                    "the zip holds an unsafe path '{}' (it points outside the folder it unpacks to); nothing was read",
                    name
                ),
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| damaged(&e))?;
        let Some(relative) = entry.enclosed_name() else {
            continue;
        };
        let target = dir.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| io_error(&target, e))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        }
        let mut out = std::fs::File::create(&target).map_err(|e| io_error(&target, e))?;
        let limit = MAX_UNZIPPED - total;
        let copied = std::io::copy(&mut (&mut entry).take(limit + 1), &mut out).map_err(|e| {
            FileError::new(
                format!("Tệp zip bị hỏng hoặc không đầy đủ ({e})."),
                format!("the zip file is damaged or incomplete ({e})"),
            )
        })?;
        total += copied;
        if copied > limit {
            return Err(FileError::new(
                format!(
                    "Tệp zip giải nén ra quá {} GiB; hãy chia nhỏ.",
                    MAX_UNZIPPED >> 30
                ),
                format!(
                    "the zip unpacks to more than {} GiB; split it",
                    MAX_UNZIPPED >> 30
                ),
            ));
        }
    }
    Ok(())
}

fn damaged(e: &zip::result::ZipError) -> FileError {
    FileError::new(
        format!("Tệp zip bị hỏng hoặc không đầy đủ ({e})."),
        format!("the zip file is damaged or incomplete ({e})"),
    )
}

/// The datasets in a folder (searched through its subfolders): each Shapefile, else
/// each file of a known format.
fn datasets_in(dir: &Path) -> Result<Vec<PathBuf>, FileError> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| io_error(&d, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name == "__MACOSX" {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let ext = |p: &Path| {
        p.extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let shapefiles: Vec<PathBuf> = files.iter().filter(|p| ext(p) == "shp").cloned().collect();
    for shp in &shapefiles {
        for needed in ["shx", "dbf"] {
            let has = files
                .iter()
                .any(|f| f.with_extension("") == shp.with_extension("") && ext(f) == needed);
            if !has {
                let name = shp.file_name().unwrap_or_default().to_string_lossy();
                return Err(FileError::new(
                    format!(
                        "Shapefile “{name}” thiếu tệp .{needed} đi kèm; hãy gửi đủ các tệp .shp, .shx, .dbf (và .prj, .cpg)."
                    ),
                    format!(
                        "the Shapefile '{name}' comes without its .{needed}; send the .shp, .shx and .dbf together (and the .prj and .cpg)"
                    ),
                ));
            }
        }
    }
    if !shapefiles.is_empty() {
        return Ok(shapefiles);
    }
    let data: Vec<PathBuf> = files
        .iter()
        .filter(|p| DATA_EXTENSIONS.contains(&ext(p).as_str()))
        .cloned()
        .collect();
    if data.is_empty() {
        let names: Vec<String> = files
            .iter()
            .take(8)
            .map(|p| {
                p.strip_prefix(dir)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .to_string()
            })
            .collect();
        return Err(FileError::new(
            format!(
                "Không tìm thấy dữ liệu bản đồ (.shp, .gpkg, .geojson, .kml, .dxf, .csv, .fgb); chỉ có: {}.",
                if names.is_empty() { "(trống)".to_string() } else { names.join(", ") }
            ),
            format!(
                "no map data found (.shp, .gpkg, .geojson, .kml, .dxf, .csv, .fgb); it holds only: {}",
                if names.is_empty() { "(nothing)".to_string() } else { names.join(", ") }
            ),
        ));
    }
    Ok(data)
}

/// Reads every layer of one dataset into `source`.
fn read_dataset(
    path: &Path,
    forced_crs: Option<&SourceCrs>,
    max_features: usize,
    progress: &Progress,
    source: &mut Source,
) -> Result<(), FileError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut open_options: Vec<String> = Vec::new();
    let legacy_text = ext == "shp";
    if legacy_text {
        // Text comes through untouched (each byte one Latin-1 character), so TCVN3 and
        // VNI, which GDAL cannot decode, can be decoded here.
        open_options.push("ENCODING=ISO-8859-1".into());
        let cpg = path.with_extension("cpg");
        if let Ok(text) = std::fs::read_to_string(&cpg) {
            source.cpg = TextEncoding::parse(&text);
        }
    }
    if ext == "csv" {
        open_options.extend(csv_options(path)?);
    }
    let options: Vec<&str> = open_options.iter().map(String::as_str).collect();
    let dataset = Dataset::open_ex(
        path,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
            allowed_drivers: Some(DRIVERS),
            open_options: Some(&options),
            sibling_files: None,
        },
    )
    .map_err(|e| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        FileError::new(
            format!(
                "Không đọc được “{name}” như một tệp GIS (GeoJSON, Shapefile, GeoPackage, KML, DXF, CSV, FlatGeobuf): {}",
                gdal_message(&e)
            ),
            format!(
                "cannot read '{name}' as GIS data (GeoJSON, Shapefile, GeoPackage, KML, DXF, CSV, FlatGeobuf): {}",
                gdal_message(&e)
            ),
        )
    })?;
    source.driver = dataset.driver().short_name();
    let is_dxf = source.driver == "DXF";
    let is_csv = source.driver == "CSV";
    if is_dxf {
        let data = std::fs::read(path).map_err(|e| {
            FileError::new(
                format!("Không đọc được tệp: {e}"),
                format!("cannot read the file: {e}"),
            )
        })?;
        check_dxf_group_codes(&data)?;
    }
    for mut layer in dataset.layers() {
        let total = layer.feature_count();
        progress.total.fetch_add(total, Ordering::Relaxed);
        let columns: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
        let layer_index = source.layers.len();
        let (crs, crs_note) = match forced_crs {
            Some(crs) => (Some(crs.clone()), None),
            None => match srs::resolve(layer.spatial_ref().as_ref(), &source.driver) {
                Ok((crs, note)) => (Some(crs), note),
                Err(note) => (None, Some(note)),
            },
        };
        let code_column = columns.iter().position(|c| c == "Layer");
        let text_column = columns.iter().position(|c| c == "Text");
        let mut bounds: Option<[f64; 4]> = None;
        let mut skipped: std::collections::BTreeMap<String, usize> = Default::default();
        let mut index = 0usize;
        for feature in layer.features() {
            index += 1;
            progress.done.fetch_add(1, Ordering::Relaxed);
            if source.features.len() >= max_features {
                return Err(FileError::new(
                    format!("Tệp có quá {max_features} đối tượng; hãy chia nhỏ."),
                    format!("the file has more than {max_features} features; split it"),
                ));
            }
            let values: Vec<Option<RawValue>> = (0..columns.len())
                .map(|i| {
                    // SAFETY: the handle is the live feature's; the index is within its
                    // definition's field count.
                    let set =
                        unsafe { gdal_sys::OGR_F_IsFieldSet(feature.c_feature(), i as i32) } != 0;
                    set.then(|| raw_value(feature.field(i).ok().flatten(), legacy_text))
                        .flatten()
                })
                .collect();
            if is_dxf {
                // A CAD drawing: each work is drawn on a layer named by its code; the
                // rest (frames, grids, text labels) is left out.
                let cad_layer = code_column
                    .and_then(|i| values[i].as_ref())
                    .map(text_of)
                    .unwrap_or_default();
                let is_label = text_column
                    .and_then(|i| values[i].as_ref())
                    .is_some_and(|v| !text_of(v).trim().is_empty());
                if is_label || !crate::domain::looks_like_code(&cad_layer) {
                    *skipped.entry(cad_layer).or_default() += 1;
                    continue;
                }
            }
            let wkb = match feature.geometry() {
                // SAFETY: reading the pointer only; a feature without geometry has null.
                Some(g) if !unsafe { g.c_geometry() }.is_null() && !g.is_empty() => {
                    let env = g.envelope();
                    let b = bounds.get_or_insert([env.MinX, env.MinY, env.MaxX, env.MaxY]);
                    b[0] = b[0].min(env.MinX);
                    b[1] = b[1].min(env.MinY);
                    b[2] = b[2].max(env.MaxX);
                    b[3] = b[3].max(env.MaxY);
                    let mut g = g.clone();
                    g.flatten_to_2d();
                    g.iso_wkb().ok()
                }
                _ => None,
            };
            source.features.push(RawFeature {
                layer: layer_index,
                index: if is_csv { index + 1 } else { index },
                wkb,
                values,
            });
        }
        source
            .skipped_cad_layers
            .extend(skipped.into_iter().filter(|(_, n)| *n > 0));
        let columns = if is_dxf {
            // The CAD layer a work is drawn on is its code.
            columns
                .into_iter()
                .map(|c| if c == "Layer" { "code".to_string() } else { c })
                .collect()
        } else {
            columns
        };
        source.layers.push(SourceLayer {
            name: layer.name(),
            columns,
            crs,
            crs_note,
            legacy_text,
            bounds,
        });
    }
    Ok(())
}

/// GDAL's CSV reader told where the geometry is: a WKT column when the header has one,
/// else X/Y columns.
fn csv_options(path: &Path) -> Result<Vec<String>, FileError> {
    let mut header = String::new();
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = std::io::BufReader::new(file);
    std::io::BufRead::read_line(&mut reader, &mut header).map_err(|e| io_error(path, e))?;
    let header = header.trim_start_matches('\u{feff}').to_ascii_lowercase();
    let names: Vec<String> = header
        .split([',', ';', '\t'])
        .map(|h| h.trim().trim_matches('"').to_string())
        .collect();
    let wkt = ["wkt", "geometry", "geom", "the_geom"];
    let mut options = vec![
        "AUTODETECT_TYPE=NO".to_string(),
        "KEEP_GEOM_COLUMNS=NO".to_string(),
    ];
    if let Some(column) = names.iter().find(|n| wkt.contains(&n.as_str())) {
        options.push(format!("GEOM_POSSIBLE_NAMES={column}"));
    } else {
        const X: [&str; 6] = ["x", "lon", "long", "longitude", "easting", "kinh_do"];
        const Y: [&str; 5] = ["y", "lat", "latitude", "northing", "vi_do"];
        // GDAL cannot choose between two coordinate columns (and fails badly trying).
        for (axis, candidates) in [("X", &X[..]), ("Y", &Y[..])] {
            let found: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| candidates.contains(n))
                .collect();
            if found.len() > 1 {
                let list = found.join(", ");
                return Err(FileError::new(
                    format!("Tệp CSV có nhiều cột tọa độ {axis} ({list}): hãy giữ một cột."),
                    format!(
                        "the CSV has more than one {axis} coordinate column ({list}): keep one"
                    ),
                ));
            }
        }
        options.push(format!("X_POSSIBLE_NAMES={}", X.join(",")));
        options.push(format!("Y_POSSIBLE_NAMES={}", Y.join(",")));
    }
    Ok(options)
}

fn raw_value(value: Option<FieldValue>, legacy_text: bool) -> Option<RawValue> {
    Some(match value? {
        FieldValue::StringValue(s) => {
            if s.trim().is_empty() {
                return None;
            }
            if legacy_text {
                // Read as Latin-1: every character is one byte of the DBF.
                RawValue::Text(s.chars().map(|c| c as u32 as u8).collect())
            } else {
                RawValue::Text(s.into_bytes())
            }
        }
        FieldValue::IntegerValue(i) => RawValue::Int(i.into()),
        FieldValue::Integer64Value(i) => RawValue::Int(i),
        FieldValue::RealValue(r) => RawValue::Real(r),
        FieldValue::DateValue(d) => RawValue::Date(d),
        FieldValue::DateTimeValue(d) => RawValue::Date(d.date_naive()),
        _ => return None,
    })
}

/// A value as text (UTF-8 assumed), for codes and CAD layer names.
pub fn text_of(value: &RawValue) -> String {
    match value {
        RawValue::Text(b) => String::from_utf8_lossy(b).into_owned(),
        RawValue::Int(i) => i.to_string(),
        RawValue::Real(r) => r.to_string(),
        RawValue::Date(d) => d.to_string(),
    }
}

/// GDAL's own words about why it failed, without the call that failed.
/// GDAL 3.6's DXF reader can loop forever on a group code that is not a number (fuzzing
/// found one), so a text DXF's group codes are checked first: the first line of every pair
/// must be a whole number. A binary DXF is left to GDAL.
fn check_dxf_group_codes(data: &[u8]) -> Result<(), FileError> {
    if data.starts_with(b"AutoCAD Binary DXF") {
        return Ok(());
    }
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    for (index, code) in lines.iter().enumerate().step_by(2) {
        let code = code.trim_ascii();
        let last = index + 1 == lines.len();
        if (last && code.is_empty())
            || std::str::from_utf8(code).is_ok_and(|c| c.parse::<i32>().is_ok())
        {
            continue;
        }
        let shown: String = String::from_utf8_lossy(code).chars().take(40).collect();
        let line = index + 1;
        return Err(FileError::new(
            format!("Tệp DXF hỏng ở dòng {line}: cần một mã nhóm (số nguyên), gặp “{shown}”"),
            format!("broken DXF at line {line}: a group code (a whole number) was expected, found '{shown}'"),
        ));
    }
    Ok(())
}

fn gdal_message(e: &gdal::errors::GdalError) -> String {
    match e {
        gdal::errors::GdalError::NullPointer { msg, .. } if !msg.is_empty() => msg.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::check_dxf_group_codes;

    #[test]
    fn dxf_group_codes_must_be_numbers() {
        let good = b"  0\r\nSECTION\r\n  2\r\nENTITIES\r\n  0\r\nPOINT\r\n  8\r\nKHO-TBI-0001\r\n 10\r\n106.05\r\n 20\r\n11.4\r\n  0\r\nENDSEC\r\n  0\r\nEOF\r\n";
        assert!(check_dxf_group_codes(good).is_ok());
        assert!(check_dxf_group_codes(b"AutoCAD Binary DXF\r\n\x1a\x00\x00\x00").is_ok());
        // The file GDAL 3.6 never finished reading (tests/fuzz/regressions/import_file).
        let broken = b"0\nSECTION\n2\nENTITIES\n0\nPOI\r\x00\xf4\nNT\n8\nKHO\n0\nEOF\n";
        let err = check_dxf_group_codes(broken).unwrap_err();
        assert!(format!("{err:?}").contains("line 7"), "{err:?}");
        assert!(check_dxf_group_codes(b"0\nSECTION\n10=\n1\n").is_err());
    }
}
