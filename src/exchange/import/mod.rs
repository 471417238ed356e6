//! Imports: a GIS file read through GDAL (`source`), its coordinate system understood
//! (`srs`, VN-2000 pinned to EPSG:6960) and its DBF text decoded (`encoding`), each row
//! read (`rows`), judged by PostGIS and the rules (`stage`, `check`) and reported; and
//! only when every row passes, written in the same transaction: new works inserted,
//! known codes updated, each change in the history and the audit log.

pub mod check;
pub mod communes;
pub mod encoding;
pub mod jobs;
pub mod log;
pub mod rows;
pub mod source;
pub mod srs;
mod stage;
pub mod uploads;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use deadpool_postgres::Pool;
use serde::Serialize;
use sha2::{Digest, Sha256};

use self::check::Action;
use self::encoding::TextEncoding;
use self::srs::SourceCrs;
use super::ExchangeError;
use crate::domain::{Classification, SiteKind};
use crate::i18n::Lang;

/// How far outside the province (metres) a work may lie: works on the border line and
/// surveys drawn a little wide. Search zones may also lie in the bordering Cambodian
/// provinces.
pub const PROVINCE_BUFFER_M: i32 = 5000;
/// Most features one file may hold.
pub const MAX_FEATURES: usize = 1_000_000;
/// Rows listed in a report (refused first); the counts cover them all.
pub const MAX_REPORTED_ROWS: usize = 2000;

/// One thing wrong (or worth knowing), naming its field, in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Problem {
    pub field: String,
    pub vi: String,
    pub en: String,
}

impl Problem {
    pub fn new(field: &str, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            vi: vi.into(),
            en: en.into(),
        }
    }

    pub fn message(&self, lang: Lang) -> &str {
        lang.pick(&self.vi, &self.en)
    }
}

/// What makes the whole file unreadable.
#[derive(Debug, Clone)]
pub struct FileError(pub Problem);

impl FileError {
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self(Problem::new("file", vi, en))
    }
}

/// Who imports, and what they may touch.
#[derive(Debug, Clone)]
pub struct Importer {
    pub user_id: Option<i32>,
    pub name: String,
    /// "web", "cli" or "api" (one work written through OGC API Features Part 4).
    pub via: &'static str,
    pub clearance: Classification,
    /// May lower a work's classification (administrators, the operator at the command line).
    pub declassify: bool,
    /// The districts an engineer may write in; `None` for all.
    pub districts: Option<Vec<i32>>,
}

/// How far an import has got, for a progress bar.
#[derive(Debug, Default)]
pub struct Progress {
    /// 0 reading, 1 checking, 2 writing, 3 done.
    pub stage: AtomicU8,
    pub done: AtomicU64,
    pub total: AtomicU64,
}

impl Progress {
    pub const READING: u8 = 0;
    pub const CHECKING: u8 = 1;
    pub const WRITING: u8 = 2;
    pub const DONE: u8 = 3;

    /// A stage as the progress bar and the page name it.
    pub fn label(stage: u8, lang: Lang) -> &'static str {
        match stage {
            Self::READING => lang.pick("Đọc tệp", "reading"),
            Self::CHECKING => lang.pick("Kiểm tra", "checking"),
            Self::WRITING => lang.pick("Ghi", "writing"),
            _ => lang.pick("Xong", "done"),
        }
    }

    fn enter(&self, stage: u8) {
        self.stage.store(stage, Ordering::Relaxed);
    }
}

