//! `/reports`: the form an officer generates an official report with (day, period, scope,
//! number, signer, format), and the reports generated lately.

use maud::{html, Markup};

use super::dashboard::{scope_fields, View};
use super::layout;
use super::sites::timestamp;
use crate::i18n::{format_date, Lang};
use crate::report::log::Row;

pub fn page(lang: Lang, view: &View, recent: &[Row]) -> Markup {
    let today = crate::i18n::today_in_vietnam();
    let body = html! {
        h1 { (lang.pick("Báo cáo", "Reports")) }
        p.lead { (lang.pick(
            "Báo cáo theo thể thức Nghị định 30/2020/NĐ-CP (DOCX để chỉnh sửa, PDF để in), số liệu như trang Tổng hợp tại cùng ngày và phạm vi; chỉ gồm công trình trong phạm vi được phép xem và đóng dấu độ mật cao nhất có trong báo cáo.",
            "Reports in the format of Decree 30/2020/NĐ-CP (DOCX to edit, PDF to print), with the dashboard's figures for the same day and scope; they hold only the works you may see and carry the highest classification they contain.")) }
        form #report-form method="get" action="/reports/bao-cao.docx" {
            input type="hidden" name="lang" value=(lang.code());
            label { (lang.pick("Số liệu tại ngày", "Figures as of"))
                input type="date" name="as_of" max=(today.to_string()) value=(view.as_of.map(|d| d.to_string()).unwrap_or_default()); }
            label { (lang.pick("Công trình thay đổi từ ngày", "Works changed since"))
                input type="date" name="from" max=(today.to_string()); }
            (scope_fields(view, lang))
            label { (lang.pick("Số, ký hiệu", "Number and symbol"))
                input type="text" name="number" maxlength="60" placeholder="15/BC-BCH"; }
            label { (lang.pick("Chức vụ người ký", "Signer's title"))
                input type="text" name="signer" maxlength="100" placeholder="CHỈ HUY TRƯỞNG"; }
            label { (lang.pick("Họ tên người ký", "Signer's name"))
                input type="text" name="signer_name" maxlength="100"; }
            label { (lang.pick("Định dạng", "Format"))
                select #report-format onchange="this.form.action='/reports/bao-cao.'+this.value" {
                    option value="docx" { "DOCX (Word)" }
                    option value="pdf" { "PDF" }
                } }
            button type="submit" { (lang.pick("Tạo báo cáo", "Generate the report")) }
        }
        @if !recent.is_empty() {
            h2 { (lang.pick("Báo cáo đã tạo gần đây", "Reports generated lately")) }
            div.scroll { table #report-log {
                thead { tr {
                    th { (lang.pick("Lúc", "At")) } th { (lang.pick("Người tạo", "By")) } th { (lang.pick("Số", "Number")) }
                    th { (lang.pick("Tại ngày", "As of")) } th { (lang.pick("Phạm vi", "Scope")) }
                    th { (lang.pick("Định dạng", "Format")) } th { (lang.pick("Độ mật", "Marking")) } th.num { (lang.pick("Công trình", "Works")) }
                } }
                tbody {
                    @for r in recent {
                        tr {
                            td { (timestamp(r.at, lang)) } td { (r.actor) } td { (r.number) }
                            td { (format_date(r.as_of, lang)) } td { code { (r.scope) } }
                            td { (r.format) } td { (r.marking) } td.num { (r.works) }
                        }
                    }
                }
            } }
        }
    };
    layout(lang, lang.pick("Báo cáo", "Reports"), "/reports", body)
}
