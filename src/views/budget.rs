//! The budget officer's page for one site: its lines, each editable, and a new line.

use maud::{html, Markup};

use super::layout;
use super::sites::budget_table;
use crate::db::sites::{BudgetLine, CeilingLine, SiteDetails};
use crate::domain::FundingSource;
use crate::i18n::{format_date, format_int, Lang};

/// What happened to the last line sent, if anything.
pub struct Outcome {
    pub ok: bool,
    pub messages: Vec<String>,
    pub warnings: Vec<String>,
}

pub fn page(
    lang: Lang,
    site: &SiteDetails,
    lines: &[BudgetLine],
    ceilings: &[CeilingLine],
    csrf: &str,
    outcome: Option<&Outcome>,
) -> Markup {
    let row = |l: Option<&BudgetLine>| {
        html! {
            form.budget-line method="post" action={ "/sites/" (site.code) "/budget?lang=" (lang.code()) } {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="version" value=(l.map_or(0, |l| l.version));
                @if let Some(l) = l {
                    input type="hidden" name="year" value=(l.year);
                    input type="hidden" name="source" value=(l.source);
                    span.line-key { (l.year) " · " (FundingSource::from_code(&l.source).map_or(l.source.clone(), |s| s.label(lang).to_string())) }
                } @else {
                    select name="year" aria-label=(lang.pick("Năm", "Year")) {
                        // The 2017–2020 scheme's works were funded from 2017.
                        @let first = if site.programme == "kvpt_2017_2020" { 2017 } else { 2021 };
                        @for y in first..=2025 { option value=(y) { (y) } }
                    }
                    select name="source" aria-label=(lang.pick("Nguồn vốn", "Source")) {
                        @for s in FundingSource::ALL { option value=(s.code()) { (s.label(lang)) } }
                    }
                }
                @for (name, vi, en, value) in [
                    ("estimate", "Dự toán", "Estimate", l.map_or(0, |l| l.estimate)),
                    ("allocated", "Phân bổ", "Allocated", l.map_or(0, |l| l.allocated)),
                    ("disbursed", "Giải ngân", "Disbursed", l.map_or(0, |l| l.disbursed)),
                    ("settled", "Quyết toán", "Settled", l.map_or(0, |l| l.settled)),
                ] {
                    label { (lang.pick(vi, en))
                        input type="text" inputmode="numeric" name=(name) value=(value) required; }
                }
                button type="submit" { (if l.is_some() { lang.pick("Sửa", "Correct") } else { lang.pick("Thêm", "Add") }) }
            }
        }
    };
    let body = html! {
        nav.crumbs { a href={ "/sites/" (site.code) "?lang=" (lang.code()) } { "← " (site.code) } }
        h1 { (lang.pick("Ngân sách công trình", "Budget of the site")) }
        p.lead { (site.code) " · " (site.name) }
        @if let Some(o) = outcome {
            @if o.ok {
                p.ok role="status" { (lang.pick("Đã lưu.", "Saved.")) }
            } @else {
                div.errors role="alert" { ul { @for m in &o.messages { li { (m) } } } }
            }
            @if !o.warnings.is_empty() {
                div.warnings role="status" {
                    strong { (lang.pick("Lưu ý: ", "Note: ")) }
                    ul { @for w in &o.warnings { li { (w) } } }
                }
            }
        }
        (budget_table(lines, lang))
        h2 { (lang.pick("Sửa từng dòng", "Correct a line")) }
        @for l in lines { (row(Some(l))) }
        h2 { (lang.pick("Thêm dòng", "Add a line")) }
        (row(None))
        (ceiling_section(lang, site, lines, ceilings, csrf))
    };
    layout(
        lang,
        lang.pick("Ngân sách", "Budget"),
        &format!("/sites/{}/budget", site.code),
        body,
    )
}

fn source_name(code: &str, lang: Lang) -> String {
    FundingSource::from_code(code).map_or_else(|| code.to_string(), |s| s.label(lang).to_string())
}

