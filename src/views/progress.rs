//! The CSV bulk update page: upload, then a report row by row.

use maud::{html, Markup};

use super::layout;
use crate::i18n::Lang;
use crate::progress::bulk::{Report, MAX_ROWS};

pub fn bulk_page(lang: Lang, csrf: &str, report: Option<&Report>) -> Markup {
    let body = html! {
        h1 { (lang.pick("Cập nhật tiến độ hàng loạt (CSV)", "Bulk progress update (CSV)")) }
        p.lead {
            (lang.pick("Tải tệp mẫu các công trình được giao, sửa trạng thái và tỷ lệ, rồi gửi lại. Tệp chỉ được ghi khi mọi dòng đều hợp lệ.",
                       "Download the template of your sites, edit status and percent, and send it back. Nothing is written unless every row passes."))
        }
        p { a.button href="/api/progress/template.csv" { (lang.pick("Tải tệp mẫu tiến độ", "Download the progress template")) } }
        p { (lang.pick("Đội tìm kiếm, quy tập: tệp mẫu các khu vực tìm kiếm (diện tích kết luận, bản đồ, hài cốt, đơn vị phụ trách) gửi lại cùng biểu mẫu này; mỗi dòng ghi toàn bộ số liệu của khu vực.",
                       "Search teams: the search zones' template (area concluded, map, remains, unit in charge) is sent back through this same form; each row sets the zone's whole figures."))
            " " a href="/api/search/template.csv" { (lang.pick("Tải tệp mẫu tìm kiếm", "Download the search template")) } }
        form.bulk method="post" enctype="multipart/form-data" action={ "/progress/bulk?lang=" (lang.code()) } {
            input type="hidden" name="csrf" value=(csrf);
            label { (lang.pick("Tệp CSV (UTF-8, tối đa ", "CSV file (UTF-8, at most ")) (MAX_ROWS) (lang.pick(" dòng)", " rows)"))
                input type="file" name="file" accept=".csv,text/csv" required; }
            button type="submit" { (lang.pick("Kiểm tra và ghi", "Check and write")) }
        }
        @if let Some(report) = report {
            section #report {
                @if report.committed {
                    @let waiting = report.rows.iter().filter(|r| r.submitted.is_some()).count();
                    @if waiting > 0 {
                        p.ok role="status" { (lang.pick("Đã gửi ", "Sent ")) (waiting) (lang.pick(" dòng để duyệt: số liệu được tính khi đã duyệt.", " rows for review: they count once approved.")) }
                    } @else {
                        p.ok role="status" { (lang.pick("Đã ghi ", "Written: ")) (report.rows.len()) (lang.pick(" dòng.", " rows.")) }
                    }
                } @else {
                    p.errors role="alert" {
                        (lang.pick("Không ghi gì: ", "Nothing written: "))
                        @if report.file_errors.is_empty() {
                            (report.failed_rows()) (lang.pick(" dòng có lỗi.", " row(s) have errors."))
                        } @else {
                            (lang.pick("tệp không hợp lệ.", "the file is not valid."))
                        }
                    }
                }
                @if !report.file_errors.is_empty() {
                    ul.errors { @for e in &report.file_errors { li { (e.message(lang)) } } }
                }
                @if !report.rows.is_empty() {
                    table {
                        thead { tr {
                            th { (lang.pick("Dòng", "Line")) } th { (lang.pick("Mã", "Code")) } th { (lang.pick("Kết quả", "Result")) }
                        } }
                        tbody {
                            @for row in &report.rows {
                                tr class=(if row.ok { "ok" } else { "bad" }) {
                                    td.num { (row.line) }
                                    td { (row.code) }
                                    td {
                                        @if row.ok && row.submitted.is_some() { (lang.pick("Chờ duyệt", "Waiting for review")) }
                                        @else if row.ok { (lang.pick("Hợp lệ", "OK")) }
                                        @for e in &row.errors { div { strong { (e.field) } ": " (e.message(lang)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(
        lang,
        lang.pick("Cập nhật hàng loạt", "Bulk update"),
        "/progress/bulk",
        body,
    )
}
