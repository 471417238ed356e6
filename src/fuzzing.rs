//! Fuzz targets: each takes arbitrary bytes and must return, whatever they are, without
//! panicking. `fuzz/` runs them under cargo-fuzz (libFuzzer, nightly Rust);
//! `tests/fuzz.rs` runs them on stable Rust in `make test` for a bounded time with a
//! mutating generator, after replaying every saved crash in `tests/fuzz/regressions/`.

use crate::exchange::import::{encoding, source, Progress};

/// A query string as the items, export and dashboard routes receive it.
pub fn query_params(data: &[u8]) {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // What a site collection's items take, and what an export takes.
    let allowed: Vec<&str> = crate::params::items::COMMON_PARAMS
        .iter()
        .chain(crate::params::items::SITE_PARAMS)
        .copied()
        .collect();
    let _ = crate::params::ItemsQuery::parse(&pairs, &allowed);
    let _ = crate::params::export::ExportQuery::parse(&pairs, None);
    // The dashboard's and reports' scope, dates and thresholds.
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Ok(scope) =
        crate::params::dashboard::Scope::parse(get("programme"), get("district"), get("kind"))
    {
        if let Ok(q) = crate::params::dashboard::DashboardQuery::parse(
            get("as_of"),
            get("ahead"),
            get("stale"),
            (30, 180),
            scope,
        ) {
            let _ = crate::params::dashboard::parse_counted(get("counted"), q.as_of);
        }
    }
    for (name, value) in &pairs {
        match name.as_str() {
            "datetime" => drop(crate::params::items::parse_datetime(value)),
            "crs" | "bbox-crs" => drop(crate::spatial::crs::Crs::parse(value)),
            "as_of" => drop(crate::params::parse_date(value)),
            "status" => drop(crate::progress::bulk::parse_status(value)),
            _ => {}
        }
    }
}

/// The `{z}/{x}/{y}.mvt` of a tile request.
pub fn tile_coordinates(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '/');
    let (z, x, y) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if let Ok(tile) = crate::spatial::tile::TileCoord::parse(z, x, y, "mvt") {
        assert!(tile.x < (1u32 << tile.z) && tile.y < (1u32 << tile.z));
    }
}

/// A CSV bulk progress update as uploaded.
pub fn bulk_csv(data: &[u8]) {
    let _ = crate::progress::bulk::parse(data);
}

/// Legacy DBF text: detection and every decoder.
pub fn dbf_text(data: &[u8]) {
    let samples: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let _ = encoding::detect(samples.iter().copied());
    for enc in encoding::TextEncoding::ALL {
        let text = enc.decode(data);
        let _ = encoding::syllable_score(&text);
    }
}

/// A file handed to the importer. The first byte picks the extension it is saved under,
/// so every reader (GDAL's drivers and kvpt's zip handling) is reached.
pub fn import_file(data: &[u8]) {
    const EXTENSIONS: [&str; 8] = ["geojson", "csv", "kml", "zip", "dxf", "gpkg", "fgb", "json"];
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!(
        "kvpt-fuzz-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("scratch")).expect("a scratch folder");
    let path = dir.join(format!(
        "input.{}",
        EXTENSIONS[usize::from(pick) % EXTENSIONS.len()]
    ));
    std::fs::write(&path, body).expect("writing the input");
    let _ = source::read(
        &path,
        &dir.join("scratch"),
        None,
        10_000,
        &Progress::default(),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A target: arbitrary bytes in, nothing out, never a panic.
pub type Target = fn(&[u8]);

/// Every target by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("query_params", query_params),
    ("tile_coordinates", tile_coordinates),
    ("bulk_csv", bulk_csv),
    ("dbf_text", dbf_text),
    ("import_file", import_file),
];
