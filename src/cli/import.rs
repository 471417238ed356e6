//! `kvpt import`: the importer from the command line, with a progress bar on a terminal
//! and the report printed row by row.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use deadpool_postgres::Pool;

use crate::domain::{Classification, SiteKind};
use crate::exchange::import::encoding::TextEncoding;
use crate::exchange::import::{self, srs, Importer, Options, Progress, Report};
use crate::i18n::Lang;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file: GeoJSON, GeoPackage, Shapefile (.zip, .shp or a folder), KML, DXF,
    /// CSV (X/Y or WKT columns) or FlatGeobuf.
    pub file: std::path::PathBuf,
    /// The kind of works in rows without a kind column (a kind code, e.g. warehouse).
    #[arg(long)]
    pub kind: Option<String>,
    /// The coordinate system, over what the file says: EPSG:9209 (VN-2000 TM-3 105°30′),
    /// EPSG:3405 (VN-2000 UTM 48N), EPSG:4756 (VN-2000), EPSG:4326 (WGS 84), or another
    /// EPSG code.
    #[arg(long)]
    pub srs: Option<String>,
    /// Text encoding of a Shapefile's DBF: utf-8, cp1258, tcvn3 or vni (detected
    /// otherwise).
    #[arg(long)]
    pub encoding: Option<String>,
    /// Check and report only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Language of the report: vi or en.
    #[arg(long, default_value = "vi")]
    pub lang: String,
}

/// Runs the import as the operator (who reaches the database itself: every district,
/// every classification). Returns whether it passed (and, unless a dry run, wrote).
pub async fn run(pool: &Pool, args: ImportArgs) -> anyhow::Result<bool> {
    let lang = Lang::from_param(Some(args.lang.as_str()));
    let options = Options {
        kind: match &args.kind {
            Some(k) => Some(
                SiteKind::from_code(k.trim())
                    .ok_or_else(|| anyhow::anyhow!("unknown kind '{k}'"))?,
            ),
            None => None,
        },
        srs: match &args.srs {
            Some(s) => Some(
                srs::from_option(s)
                    .map_err(|(vi, en)| anyhow::anyhow!("{}", lang.pick(&vi, &en)))?,
            ),
            None => None,
        },
        encoding: match &args.encoding {
            Some(e) => Some(TextEncoding::parse(e).ok_or_else(|| {
                anyhow::anyhow!("unknown encoding '{e}' (utf-8, cp1258, tcvn3, vni)")
            })?),
            None => None,
        },
        dry_run: args.dry_run,
        ..Options::default()
    };
    let who = Importer {
        user_id: None,
        name: std::env::var("USER").unwrap_or_else(|_| "cli".to_string()),
        via: "cli",
        clearance: Classification::Secret,
        declassify: true,
        districts: None,
    };
    let progress = Arc::new(Progress::default());
    let bar = progress_bar(progress.clone(), lang);
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| args.file.display().to_string());
    let report = import::run(pool, &args.file, &name, &options, &who, progress, None).await;
    if let Some((handle, stop)) = bar {
        stop.store(true, Ordering::Relaxed);
        let _ = handle.await;
    }
    let report = report?;
    print!("{}", text(&report, lang));
    Ok(report.outcome != "refused")
}

/// A bar on standard error while the import runs (only on a terminal).
fn progress_bar(
    progress: Arc<Progress>,
    lang: Lang,
) -> Option<(
    tokio::task::JoinHandle<()>,
    Arc<std::sync::atomic::AtomicBool>,
)> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let handle = tokio::spawn(async move {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        while !flag.load(Ordering::Relaxed) {
            let stage = progress.stage.load(Ordering::Relaxed);
            bar.set_message(Progress::label(stage, lang));
            bar.set_length(progress.total.load(Ordering::Relaxed));
            bar.set_position(progress.done.load(Ordering::Relaxed));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bar.finish_and_clear();
    });
    Some((handle, stop))
}

/// The report as text, one line per listed row.
pub fn text(report: &Report, lang: Lang) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} #{}: {} ({})",
        lang.pick("Nhập", "import"),
        report.id,
        report.file_name,
        report.format.as_deref().unwrap_or("?")
    );
    for layer in &report.layers {
        let _ = writeln!(
            out,
            "  {} {}: {} {}, {}",
            lang.pick("lớp", "layer"),
            layer.name,
            layer.features,
            lang.pick("đối tượng", "features"),
            layer.crs.as_deref().unwrap_or("?")
        );
    }
    if let Some(enc) = &report.encoding {
        let _ = writeln!(
            out,
            "  {}: {} ({})",
            lang.pick("bảng mã", "encoding"),
            enc.label,
            enc.how
        );
        for c in &enc.candidates {
            let _ = writeln!(out, "    {:<16} {}", c.label, c.preview.join(" | "));
        }
    }
    for p in &report.file_errors {
        let _ = writeln!(out, "{}: {}", lang.pick("LỖI", "ERROR"), p.message(lang));
    }
    for p in &report.warnings {
        let _ = writeln!(out, "{}: {}", lang.pick("lưu ý", "note"), p.message(lang));
    }
    for r in &report.rows {
        let place = format!(
            "{} {} ({} {}#{})",
            lang.pick("dòng", "row"),
            r.row,
            r.layer,
            if report.format.as_deref() == Some("CSV") {
                lang.pick("dòng ", "line ")
            } else {
                ""
            },
            r.index
        );
        let code = r.code.as_deref().unwrap_or("-");
        if r.errors.is_empty() {
            let _ = writeln!(
                out,
                "  {place} {code}: {} {}",
                r.action,
                r.changes.join(", ")
            );
        }
        for e in &r.errors {
            let _ = writeln!(out, "  {place} {code}: [{}] {}", e.field, e.message(lang));
        }
        for w in &r.warnings {
            let _ = writeln!(out, "  {place} {code}: ({}) {}", w.field, w.message(lang));
        }
    }
    if report.rows_left_out > 0 {
        let _ = writeln!(
            out,
            "  … {} {}",
            report.rows_left_out,
            lang.pick("dòng nữa", "more rows")
        );
    }
    let c = &report.counts;
    let _ = writeln!(
        out,
        "{}: {} {}, {} {}, {} {}, {} {}, {} {} → {}",
        lang.pick("Tổng", "total"),
        c.features,
        lang.pick("đối tượng", "features"),
        c.insert,
        lang.pick("thêm mới", "new"),
        c.update,
        lang.pick("cập nhật", "updated"),
        c.unchanged,
        lang.pick("không đổi", "unchanged"),
        c.refused,
        lang.pick("bị từ chối", "refused"),
        match report.outcome.as_str() {
            "committed" => lang.pick("ĐÃ GHI", "COMMITTED"),
            "checked" => lang.pick(
                "hợp lệ, chưa ghi (--dry-run)",
                "valid, not written (--dry-run)"
            ),
            _ => lang.pick("KHÔNG GHI GÌ", "NOTHING WRITTEN"),
        }
    );
    out
}
