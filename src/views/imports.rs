//! Import pages: the upload form with recent runs, the progress of a run, and its report
//! (file problems, coordinate system, text encoding with a preview per candidate, row by
//! row), with "check again" and "write".

use maud::{html, Markup};

use super::layout;
use crate::domain::SiteKind;
use crate::exchange::import::{Progress, Report};
use crate::i18n::{format_int, Lang};

pub(super) const SRS_CHOICES: &[(&str, &str, &str)] = &[
    (
        "",
        "Theo tệp (.prj, GeoPackage…)",
        "As the file says (.prj, GeoPackage…)",
    ),
    (
        "EPSG:9209",
        "VN-2000 / TM-3 105°30′ (Tây Ninh, EPSG:9209)",
        "VN-2000 / TM-3 105°30′ (Tây Ninh, EPSG:9209)",
    ),
    (
        "EPSG:3405",
        "VN-2000 / UTM 48N (EPSG:3405)",
        "VN-2000 / UTM 48N (EPSG:3405)",
    ),
    (
        "EPSG:4756",
        "VN-2000 địa lý (EPSG:4756)",
        "VN-2000 geographic (EPSG:4756)",
    ),
    ("EPSG:4326", "WGS 84 (EPSG:4326)", "WGS 84 (EPSG:4326)"),
];

fn outcome_label(outcome: &str, lang: Lang) -> &'static str {
    match outcome {
        "committed" => lang.pick("Đã ghi", "Written"),
        "checked" => lang.pick("Hợp lệ, chưa ghi", "Valid, not written"),
        "refused" => lang.pick("Có lỗi, không ghi gì", "Refused, nothing written"),
        "running" => lang.pick("Đang chạy", "Running"),
        "interrupted" => lang.pick("Bị gián đoạn, không ghi gì", "Interrupted, nothing written"),
        _ => lang.pick("Thất bại", "Failed"),
    }
}

fn options_fields(
    lang: Lang,
    kind: Option<&str>,
    srs: Option<&str>,
    encoding: Option<&str>,
) -> Markup {
    html! {
        label { (lang.pick("Loại công trình (cho dòng không có cột kind)", "Kind (for rows without a kind column)"))
            select name="kind" {
                option value="" { "—" }
                @for k in SiteKind::PLACED {
                    option value=(k.code()) selected[kind == Some(k.code())] { (k.label(lang)) }
                }
            }
        }
        label { (lang.pick("Hệ tọa độ", "Coordinate system"))
            select name="srs" {
                @for (code, vi, en) in SRS_CHOICES {
                    option value=(code) selected[srs == Some(*code)] { (lang.pick(vi, en)) }
                }
            }
        }
        label { (lang.pick("Bảng mã DBF (Shapefile)", "DBF text encoding (Shapefile)"))
            select name="encoding" {
                option value="" { (lang.pick("Tự nhận biết", "Detect")) }
                @for e in crate::exchange::import::encoding::TextEncoding::ALL {
                    option value=(e.code()) selected[encoding == Some(e.code())] { (e.label()) }
                }
            }
        }
    }
}