/// The medium-term ceilings approved for the work, each beside the year's allocation, and
/// the form that enters or corrects one.
fn ceiling_section(
    lang: Lang,
    site: &SiteDetails,
    lines: &[BudgetLine],
    ceilings: &[CeilingLine],
    csrf: &str,
) -> Markup {
    let allocated = |c: &CeilingLine| {
        lines
            .iter()
            .find(|l| l.year == c.year && l.source == c.source)
            .map_or(0, |l| l.allocated)
    };
    let first: i16 = if site.programme == "kvpt_2017_2020" {
        2017
    } else {
        2021
    };
    html! {
        section #ceilings {
            h2 { (lang.pick("Kế hoạch đầu tư công trung hạn được giao", "Medium-term investment ceilings as approved")) }
            @if ceilings.is_empty() {
                p { (lang.pick("Chưa nhập kế hoạch trung hạn được giao.", "No ceiling entered yet.")) }
            } @else {
                div.scroll { table #ceiling-table {
                    thead { tr {
                        th { (lang.pick("Năm", "Year")) } th { (lang.pick("Nguồn vốn", "Source")) }
                        th.num { (lang.pick("Được giao", "Ceiling")) } th.num { (lang.pick("Đã phân bổ", "Allocated")) }
                        th { (lang.pick("Quyết định", "Decision")) }
                    } }
                    tbody {
                        @for c in ceilings {
                            @let a = allocated(c);
                            tr.over[a > c.ceiling] {
                                td { (c.year) } td { (source_name(&c.source, lang)) }
                                td.num { (format_int(c.ceiling, lang)) }
                                td.num { (format_int(a, lang))
                                    @if a > c.ceiling { " " span.flag { (lang.pick("vượt", "over")) } } }
                                td { (c.decision_no) " · " (format_date(c.decision_date, lang)) }
                            }
                        }
                    }
                } }
                h3 { (lang.pick("Điều chỉnh theo quyết định mới", "Amend by a new decision")) }
                @for c in ceilings { (ceiling_form(lang, site, Some(c), csrf, first)) }
            }
            h3 { (lang.pick("Thêm kế hoạch trung hạn", "Add a ceiling")) }
            (ceiling_form(lang, site, None, csrf, first))
        }
    }
}

/// The form entering a ceiling (`None`) or amending one (with the version seen).
fn ceiling_form(
    lang: Lang,
    site: &SiteDetails,
    c: Option<&CeilingLine>,
    csrf: &str,
    first: i16,
) -> Markup {
    html! {
        form.ceiling method="post" action={ "/sites/" (site.code) "/ceiling?lang=" (lang.code()) } {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="version" value=(c.map_or(0, |c| c.version));
            @if let Some(c) = c {
                input type="hidden" name="year" value=(c.year);
                input type="hidden" name="source" value=(c.source);
                span.line-key { (c.year) " · " (source_name(&c.source, lang)) }
            } @else {
                label { (lang.pick("Năm", "Year"))
                    select name="year" { @for y in first..=2025 { option value=(y) { (y) } } } }
                label { (lang.pick("Nguồn vốn", "Source"))
                    select name="source" { @for s in FundingSource::ALL { option value=(s.code()) { (s.label(lang)) } } } }
            }
            label { (lang.pick("Số vốn được giao (đồng)", "Ceiling (VND)"))
                input type="text" inputmode="numeric" name="ceiling" value=(c.map_or(String::new(), |c| c.ceiling.to_string())) required; }
            label { (lang.pick("Số quyết định", "Decision number"))
                input type="text" name="decision_no" maxlength="100" placeholder="1234/QĐ-UBND" required; }
            label { (lang.pick("Ngày quyết định", "Decision date"))
                input type="date" name="decision_date" required; }
            button type="submit" { (if c.is_some() { lang.pick("Điều chỉnh", "Amend") } else { lang.pick("Thêm", "Add") }) }
        }
    }
}