/// What the importer is told beyond the file.
#[derive(Debug, Clone)]
pub struct Options {
    /// The kind of rows that have no kind column.
    pub kind: Option<SiteKind>,
    /// The coordinate system, over what the file says.
    pub srs: Option<SourceCrs>,
    /// The DBF text encoding, over what the file says or detection finds.
    pub encoding: Option<TextEncoding>,
    /// Check and report only.
    pub dry_run: bool,
    pub max_features: usize,
    /// Optional fields every row empties (one of [`rows::CLEARABLE`]): what an API's PUT
    /// leaves out and a JSON Merge Patch sets to `null`.
    pub clear: Vec<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            kind: None,
            srs: None,
            encoding: None,
            dry_run: false,
            max_features: MAX_FEATURES,
            clear: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct LayerReport {
    pub name: String,
    pub features: usize,
    pub crs: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EncodingCandidate {
    pub encoding: String,
    pub label: String,
    pub score: i64,
    /// The first few names as this encoding reads them.
    pub preview: Vec<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EncodingReport {
    pub chosen: String,
    pub label: String,
    /// "chosen" (by the user), "cpg" (the Shapefile's .cpg) or "detected".
    pub how: String,
    pub candidates: Vec<EncodingCandidate>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Counts {
    pub features: usize,
    pub insert: usize,
    pub update: usize,
    pub unchanged: usize,
    pub refused: usize,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RowReport {
    pub row: usize,
    pub layer: String,
    /// Its place in its layer (the line, for CSV).
    pub index: usize,
    pub code: Option<String>,
    pub action: String,
    pub changes: Vec<String>,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// Everything an import found, and whether it wrote.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Report {
    pub id: i64,
    pub file_name: String,
    pub format: Option<String>,
    pub dry_run: bool,
    /// checked (a dry run that passed), refused (something is wrong: nothing written),
    /// committed (written), failed (kvpt's own fault).
    pub outcome: String,
    pub layers: Vec<LayerReport>,
    pub encoding: Option<EncodingReport>,
    pub file_errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    pub counts: Counts,
    pub rows: Vec<RowReport>,
    pub rows_left_out: usize,
}

impl Report {
    pub fn committed(&self) -> bool {
        self.outcome == "committed"
    }
}

/// Imports `path` (shown as `file_name`) for `who`, logging the run; `upload` names the
/// kept upload a later commit reads again.
pub async fn run(
    pool: &Pool,
    path: &Path,
    file_name: &str,
    options: &Options,
    who: &Importer,
    progress: Arc<Progress>,
    upload: Option<&str>,
) -> Result<Report, ExchangeError> {
    let (bytes, sha256) = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || hash_file(&path)).await?
    };
    let run = log::NewRun {
        file_name,
        bytes,
        sha256,
        upload,
    };
    let id = log::start(&pool.get().await?, who, options, &run).await?;
    let result = import(pool, id, path, file_name, options, who, &progress).await;
    progress.enter(Progress::DONE);
    let client = pool.get().await?;
    match result {
        Ok(report) => {
            log::finish(&client, id, &report).await?;
            Ok(report)
        }
        Err(e) => {
            let _ = log::fail(&client, id, &e.to_string()).await;
            Err(e)
        }
    }
}

/// Size and SHA-256 of a file (nothing for a folder).
fn hash_file(path: &Path) -> (Option<i64>, Option<String>) {
    let Ok(mut file) = std::fs::File::open(path) else {
        return (None, None);
    };
    if path.is_dir() {
        return (None, None);
    }
    let mut hasher = Sha256::new();
    match std::io::copy(&mut file, &mut hasher) {
        Ok(n) => (Some(n as i64), Some(format!("{:x}", hasher.finalize()))),
        Err(_) => (None, None),
    }
}

fn refused_report(id: i64, file_name: &str, options: &Options, problem: Problem) -> Report {
    Report {
        id,
        file_name: file_name.to_string(),
        format: None,
        dry_run: options.dry_run,
        outcome: "refused".into(),
        layers: Vec::new(),
        encoding: None,
        file_errors: vec![problem],
        warnings: Vec::new(),
        counts: Counts::default(),
        rows: Vec::new(),
        rows_left_out: 0,
    }
}

async fn import(
    pool: &Pool,
    id: i64,
    path: &Path,
    file_name: &str,
    options: &Options,
    who: &Importer,
    progress: &Arc<Progress>,
) -> Result<Report, ExchangeError> {
    progress.enter(Progress::READING);
    let read = {
        let (path, crs, max, progress) = (
            path.to_path_buf(),
            options.srs.clone(),
            options.max_features,
            progress.clone(),
        );
        tokio::task::spawn_blocking(move || -> Result<source::Source, FileError> {
            let scratch = crate::exchange::export::TempDir::new().map_err(|e| {
                FileError::new(
                    format!("Lỗi thư mục tạm: {e}"),
                    format!("temporary folder: {e}"),
                )
            })?;
            source::read(&path, &scratch.path, crs.as_ref(), max, &progress)
        })
        .await?
    };
    let source = match read {
        Ok(s) => s,
        Err(FileError(problem)) => return Ok(refused_report(id, file_name, options, problem)),
    };
    let mut report = Report {
        id,
        file_name: file_name.to_string(),
        format: Some(source.driver.clone()),
        dry_run: options.dry_run,
        outcome: "refused".into(),
        layers: source
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerReport {
                name: l.name.clone(),
                features: source.features.iter().filter(|f| f.layer == i).count(),
                crs: l.crs.as_ref().map(|c| c.label.clone()),
            })
            .collect(),
        encoding: None,
        file_errors: Vec::new(),
        warnings: Vec::new(),
        counts: Counts {
            features: source.features.len(),
            ..Counts::default()
        },
        rows: Vec::new(),
        rows_left_out: 0,
    };
    file_checks(&source, &mut report);
    // The text encoding of DBF columns.
    let legacy = source.layers.iter().any(|l| l.legacy_text);
    let encoding = if legacy {
        let samples = rows::legacy_samples(&source.layers, &source.features);
        let detected = encoding::detect(samples.iter().copied());
        let (chosen, how) = match (options.encoding, source.cpg) {
            (Some(e), _) => (e, "chosen"),
            (None, Some(e))
                if samples.is_empty()
                    || detected.candidates.iter().find(|c| c.0 == e).map(|c| c.1)
                        >= Some(detected.candidates[0].1) =>
            {
                (e, "cpg")
            }
            _ => (detected.chosen, "detected"),
        };
        let preview_source: Vec<&[u8]> = {
            let mut seen = std::collections::HashSet::new();
            samples
                .iter()
                .copied()
                .filter(|s| seen.insert(*s))
                .take(5)
                .collect()
        };
        report.encoding = Some(EncodingReport {
            chosen: chosen.code().into(),
            label: chosen.label().into(),
            how: how.into(),
            candidates: detected
                .candidates
                .iter()
                .map(|(e, score)| EncodingCandidate {
                    encoding: e.code().into(),
                    label: e.label().into(),
                    score: *score,
                    preview: preview_source.iter().map(|s| e.decode(s)).collect(),
                })
                .collect(),
        });
        chosen
    } else {
        TextEncoding::Utf8
    };
    if !source.skipped_cad_layers.is_empty() {
        let list: Vec<String> = source
            .skipped_cad_layers
            .iter()
            .map(|(l, n)| format!("{} ({n})", if l.is_empty() { "?" } else { l }))
            .collect();
        report.warnings.push(Problem::new(
            "file",
            format!(
                "Bản vẽ: bỏ qua các đối tượng trên lớp CAD không mang mã công trình và các nhãn chữ: {}.",
                list.join(", ")
            ),
            format!(
                "drawing: entities on CAD layers not named by a work's code, and text labels, were left out: {}",
                list.join(", ")
            ),
        ));
    }
    let unknown: Vec<String> = source
        .layers
        .iter()
        .flat_map(|l| l.columns.iter())
        .filter(|c| rows::Column::of(c) == rows::Column::Unknown)
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !unknown.is_empty() {
        report.warnings.push(Problem::new(
            "file",
            format!(
                "Các cột không thuộc kvpt được bỏ qua: {}.",
                unknown.join(", ")
            ),
            format!(
                "columns kvpt does not know were left out: {}",
                unknown.join(", ")
            ),
        ));
    }
    if !report.file_errors.is_empty() {
        return Ok(report);
    }
    let layers = source.layers.clone();
    let mut incoming = rows::read(&layers, source.features, encoding, options.kind);
    for row in &mut incoming {
        row.cleared = options.clear.clone();
    }
    // The database's view and the rules, in the transaction that writes.
    progress.enter(Progress::CHECKING);
    progress
        .total
        .store(incoming.len() as u64, Ordering::Relaxed);
    progress.done.store(0, Ordering::Relaxed);
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let found = stage::analyse(&tx, &layers, &incoming, who.clearance, !options.dry_run).await?;
    let today = crate::i18n::today_in_vietnam();
    let mut finals = Vec::new();
    let mut listed: Vec<RowReport> = Vec::new();
    let mut changed: Vec<RowReport> = Vec::new();
    let every_row_outside = !found.is_empty() && found.iter().all(|f| !f.inside);
    for (row, found) in incoming.into_iter().zip(found) {
        let (number, layer, index, code) = (row.row, row.layer, row.index, row.code.clone());
        let outcome = check::check(row, found, who, today);
        progress.done.fetch_add(1, Ordering::Relaxed);
        let row_report = RowReport {
            row: number,
            layer: layers[layer].name.clone(),
            index,
            code,
            action: match outcome.action {
                Action::Insert => "insert",
                Action::Update => "update",
                Action::Unchanged => "unchanged",
                Action::Refused => "refused",
            }
            .into(),
            changes: outcome.changes,
            errors: outcome.errors,
            warnings: outcome.warnings,
        };
        match outcome.action {
            Action::Insert => report.counts.insert += 1,
            Action::Update => report.counts.update += 1,
            Action::Unchanged => report.counts.unchanged += 1,
            Action::Refused => report.counts.refused += 1,
        }
        if outcome.action == Action::Refused {
            listed.push(row_report);
        } else if outcome.action != Action::Unchanged || !row_report.warnings.is_empty() {
            changed.push(row_report);
        }
        finals.extend(outcome.write);
    }
    if every_row_outside {
        let crs: Vec<String> = report.layers.iter().filter_map(|l| l.crs.clone()).collect();
        report.file_errors.push(Problem::new(
            "srs",
            format!(
                "Không công trình nào nằm trong tỉnh: hệ tọa độ có lẽ sai (tệp được đọc theo {}). Hãy chọn đúng hệ tọa độ.",
                crs.join(", ")
            ),
            format!(
                "no work lies in the province: the coordinate system is probably wrong (the file was read as {}). Choose the right one",
                crs.join(", ")
            ),
        ));
    }
    let total_listed = listed.len() + changed.len();
    listed.extend(changed);
    listed.truncate(MAX_REPORTED_ROWS);
    report.rows_left_out = total_listed - listed.len();
    report.rows = listed;
    if report.counts.refused > 0 || !report.file_errors.is_empty() {
        report.outcome = "refused".into();
        return Ok(report);
    }
    if options.dry_run {
        report.outcome = "checked".into();
        return Ok(report);
    }
    progress.enter(Progress::WRITING);
    stage::write(&tx, &finals, who, id, file_name).await?;
    stage::audit(&tx, who, id, file_name, &report.counts).await?;
    report.outcome = "committed".into();
    // The log says so in the same transaction: a process that dies right after the commit
    // leaves a committed run behind, never one "running" that wrote.
    log::finish(&tx, id, &report).await?;
    tx.commit().await?;
    Ok(report)
}

/// What is wrong with the file as a whole: layers without a coordinate system, or whose
/// coordinates cannot be in the one they name.
fn file_checks(source: &source::Source, report: &mut Report) {
    for layer in &source.layers {
        let Some(bounds) = layer.bounds else { continue };
        match &layer.crs {
            None => {
                let (vi, en) = layer.crs_note.clone().unwrap_or_default();
                report.file_errors.push(Problem::new("srs", vi, en));
            }
            Some(crs) => {
                if let Some((vi, en)) = &layer.crs_note {
                    let note = Problem::new("srs", vi.clone(), en.clone());
                    if !report.warnings.contains(&note) {
                        report.warnings.push(note);
                    }
                }
                let degrees = bounds[0] >= -180.0
                    && bounds[2] <= 180.0
                    && bounds[1] >= -90.0
                    && bounds[3] <= 90.0;
                let sample = format!("{:.0}, {:.0}", bounds[0], bounds[1]);
                if crs.geographic && !degrees {
                    report.file_errors.push(Problem::new(
                        "srs",
                        format!(
                            "Lớp “{}”: tọa độ (như {sample}) không phải độ, nhưng tệp ghi {}: tệp .prj sai; hãy chọn đúng hệ tọa độ (ví dụ VN-2000 TM-3 105°30′).",
                            layer.name, crs.label
                        ),
                        format!(
                            "layer '{}': the coordinates (such as {sample}) are not degrees, but the file says {}: the .prj is wrong; choose the right coordinate system (for example VN-2000 TM-3 105°30′)",
                            layer.name, crs.label
                        ),
                    ));
                } else if !crs.geographic && degrees {
                    report.file_errors.push(Problem::new(
                        "srs",
                        format!(
                            "Lớp “{}”: tọa độ trông như độ (kinh độ, vĩ độ) nhưng tệp ghi {}: hãy chọn đúng hệ tọa độ.",
                            layer.name, crs.label
                        ),
                        format!(
                            "layer '{}': the coordinates look like degrees, but the file says {}: choose the right coordinate system",
                            layer.name, crs.label
                        ),
                    ));
                }
            }
        }
    }
}

/// A private folder for uploads waiting for their commit.
pub fn uploads_dir() -> PathBuf {
    std::env::temp_dir().join("kvpt-imports")
}