pub fn form(
    lang: Lang,
    csrf: &str,
    recent: &[crate::exchange::import::log::Run],
    max_bytes: u64,
) -> Markup {
    let body = html! {
        h1 { (lang.pick("Nhập dữ liệu từ tệp", "Import from a file")) }
        p { (lang.pick(
            "GeoJSON, GeoPackage, Shapefile (.zip, hoặc chọn cùng lúc .shp .shx .dbf .prj .cpg), KML, DXF (mỗi công trình vẽ trên một lớp CAD mang mã của nó), CSV (cột X/Y hoặc WKT), FlatGeobuf. Mọi dòng được kiểm tra trước; chỉ ghi khi tất cả hợp lệ.",
            "GeoJSON, GeoPackage, Shapefile (.zip, or pick .shp .shx .dbf .prj .cpg together), KML, DXF (each work drawn on a CAD layer named by its code), CSV (X/Y or WKT columns), FlatGeobuf. Every row is checked first; nothing is written unless all pass.")) }
        form #import-form method="post" action={ "/imports?lang=" (lang.code()) } enctype="multipart/form-data" data-lang=(lang.code()) {
            input type="hidden" name="csrf" value=(csrf);
            label { (lang.pick("Tệp", "File"))
                input type="file" name="file" multiple required;
            }
            small { (lang.pick("Tối đa", "At most")) " " (format_int((max_bytes / (1024 * 1024)) as i64, lang)) " MiB" }
            (options_fields(lang, None, None, None))
            button type="submit" { (lang.pick("Tải lên và kiểm tra", "Upload and check")) }
            div #import-upload hidden {
                progress #import-upload-bar max="100" value="0" {}
                span #import-upload-text {}
            }
        }
        h2 { (lang.pick("Các lần nhập gần đây", "Recent imports")) }
        table.report {
            thead { tr {
                th { "#" } th { (lang.pick("Lúc", "When")) } th { (lang.pick("Người", "Who")) }
                th { (lang.pick("Tệp", "File")) } th { (lang.pick("Kết quả", "Outcome")) }
                th { (lang.pick("Đối tượng", "Features")) } th { (lang.pick("Mới", "New")) }
                th { (lang.pick("Cập nhật", "Updated")) } th { (lang.pick("Lỗi", "Refused")) }
            } }
            tbody {
                @for r in recent {
                    tr {
                        td { a href={ "/imports/" (r.id) "?lang=" (lang.code()) } { (r.id) } }
                        td { (r.started.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7")).format(lang.pick("%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M"))) }
                        td { (r.actor) }
                        td { (r.file_name) }
                        td { (outcome_label(&r.outcome, lang)) @if r.dry_run && r.outcome != "refused" { " (" (lang.pick("kiểm tra", "check")) ")" } }
                        td.num { (format_int(r.features.into(), lang)) }
                        td.num { (format_int(r.inserted.into(), lang)) }
                        td.num { (format_int(r.updated.into(), lang)) }
                        td.num { (format_int(r.refused.into(), lang)) }
                    }
                }
            }
        }
        script src="/static/imports.js" {}
    };
    layout(lang, lang.pick("Nhập dữ liệu", "Import"), "/imports", body)
}

pub fn running(lang: Lang, token: &str, progress: &Progress) -> Markup {
    use std::sync::atomic::Ordering::Relaxed;
    let (stage, done, total) = (
        progress.stage.load(Relaxed),
        progress.done.load(Relaxed),
        progress.total.load(Relaxed),
    );
    let body = html! {
        // Refreshes itself without script; imports.js follows more closely.
        meta http-equiv="refresh" content="2";
        h1 { (lang.pick("Đang xử lý tệp…", "Processing the file…")) }
        div #import-job data-job=(token) data-lang=(lang.code()) {
            p #import-stage { (Progress::label(stage, lang)) }
            progress #import-bar max=(total.max(1)) value=(done) {}
            span #import-count { (format_int(done as i64, lang)) " / " (format_int(total as i64, lang)) }
        }
        script src="/static/imports.js" {}
    };
    layout(
        lang,
        lang.pick("Đang nhập", "Importing"),
        &format!("/imports/jobs/{token}"),
        body,
    )
}

/// A job whose instance stopped before it finished ("bị gián đoạn"): what happened and
/// what to do.
pub fn interrupted(lang: Lang) -> Markup {
    let body = html! {
        h1 { (lang.pick("Lần nhập bị gián đoạn", "The import was interrupted")) }
        div.errors role="alert" #import-interrupted {
            p { (lang.pick(
                "Máy chủ đang xử lý tệp này đã dừng trước khi xong. Không có dữ liệu nào của lần nhập này được ghi.",
                "The server processing this file stopped before it finished. Nothing of this import was written.",
            )) }
        }
        p { (lang.pick("Hãy tải tệp lên lại: ", "Upload the file again: "))
            a href={ "/imports?lang=" (lang.code()) } { (lang.pick("Nhập dữ liệu từ tệp", "Import from a file")) } }
    };
    layout(
        lang,
        lang.pick("Lần nhập bị gián đoạn", "Import interrupted"),
        "/imports",
        body,
    )
}

/// The options a run was made with, as the form's values: "check again" and "write"
/// start from them.
#[derive(Debug, Default)]
pub struct Chosen {
    pub kind: Option<String>,
    pub srs: Option<String>,
    pub encoding: Option<String>,
}

