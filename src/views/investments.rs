//! `/investments`: the plan's investments without a place on the map (issue 24 §4) — the
//! list and the form that adds or corrects one (their page is the works', `sites`).

use maud::{html, Markup};

use super::layout;
use super::sites::{progress_bar, status_badge};
use crate::domain::{Classification, InvestmentCategory, Programme};
use crate::i18n::{format_date, format_int, Lang};
use crate::investment::store::Listed;
use crate::investment::Investment;

fn category_label(code: &str, lang: Lang) -> String {
    InvestmentCategory::from_code(code).map_or(code.to_string(), |c| c.label(lang).to_string())
}

/// The list of the investments the user sees, of one programme or all.
pub fn list(lang: Lang, rows: &[Listed], programme: Option<Programme>, may_create: bool) -> Markup {
    let money = |v: i64| format_int(v, lang);
    let (e, a, d) = rows.iter().fold((0, 0, 0), |t, r| {
        (t.0 + r.estimate, t.1 + r.allocated, t.2 + r.disbursed)
    });
    let body = html! {
        h1 { (lang.pick("Đầu tư không gắn vị trí", "Investments without a place on the map")) }
        p.lead { (lang.pick(
            "Tự động hóa chỉ huy, mạng LAN, phần mềm dùng chung (mục 3) và mua sắm trang thiết bị, phương tiện, tàu xuồng, trang bị phòng chống lụt bão, cứu hộ cứu nạn (mục 8): tiến độ và ngân sách như các công trình, được tính trong kế hoạch, cảnh báo, công khai ngân sách và báo cáo.",
            "Command automation, LAN and shared software (§3) and the procurement of equipment, vehicles, boats, flood and rescue gear (§8): progress and budget as the works have, counted in the plan, flags, budget disclosure and reports.")) }
        form.filters method="get" action="/investments" {
            input type="hidden" name="lang" value=(lang.code());
            label { (lang.pick("Chương trình", "Programme"))
                select name="programme" {
                    option value="" { (lang.pick("Tất cả", "All")) }
                    @for p in Programme::ALL { option value=(p.code()) selected[programme == Some(*p)] { (p.label(lang)) } }
                } }
            button type="submit" { (lang.pick("Lọc", "Filter")) }
        }
        @if may_create {
            p { a.button #new-investment href={ "/investments/new?lang=" (lang.code()) } {
                (lang.pick("Thêm khoản đầu tư", "Add an investment")) } }
        }
        @if rows.is_empty() {
            p { (lang.pick("Chưa có khoản đầu tư nào.", "No investments yet.")) }
        } @else {
            div.scroll { table #investments {
                thead { tr {
                    th { (lang.pick("Mã", "Code")) } th { (lang.pick("Tên · danh mục · đơn vị", "Name · category · unit")) }
                    th { (lang.pick("Sở chỉ huy", "Command post")) }
                    th { (lang.pick("Trạng thái, tiến độ", "Status, progress")) } th { (lang.pick("Hạn hoàn thành", "Due")) }
                    th.num { (lang.pick("Dự toán", "Estimate")) } th.num { (lang.pick("Đã giao vốn", "Allocated")) }
                    th.num { (lang.pick("Đã giải ngân", "Disbursed")) }
                } }
                tbody { @for r in rows {
                    tr data-code=(r.code) {
                        td { a href={ "/sites/" (r.code) "?lang=" (lang.code()) } { (r.code) } }
                        td.named { (r.name) br; small { (category_label(&r.category, lang)) @if !r.unit.is_empty() { " · " (r.unit) } } }
                        td { @if let Some((code, name)) = &r.post { a href={ "/sites/" (code) "?lang=" (lang.code()) } title=(name) { (code) } } @else { "—" } }
                        td { (status_badge(&r.status, lang)) br; (progress_bar(r.percent)) }
                        td { (r.planned_finish.map_or("—".into(), |d| format_date(d, lang))) }
                        td.num { (money(r.estimate)) } td.num { (money(r.allocated)) } td.num { (money(r.disbursed)) }
                    }
                } }
                tfoot { tr {
                    th colspan="5" { (lang.pick("Cộng", "Total")) " (" (rows.len()) ")" }
                    th.num #investments-estimate { (money(e)) } th.num { (money(a)) } th.num { (money(d)) }
                } }
            } }
        }
    };
    layout(
        lang,
        lang.pick("Đầu tư không gắn vị trí", "Investments"),
        "/investments",
        body,
    )
}

