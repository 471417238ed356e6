//! The budget officer's page for one site: its lines, each editable, and a new line.

use maud::{html, Markup};

use super::layout;
use super::sites::budget_table;
use crate::db::sites::{BudgetLine, SiteDetails};
use crate::domain::FundingSource;
use crate::i18n::Lang;

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
                        @for y in 2021..=2025 { option value=(y) { (y) } }
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
    };
    layout(
        lang,
        lang.pick("Ngân sách", "Budget"),
        &format!("/sites/{}/budget", site.code),
        body,
    )
}
