//! `/admin/communes`: where the communes' boundaries come from, the form that brings real
//! ones from a GIS file, and the report of a check (every feature matched or refused, the
//! communes the file leaves out) with the button that writes it.

use maud::{html, Markup};

use super::imports::SRS_CHOICES;
use super::layout;
use crate::exchange::import::communes::CommuneReport;
use crate::i18n::{format_decimal, format_int, Lang};

/// Where a boundary comes from, as the page says it.
fn source_label(source: &str, lang: Lang) -> String {
    if source.starts_with("simulated") {
        lang.pick(
            "Mô phỏng (dữ liệu mẫu, không phải ranh giới thật)",
            "Simulated (demo data, not real boundaries)",
        )
        .to_string()
    } else if source.is_empty() {
        "—".to_string()
    } else {
        source.to_string()
    }
}

/// A check's or a write's report.
fn report_part(lang: Lang, csrf: &str, r: &CommuneReport, token: &str, srs: &str) -> Markup {
    let q = format!("?lang={}", lang.code());
    html! {
        section #commune-report {
            h2 { (lang.pick("Kết quả kiểm tra: ", "Check of ")) (r.file_name) }
            @if let (Some(format), Some(crs)) = (&r.format, &r.crs) {
                p.lead { (format) " · " (crs) }
            }
            @if let Some(p) = &r.file_error {
                div.errors role="alert" { p { (lang.pick(&p.vi, &p.en)) } }
            } @else {
                @if r.written {
                    p.ok #commune-written role="status" {
                        (lang.pick("Đã ghi ranh giới của ", "Written: the boundaries of ")) (format_int(r.matched.len() as i64, lang))
                        (lang.pick(" xã; ", " communes; ")) (format_int(r.works_moved, lang))
                        (lang.pick(" công trình đổi xã.", " works changed commune."))
                    }
                } @else if r.refused.is_empty() {
                    p.ok role="status" { (lang.pick("Mọi đối tượng khớp với danh mục xã. Chưa ghi gì.", "Every feature matches the commune list. Nothing written yet.")) }
                    form #commune-write method="post" action={ "/admin/communes/" (token) "/write" (q) } {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="srs" value=(srs);
                        input type="hidden" name="name" value=(r.file_name);
                        p { (lang.pick(
                            "Ghi sẽ thay ranh giới xã hiện có (ranh giới mô phỏng của các xã không có trong tệp bị bỏ) và xác định lại xã của mọi công trình.",
                            "Writing replaces the communes' boundaries (the simulated ones of communes the file leaves out are dropped) and derives every work's commune again.")) }
                        button type="submit" { (lang.pick("Ghi ranh giới", "Write the boundaries")) }
                    }
                } @else {
                    div.errors #commune-refused role="alert" {
                        p { (format_int(r.refused.len() as i64, lang)) (lang.pick(" đối tượng không khớp: không ghi gì. Sửa tệp rồi tải lên lại.", " features refused: nothing written. Correct the file and upload it again.")) }
                        ul { @for x in &r.refused {
                            li { "#" (x.index) " " (x.label) ": " (lang.pick(&x.problem.vi, &x.problem.en)) }
                        } }
                    }
                }
                @if !r.overlaps.is_empty() {
                    div.warnings #commune-overlaps role="status" {
                        p { (format_int(r.overlaps.len() as i64, lang)) (lang.pick(
                            " chỗ ranh giới chồng lên nhau quá 1 ha (vẫn ghi được; công trình ở phần chồng lấn thuộc xã đứng trước trong danh mục):",
                            " places where boundaries overlap by more than 1 ha (it can still be written; a work in an overlap takes the commune first in the list):")) }
                        ul { @for o in &r.overlaps {
                            li { (o.first) " — " (o.second) ": " (format_decimal(o.hectares, 1, lang)) " ha" }
                        } }
                    }
                }
                table.report #commune-matched {
                    thead { tr { th { "#" } th { (lang.pick("Mã xã", "Code")) } th { (lang.pick("Xã", "Commune")) } th { (lang.pick("Khớp theo", "Matched by")) } } }
                    tbody { @for m in &r.matched {
                        tr { td { (m.index) } td { (m.code) } td { (m.name) }
                             td { (if m.by == "code" { lang.pick("mã", "code") } else { lang.pick("tên", "name") }) } }
                    } }
                }
                @if !r.missing.is_empty() {
                    details #commune-missing {
                        summary { (format_int(r.missing.len() as i64, lang)) (lang.pick(" xã trong danh mục không có ranh giới trong tệp", " communes of the list have no boundary in the file")) }
                        p { @for (i, (code, name)) in r.missing.iter().enumerate() { @if i > 0 { ", " } (name) " (" (code) ")" } }
                    }
                }
            }
        }
    }
}

/// The page, with a report (its upload's token and coordinate system) when there is one.
pub fn page(
    lang: Lang,
    csrf: &str,
    sources: &[(String, i64)],
    report: Option<(&CommuneReport, &str, &str)>,
) -> Markup {
    let body = html! {
        h1 { (lang.pick("Ranh giới xã", "Commune boundaries")) }
        p.lead { (lang.pick(
            "Ranh giới xã (hoặc đơn vị hành chính cấp xã) từ tệp GIS: Shapefile (.zip hoặc chọn cùng lúc .shp .shx .dbf .prj), GeoPackage, GeoJSON, theo VN-2000 hoặc WGS 84. Mỗi đối tượng được khớp với danh mục 94 xã theo mã (MA_XA…) hoặc theo tên có hay không dấu (kèm huyện khi tên trùng); kiểm tra trước, chỉ ghi khi bạn bấm Ghi và mọi đối tượng đều khớp. Xã của các công trình được xác định lại theo ranh giới mới.",
            "Commune (or any commune-level unit) boundaries from a GIS file: Shapefile (.zip, or pick .shp .shx .dbf .prj together), GeoPackage, GeoJSON, in VN-2000 or WGS 84. Each feature is matched to the list of 94 communes by code (MA_XA…) or by name with or without diacritics (with its district where names repeat); checked first, written only when you press Write and every feature matched. Works' communes are derived again from the new boundaries.")) }
        h2 { (lang.pick("Ranh giới hiện có", "Boundaries now")) }
        table.report #commune-sources {
            thead { tr { th { (lang.pick("Nguồn", "Source")) } th { (lang.pick("Số xã", "Communes")) } } }
            tbody {
                @for (source, n) in sources { tr { td { (source_label(source, lang)) } td.num { (format_int(*n, lang)) } } }
                @if sources.is_empty() { tr { td colspan="2" { (lang.pick("Chưa có ranh giới xã nào.", "No commune boundaries yet.")) } } }
            }
        }
        @if let Some((r, token, srs)) = report { (report_part(lang, csrf, r, token, srs)) }
        h2 { (lang.pick("Tải lên tệp ranh giới", "Upload a boundary file")) }
        form #commune-form method="post" action={ "/admin/communes?lang=" (lang.code()) } enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(csrf);
            label { (lang.pick("Tệp", "File")) input type="file" name="file" multiple required; }
            label { (lang.pick("Hệ tọa độ", "Coordinate system"))
                select name="srs" { @for (code, vi, en) in SRS_CHOICES { option value=(code) { (lang.pick(vi, en)) } } }
            }
            button type="submit" { (lang.pick("Tải lên và kiểm tra", "Upload and check")) }
        }
    };
    layout(
        lang,
        lang.pick("Ranh giới xã", "Commune boundaries"),
        "/admin/communes",
        body,
    )
}