/// What the form shows: the record (empty for a new one), its version, the command posts
/// the user sees, the session's CSRF token, the messages of the last attempt.
pub struct Form<'a> {
    pub item: Option<&'a Investment>,
    /// `Some(code)` when correcting an existing item.
    pub editing: Option<&'a str>,
    pub version: i32,
    pub posts: &'a [(String, String)],
    pub csrf: &'a str,
    pub errors: &'a [String],
    pub clearance: Classification,
}

pub fn form(lang: Lang, f: &Form) -> Markup {
    let item = f.item;
    let text = |v: Option<&str>| v.unwrap_or_default().to_string();
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let action = match f.editing {
        Some(code) => format!("/investments/{code}/edit?lang={}", lang.code()),
        None => format!("/investments?lang={}", lang.code()),
    };
    let title = match f.editing {
        Some(_) => lang.pick("Sửa khoản đầu tư", "Correct an investment"),
        None => lang.pick("Thêm khoản đầu tư", "Add an investment"),
    };
    let body = html! {
        nav.crumbs { a href={ "/investments?lang=" (lang.code()) } { (lang.pick("← Đầu tư", "← Investments")) } }
        h1 { (title) @if let Some(code) = f.editing { " " (code) } }
        @if !f.errors.is_empty() {
            div.errors role="alert" { ul { @for m in f.errors { li { (m) } } } }
        }
        form.investment method="post" action=(action) {
            input type="hidden" name="csrf" value=(f.csrf);
            input type="hidden" name="version" value=(f.version);
            @if f.editing.is_none() {
                label { (lang.pick("Mã (để trống: mã kế tiếp, ví dụ MS-TNH-0001)", "Code (empty: the next one, e.g. MS-TNH-0001)"))
                    input type="text" name="code" maxlength="40" value=(text(item.map(|i| i.code.as_str()))); }
            } @else {
                input type="hidden" name="code" value=(f.editing.unwrap_or_default());
            }
            label { (lang.pick("Tên", "Name"))
                input type="text" name="name" maxlength="300" required value=(text(item.map(|i| i.name.as_str()))); }
            label { (lang.pick("Tên tiếng Anh", "Name in English"))
                input type="text" name="name_en" maxlength="300" value=(text(item.and_then(|i| i.name_en.as_deref()))); }
            label { (lang.pick("Danh mục", "Category"))
                select name="category" { @for c in InvestmentCategory::ALL {
                    option value=(c.code()) selected[item.is_some_and(|i| i.category == *c)] {
                        (c.kind().label(lang)) " – " (c.label(lang)) } } } }
            label { (lang.pick("Chương trình", "Programme"))
                select name="programme" { @for p in Programme::ALL {
                    option value=(p.code()) selected[item.map_or(*p == Programme::Kvpt2021, |i| i.programme == *p)] { (p.label(lang)) } } } }
            label { (lang.pick("Đơn vị chịu trách nhiệm", "Responsible unit"))
                input type="text" name="responsible_unit" maxlength="200" required value=(text(item.map(|i| i.responsible_unit.as_str()))); }
            label { (lang.pick("Sở chỉ huy được trang bị (mã; chỉ với tự động hóa chỉ huy)", "Command post equipped (code; command automation only)"))
                input type="text" name="command_post" list="command-posts" maxlength="40" value=(text(item.and_then(|i| i.command_post.as_deref()))); }
            datalist #command-posts { @for (code, name) in f.posts { option value=(code) { (name) } } }
            label { (lang.pick("Độ mật", "Classification"))
                select name="classification" { @for c in Classification::ALL.iter().filter(|c| **c <= f.clearance) {
                    option value=(c.code()) selected[item.map_or(*c == Classification::Internal, |i| i.classification == *c)] { (c.label(lang)) } } } }
            label { (lang.pick("Bắt đầu (kế hoạch)", "Planned start"))
                input type="date" name="planned_start" value=(date(item.and_then(|i| i.planned_start))); }
            label { (lang.pick("Hoàn thành (kế hoạch)", "Planned finish"))
                input type="date" name="planned_finish" value=(date(item.and_then(|i| i.planned_finish))); }
            p.hint { (lang.pick("Tiến độ do kỹ sư của đơn vị cập nhật; ngân sách do cán bộ ngân sách nhập theo năm và nguồn vốn, như các công trình.",
                                "Progress is updated by the unit's engineers; budget lines by year and source are entered by budget officers, as for works.")) }
            button type="submit" { (lang.pick("Lưu", "Save")) }
        }
    };
    layout(lang, title, "/investments", body)
}