pub fn report(lang: Lang, r: &Report, chosen: &Chosen, csrf: &str, kept: bool) -> Markup {
    let c = &r.counts;
    let action = |a: &str| match a {
        "insert" => lang.pick("Thêm mới", "New"),
        "update" => lang.pick("Cập nhật", "Update"),
        "unchanged" => lang.pick("Không đổi", "Unchanged"),
        _ => lang.pick("Lỗi", "Refused"),
    };
    let body = html! {
        h1 { (lang.pick("Kết quả nhập", "Import report")) " #" (r.id) }
        p.outcome class=(r.outcome) { strong { (outcome_label(&r.outcome, lang)) } " — " (r.file_name)
            @if let Some(f) = &r.format { " (" (f) ")" } }
        dl.counts {
            dt { (lang.pick("Đối tượng", "Features")) } dd #count-features { (format_int(c.features as i64, lang)) }
            dt { (lang.pick("Thêm mới", "New")) } dd #count-insert { (format_int(c.insert as i64, lang)) }
            dt { (lang.pick("Cập nhật", "Updated")) } dd #count-update { (format_int(c.update as i64, lang)) }
            dt { (lang.pick("Không đổi", "Unchanged")) } dd #count-unchanged { (format_int(c.unchanged as i64, lang)) }
            dt { (lang.pick("Bị từ chối", "Refused")) } dd #count-refused { (format_int(c.refused as i64, lang)) }
        }
        @if !r.file_errors.is_empty() {
            div.errors role="alert" { ul { @for p in &r.file_errors { li { (p.message(lang)) } } } }
        }
        @if !r.warnings.is_empty() {
            ul.notes { @for p in &r.warnings { li { (p.message(lang)) } } }
        }
        @if !r.layers.is_empty() {
            h2 { (lang.pick("Lớp dữ liệu", "Layers")) }
            ul { @for l in &r.layers { li { (l.name) ": " (format_int(l.features as i64, lang)) " " (lang.pick("đối tượng", "features")) ", " (l.crs.as_deref().unwrap_or("?")) } } }
        }
        @if let Some(e) = &r.encoding {
            h2 { (lang.pick("Bảng mã chữ (DBF)", "Text encoding (DBF)")) }
            p { (lang.pick("Đang dùng", "Using")) ": " strong #encoding-chosen { (e.label) } " ("
                (match e.how.as_str() { "chosen" => lang.pick("bạn chọn", "your choice"), "cpg" => lang.pick("theo tệp .cpg", "from the .cpg"), _ => lang.pick("tự nhận biết", "detected") }) ")" }
            table.report #encoding-preview {
                thead { tr { th { (lang.pick("Bảng mã", "Encoding")) } th { (lang.pick("Tên đọc được", "Names as read")) } } }
                tbody { @for cand in &e.candidates {
                    tr class=[(cand.encoding == e.chosen).then_some("chosen")] {
                        td { (cand.label) } td { (cand.preview.join(" · ")) }
                    }
                } }
            }
        }
        @if kept && r.outcome != "committed" {
            form.again method="post" action={ "/imports/" (r.id) "/again?lang=" (lang.code()) } {
                input type="hidden" name="csrf" value=(csrf);
                (options_fields(lang, chosen.kind.as_deref(), chosen.srs.as_deref(),
                    chosen.encoding.as_deref().or(r.encoding.as_ref().map(|e| e.chosen.as_str()))))
                button type="submit" name="write" value="0" { (lang.pick("Kiểm tra lại", "Check again")) }
                @if r.outcome == "checked" {
                    button.primary #import-write type="submit" name="write" value="1" {
                        (lang.pick("Ghi vào cơ sở dữ liệu", "Write to the database"))
                    }
                }
            }
        }
        @if !r.rows.is_empty() {
            h2 { (lang.pick("Từng dòng", "Row by row")) }
            table.report #import-rows {
                thead { tr {
                    th { (lang.pick("Dòng", "Row")) } th { (lang.pick("Lớp / vị trí", "Layer / place")) }
                    th { (lang.pick("Mã", "Code")) } th { (lang.pick("Kết quả", "Result")) }
                    th { (lang.pick("Chi tiết", "Details")) }
                } }
                tbody { @for row in &r.rows {
                    tr class=(row.action) {
                        td.num { (row.row) }
                        td { (row.layer) " #" (row.index) }
                        td { (row.code.as_deref().unwrap_or("—")) }
                        td { (action(&row.action)) }
                        td {
                            @if row.errors.is_empty() { (row.changes.join(", ")) }
                            ul { @for e in &row.errors { li.error { code { (e.field) } " " (e.message(lang)) } }
                                 @for w in &row.warnings { li { code { (w.field) } " " (w.message(lang)) } } }
                        }
                    }
                } }
            }
            @if r.rows_left_out > 0 {
                p { "… " (format_int(r.rows_left_out as i64, lang)) " " (lang.pick("dòng nữa không liệt kê", "more rows not listed")) }
            }
        }
        p { a href={ "/imports?lang=" (lang.code()) } { (lang.pick("Nhập tệp khác", "Import another file")) } }
    };
    layout(
        lang,
        lang.pick("Kết quả nhập", "Import report"),
        &format!("/imports/{}", r.id),
        body,
    )
}
