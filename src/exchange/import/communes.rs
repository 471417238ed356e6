//! Commune boundaries from a GIS file (issue 24 §1). The file is read as works are
//! (`source`: Shapefile, GeoPackage, GeoJSON… in a zip or not; `srs`: VN-2000 or WGS 84),
//! each feature matched to the commune list (`admin_unit`) by its GSO code, or by its name
//! with or without diacritics and with or without "Xã", "Phường" or "Thị trấn" (within its
//! district when the file names one), and reported. Nothing is written unless asked and
//! every feature matched exactly one commune, within about a kilometre of that commune's
//! district; then, in one transaction, the boundaries replace what was there (the demo's
//! simulated boundaries of communes the file leaves out are dropped: real and simulated
//! boundaries do not mix), and every work's commune is derived again.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::source::{self, text_of, RawFeature, Source};
use super::srs::SourceCrs;
use super::{FileError, Problem, Progress, MAX_FEATURES};
use crate::db::areas::BoundaryFault;
use crate::exchange::ExchangeError;
use crate::i18n::folded;

/// Columns that may hold a commune's GSO code, name, or its district's code or name.
const CODE_COLUMNS: &[&str] = &[
    "ma_xa",
    "maxa",
    "ma_dvhc",
    "madvhc",
    "ma",
    "code",
    "gso_code",
    "commune_code",
];
const NAME_COLUMNS: &[&str] = &[
    "ten_xa", "tenxa", "ten", "ten_dvhc", "name", "commune", "xa",
];
const DISTRICT_COLUMNS: &[&str] = &[
    "ma_huyen",
    "mahuyen",
    "district_code",
    "ten_huyen",
    "huyen",
    "district",
];

/// How far (degrees, about a kilometre) a commune may lie outside its district.
const DISTRICT_SLACK: f64 = 0.01;

/// Overlaps between boundaries smaller than this (m², a hectare) are not worth a warning.
const OVERLAP_M2: f64 = 10_000.0;

/// Two boundaries of the file (or one of it and one already imported and kept) that
/// overlap: a work there takes the first commune of the list.
#[derive(Debug, Clone, Serialize)]
pub struct Overlap {
    /// "Name (code)" of each.
    pub first: String,
    pub second: String,
    pub hectares: f64,
}

/// One feature matched to a commune.
#[derive(Debug, Clone, Serialize)]
pub struct Matched {
    /// The feature's position in its layer.
    pub index: usize,
    pub code: String,
    pub name: String,
    /// "code" or "name".
    pub by: &'static str,
}

/// One feature refused, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    pub index: usize,
    /// What the feature says it is.
    pub label: String,
    pub problem: Problem,
}

/// What an import of commune boundaries found, and whether it wrote them.
#[derive(Debug, Clone, Serialize)]
pub struct CommuneReport {
    pub file_name: String,
    pub format: Option<String>,
    pub crs: Option<String>,
    pub file_error: Option<Problem>,
    pub matched: Vec<Matched>,
    pub refused: Vec<Refused>,
    /// Communes of the list the file has no boundary for: (code, name).
    pub missing: Vec<(String, String)>,
    /// Where boundaries overlap by more than a hectare (warned, not refused).
    pub overlaps: Vec<Overlap>,
    pub written: bool,
    /// Works whose commune changed (when written).
    pub works_moved: i64,
}

/// A commune of the list.
struct Listed {
    id: i32,
    code: String,
    name: String,
    district_code: String,
    district_name: String,
}

