//! `/sites/{code}/land`: a defence land parcel's place in the land-use plan 2021–2030, its
//! area (measured, never typed) and, for administrators and budget officers, the form.

use maud::{html, Markup};

use super::layout;
use crate::db::sites::{LandRecord, SiteDetails};
use crate::domain::{LandLegalStatus, LandUse, LAND_FIVE_YEARS};
use crate::i18n::{format_date, format_decimal, Lang};

/// What happened to the plan last sent, if anything: (saved, messages).
pub type Outcome = (bool, Vec<String>);

pub fn page(
    lang: Lang,
    site: &SiteDetails,
    land: &LandRecord,
    form: Option<&str>,
    outcome: Option<&Outcome>,
) -> Markup {
    let plan = land.plan.as_ref();
    let ha = land
        .area_m2
        .map(|m2| format_decimal(m2 / 10_000.0, 2, lang));
    let body = html! {
        nav.crumbs { a href={ "/sites/" (site.code) "?lang=" (lang.code()) } { "← " (site.code) } }
        h1 { (lang.pick("Quy hoạch sử dụng đất quốc phòng", "Defence land-use plan")) }
        p.lead { (site.code) " · " (site.name) }
        @if let Some((ok, messages)) = outcome {
            @if *ok { p.ok role="status" { (lang.pick("Đã lưu.", "Saved.")) } }
            @else { div.errors role="alert" { ul { @for m in messages { li { (m) } } } } }
        }
        dl.facts #land-plan {
            dt { (lang.pick("Diện tích (VN-2000, EPSG:9209)", "Area (VN-2000, EPSG:9209)")) }
            dd #land-area { (ha.clone().unwrap_or_else(|| "—".into())) " ha" }
            dt { (lang.pick("Kỳ quy hoạch", "Plan period")) } dd { (land.plan_period) }
            @if let Some(p) = plan {
                dt { (lang.pick("Kỳ kế hoạch 5 năm", "5-year period")) } dd #land-five-year { (p.five_year) }
                dt { (lang.pick("Hiện trạng sử dụng", "Current use")) } dd { (p.current_use.label(lang)) }
                dt { (lang.pick("Quy hoạch sử dụng", "Planned use")) } dd #land-planned-use { (p.planned_use.label(lang)) }
                dt { (lang.pick("Tình trạng pháp lý", "Legal status")) } dd #land-legal { (p.legal_status.label(lang)) }
                dt { (lang.pick("Quyết định phê duyệt", "Approval decision")) }
                dd { @if let Some((n, d)) = &p.decision { (n) " · " (format_date(*d, lang)) } @else { "—" } }
            } @else {
                dt {} dd { (lang.pick("Chưa nhập quy hoạch cho khu đất này.", "No plan entered for this parcel yet.")) }
            }
        }
        @if let Some(csrf) = form {
            h2 { (lang.pick("Nhập / sửa quy hoạch", "Enter or correct the plan")) }
            form.land method="post" action={ "/sites/" (site.code) "/land?lang=" (lang.code()) } {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="version" value=(land.version);
                label { (lang.pick("Kỳ kế hoạch 5 năm", "5-year period"))
                    select name="five_year" { @for y in LAND_FIVE_YEARS {
                        option value=(y) selected[plan.is_some_and(|p| p.five_year == y)] { (y) } } } }
                @for (name, vi, en, chosen) in [("current_use", "Hiện trạng sử dụng", "Current use", plan.map(|p| p.current_use)),
                                                 ("planned_use", "Quy hoạch sử dụng", "Planned use", plan.map(|p| p.planned_use))] {
                    label { (lang.pick(vi, en))
                        select name=(name) { @for u in LandUse::ALL {
                            option value=(u.code()) selected[chosen == Some(*u)] { (u.label(lang)) } } } }
                }
                label { (lang.pick("Tình trạng pháp lý", "Legal status"))
                    select name="legal_status" { @for s in LandLegalStatus::ALL {
                        option value=(s.code()) selected[plan.is_some_and(|p| p.legal_status == *s)] { (s.label(lang)) } } } }
                label { (lang.pick("Số quyết định phê duyệt", "Approval decision number"))
                    input type="text" name="decision_no" maxlength="100"
                        value=(plan.and_then(|p| p.decision.as_ref()).map(|d| d.0.clone()).unwrap_or_default()); }
                label { (lang.pick("Ngày quyết định", "Decision date"))
                    input type="date" name="decision_date"
                        value=(plan.and_then(|p| p.decision.as_ref()).map(|d| d.1.to_string()).unwrap_or_default()); }
                p.hint { (lang.pick("Diện tích tính từ ranh giới khu đất, không nhập tay.", "The area is measured on the parcel's boundary, never typed.")) }
                button type="submit" { (lang.pick("Lưu", "Save")) }
            }
        }
    };
    layout(
        lang,
        lang.pick("Quy hoạch đất", "Land plan"),
        &format!("/sites/{}/land", site.code),
        body,
    )
}