/// A name compared: folded, its kind of unit dropped, spaces squeezed.
fn key(name: &str) -> String {
    let f = folded(name);
    let f = f.split_whitespace().collect::<Vec<_>>().join(" ");
    for prefix in ["thi tran ", "phuong ", "xa ", "tt. ", "tt ", "p. ", "x. "] {
        if let Some(rest) = f.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    f
}

/// A district's name compared: folded, its kind ("Huyện", "Thị xã", "Thành phố") dropped.
fn district_key(name: &str) -> String {
    let f = folded(name);
    let f = f.split_whitespace().collect::<Vec<_>>().join(" ");
    for prefix in [
        "huyen ",
        "thi xa ",
        "thanh pho ",
        "tp. ",
        "tp ",
        "tx. ",
        "tx ",
    ] {
        if let Some(rest) = f.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    f
}

/// A code as written in a file ("25456", "25456.0", "025456").
fn code_key(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t.strip_suffix(".0").unwrap_or(t);
    (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.trim_start_matches('0').to_string())
}

/// The value of the first of `names` the layer has, for one feature.
fn column(source: &Source, f: &RawFeature, names: &[&str]) -> Option<String> {
    let columns = &source.layers[f.layer].columns;
    names.iter().find_map(|n| {
        let i = columns.iter().position(|c| c.eq_ignore_ascii_case(n))?;
        let v = f.values.get(i)?.as_ref().map(text_of)?;
        (!v.trim().is_empty()).then_some(v)
    })
}

/// The commune a feature names, or why none.
fn match_one<'a>(
    source: &Source,
    f: &RawFeature,
    list: &'a [Listed],
) -> Result<(&'a Listed, &'static str), Problem> {
    let district = column(source, f, DISTRICT_COLUMNS);
    let in_district = |l: &&Listed| {
        district.as_ref().is_none_or(|d| {
            code_key(d).is_some_and(|k| k == l.district_code)
                || district_key(d) == district_key(&l.district_name)
        })
    };
    if let Some(code) = column(source, f, CODE_COLUMNS)
        .as_deref()
        .and_then(code_key)
    {
        return list
            .iter()
            .find(|l| l.code.trim_start_matches('0') == code)
            .map(|l| (l, "code"))
            .ok_or_else(|| {
                Problem::new(
                    "code",
                    format!("Không có xã mã {code} trong danh mục."),
                    format!("no commune with GSO code {code} in the list"),
                )
            });
    }
    let Some(name) = column(source, f, NAME_COLUMNS) else {
        return Err(Problem::new(
            "name",
            "Không có mã xã hay tên xã (cột ma_xa/ten_xa, code/name).",
            "neither a commune code nor a name (columns ma_xa/ten_xa, code/name)",
        ));
    };
    let wanted = key(&name);
    let found: Vec<&Listed> = list
        .iter()
        .filter(|l| key(&l.name) == wanted)
        .filter(in_district)
        .collect();
    match found.as_slice() {
        [one] => Ok((one, "name")),
        [] => Err(Problem::new(
            "name",
            format!("Không có xã “{name}” trong danh mục."),
            format!("no commune named '{name}' in the list"),
        )),
        many => Err(Problem::new(
            "name",
            format!(
                "Tên “{name}” có ở {} huyện ({}): thêm cột mã xã hoặc tên huyện.",
                many.len(),
                many.iter()
                    .map(|l| l.district_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "'{name}' names communes in {} districts: add a code or district column",
                many.len()
            ),
        )),
    }
}

/// A fault of a boundary, in words.
fn fault_problem(fault: &BoundaryFault, listed: &Listed) -> Problem {
    match fault {
        BoundaryFault::Missing => Problem::new("geometry", "Không có hình.", "no geometry"),
        BoundaryFault::NotPolygonal => Problem::new(
            "geometry",
            "Hình không phải vùng (đa giác).",
            "the geometry is not an area (polygon)",
        ),
        BoundaryFault::OutsideDistrict(km) => Problem::new(
            "geometry",
            format!(
                "Nằm cách huyện {} của xã {:.1} km: sai hệ tọa độ hoặc sai xã?",
                listed.district_name, km
            ),
            format!(
                "lies {km:.1} km from {}'s district {}: wrong coordinate system or wrong commune?",
                listed.name, listed.district_name
            ),
        ),
    }
}

/// Reads `path`, matches and checks every feature, and writes the boundaries when `write`
/// and nothing is refused. `who` signs the audit row.
pub async fn import(
    pool: &deadpool_postgres::Pool,
    path: &Path,
    file_name: &str,
    forced_crs: Option<SourceCrs>,
    write: bool,
    who: &str,
) -> Result<CommuneReport, ExchangeError> {
    let mut report = CommuneReport {
        file_name: file_name.to_string(),
        format: None,
        crs: None,
        file_error: None,
        matched: Vec::new(),
        refused: Vec::new(),
        missing: Vec::new(),
        overlaps: Vec::new(),
        written: false,
        works_moved: 0,
    };
    let read = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || -> Result<Source, FileError> {
            let scratch = crate::exchange::export::TempDir::new().map_err(|e| {
                FileError::new(
                    format!("Lỗi thư mục tạm: {e}"),
                    format!("temporary folder: {e}"),
                )
            })?;
            source::read(
                &path,
                &scratch.path,
                forced_crs.as_ref(),
                MAX_FEATURES,
                &Progress::default(),
            )
        })
        .await?
    };
    let source = match read {
        Ok(s) => s,
        Err(FileError(problem)) => {
            report.file_error = Some(problem);
            return Ok(report);
        }
    };
    report.format = Some(source.driver.clone());
    report.crs = source
        .layers
        .iter()
        .find_map(|l| l.crs.as_ref().map(|c| c.label.clone()));
    if let Some(layer) = source.layers.iter().find(|l| l.crs.is_none()) {
        let (vi, en) = layer.crs_note.clone().unwrap_or_else(|| {
            (
                "Không rõ hệ tọa độ: dùng --srs.".into(),
                "unknown coordinate system: give --srs".into(),
            )
        });
        report.file_error = Some(Problem::new("srs", vi, en));
        return Ok(report);
    }
    let mut client = pool.get().await?;
    let list: Vec<Listed> = crate::db::areas::communes(&client)
        .await?
        .into_iter()
        .map(|(id, code, name, district_code, district_name)| Listed {
            id,
            code,
            name,
            district_code,
            district_name,
        })
        .collect();
    let mut tx = client.transaction().await?;
    crate::db::areas::stage_boundaries(&tx).await?;
    let mut taken: HashMap<i32, usize> = HashMap::new();
    for f in &source.features {
        let label = column(&source, f, NAME_COLUMNS)
            .or_else(|| column(&source, f, CODE_COLUMNS))
            .unwrap_or_else(|| format!("#{}", f.index));
        let refuse = |problem: Problem| Refused {
            index: f.index,
            label: label.clone(),
            problem,
        };
        let (listed, by) = match match_one(&source, f, &list) {
            Ok(m) => m,
            Err(p) => {
                report.refused.push(refuse(p));
                continue;
            }
        };
        if let Some(first) = taken.insert(listed.id, f.index) {
            report.refused.push(refuse(Problem::new(
                "code",
                format!("{} đã có ở đối tượng #{first}.", listed.name),
                format!("{} was already given by feature #{first}", listed.name),
            )));
            continue;
        }
        let proj = source.layers[f.layer]
            .crs
            .as_ref()
            .and_then(|c| c.proj.clone());
        // Each feature in a savepoint: a geometry PostGIS cannot read or transform is that
        // feature's refusal, not the whole import's failure.
        let point = tx.savepoint("feature").await?;
        let staged = crate::db::areas::stage_boundary(
            &point,
            listed.id,
            f.wkb.as_deref(),
            proj.as_deref(),
            DISTRICT_SLACK,
        )
        .await;
        let staged = match staged {
            Ok(s) => {
                point.commit().await?;
                s
            }
            Err(crate::db::DbError::Unavailable { reason }) => {
                return Err(crate::db::DbError::Unavailable { reason }.into())
            }
            Err(e) => {
                point.rollback().await?;
                report.refused.push(refuse(Problem::new(
                    "geometry",
                    format!("PostGIS không đọc được hình: {e}"),
                    format!("PostGIS cannot read the geometry: {e}"),
                )));
                continue;
            }
        };
        if let Some(fault) = staged {
            report.refused.push(refuse(fault_problem(&fault, listed)));
            continue;
        }
        report.matched.push(Matched {
            index: f.index,
            code: listed.code.clone(),
            name: listed.name.clone(),
            by,
        });
    }
    let given: std::collections::HashSet<i32> = taken.keys().copied().collect();
    report.missing = list
        .iter()
        .filter(|l| !given.contains(&l.id))
        .map(|l| (l.code.clone(), l.name.clone()))
        .collect();
    let named = |id: i32| {
        list.iter()
            .find(|l| l.id == id)
            .map_or_else(|| format!("#{id}"), |l| format!("{} ({})", l.name, l.code))
    };
    report.overlaps = crate::db::areas::staged_overlaps(&tx, OVERLAP_M2)
        .await?
        .into_iter()
        .map(|(a, b, m2)| Overlap {
            first: named(a),
            second: named(b),
            hectares: m2 / 10_000.0,
        })
        .collect();
    if write && report.refused.is_empty() && !report.matched.is_empty() {
        report.works_moved = crate::db::areas::write_boundaries(&tx, file_name, who).await?;
        tx.commit().await?;
        report.written = true;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_without_diacritics_or_the_kind_of_unit() {
        assert_eq!(key("Xã Tân Lập"), "tan lap");
        assert_eq!(key("tan  lap"), "tan lap");
        assert_eq!(key("Thị trấn Tân Biên"), "tan bien");
        assert_eq!(key("PHƯỜNG 1"), "1");
        assert_eq!(key("Đôn Thuận"), "don thuan");
        assert_eq!(code_key("25456.0").as_deref(), Some("25456"));
        assert_eq!(code_key("025456").as_deref(), Some("25456"));
        assert_eq!(code_key("A12"), None);
        assert_eq!(district_key("Huyện Tân Biên"), district_key("Tân Biên"));
        assert_eq!(district_key("Thị xã Hòa Thành"), "hoa thanh");
        assert_eq!(district_key("TP. Tây Ninh"), "tay ninh");
    }
}
