//! `/dashboard`: the programme at a glance, now or as of a past date; charts drawn as SVG
//! on the server, each with its table and a CSV download.

use chrono::NaiveDate;
use maud::{html, Markup};

use super::layout;
use super::sites::{kind_label, rate, status_label, timestamp};
use crate::db::areas::AreaName;
use crate::db::dashboard::{Dashboard, GroupRow, PlanRow, Scope, SiteRow};
use crate::domain::{FundingSource, Programme, SiteKind, SiteStatus};
use crate::i18n::{format_date, format_decimal, format_int, Lang};

/// The query the page was asked with, kept in every link it makes.
#[derive(Debug, Clone)]
pub struct View {
    pub as_of: Option<NaiveDate>,
    pub ahead_points: i32,
    pub stale_days: i32,
    pub scope: Scope,
    /// The districts a scope may name (filled for the pages that offer the choice).
    pub districts: Vec<AreaName>,
    /// Count the updates waiting for review too (`counted=submitted`).
    pub submitted: bool,
    /// Whether the deployment reviews updates (the pages then say what they count).
    pub review: bool,
}

impl View {
    pub fn query(&self, lang: Lang) -> String {
        let mut q = format!("lang={}", lang.code());
        if let Some(d) = self.as_of {
            q.push_str(&format!("&as_of={d}"));
        }
        q.push_str(&format!(
            "&ahead={}&stale={}",
            self.ahead_points, self.stale_days
        ));
        q.push_str(&self.scope.query());
        if self.submitted {
            q.push_str("&counted=submitted");
        }
        q
    }

    /// What the figures count, when review is on or updates waiting are counted: a line
    /// with a link to the other choice.
    pub fn counted_line(&self, lang: Lang, path: &str) -> Markup {
        let other = View {
            submitted: !self.submitted,
            districts: Vec::new(),
            scope: self.scope.clone(),
            ..*self
        };
        html! {
            @if self.review || self.submitted {
                p.counted #counted {
                    @if self.submitted {
                        (lang.pick("Số liệu tính cả cập nhật đang chờ duyệt.", "Figures count the updates waiting for review too."))
                        " " a href={ (path) "?" (other.query(lang)) } { (lang.pick("Chỉ cập nhật đã duyệt", "Approved updates only")) }
                    } @else {
                        (lang.pick("Số liệu chỉ tính cập nhật đã được duyệt.", "Figures count approved updates only."))
                        @if self.as_of.is_none() {
                            " " a href={ (path) "?" (other.query(lang)) } { (lang.pick("Tính cả cập nhật chờ duyệt", "Count updates waiting for review too")) }
                        }
                    }
                }
            }
        }
    }

    /// The scope in words ("Đề án KVPT 2017–2020 · Tân Biên · Kho"), empty for all.
    pub fn scope_label(&self, lang: Lang) -> String {
        let mut parts = Vec::new();
        if let Some(p) = self.scope.programme {
            parts.push(p.label(lang).to_string());
        }
        if let Some(code) = &self.scope.district {
            let name = self.districts.iter().find(|d| &d.code == code);
            parts.push(name.map_or_else(
                || format!("{} {code}", lang.pick("huyện", "district")),
                |d| lang.pick(&d.name_vi, &d.name_en).to_string(),
            ));
        }
        if let Some(k) = self.scope.kind {
            parts.push(kind_label(k.code(), lang));
        }
        parts.join(" · ")
    }
}

fn n(v: i64, lang: Lang) -> String {
    format_int(v, lang)
}

fn pct(v: Option<f64>, lang: Lang) -> String {
    match v {
        None => "—".into(),
        Some(v) => {
            let t = format!("{v:.1}%");
            match lang {
                Lang::Vi => t.replace('.', ","),
                Lang::En => t,
            }
        }
    }
}

/// Whole đồng as billions ("tỷ đồng"), the unit planners read budgets in.
fn billions(v: i64, lang: Lang) -> String {
    let t = format!("{:.1}", v as f64 / 1e9);
    match lang {
        Lang::Vi => t.replace('.', ","),
        Lang::En => t,
    }
}

fn source_label(code: &str, lang: Lang) -> String {
    FundingSource::from_code(code).map_or_else(|| code.to_string(), |s| s.label(lang).to_string())
}

/// The segments of one stacked bar: (x, width, status, count) for each status present.
fn stack(r: &GroupRow, left: f64, scale: f64) -> Vec<(f64, f64, &'static str, i64)> {
    let mut x = left;
    r.counts()
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(status, count)| {
            let width = count as f64 * scale;
            x += width;
            (x - width, width, status, count)
        })
        .collect()
}

/// One series of the plan chart: Vietnamese and English names, colour, and its amount.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&PlanRow) -> i64,
);

/// Works per status, one stacked bar per group.
fn status_bars(rows: &[GroupRow], label: impl Fn(&GroupRow) -> String, lang: Lang) -> Markup {
    let max = rows.iter().map(|r| r.total).max().unwrap_or(1).max(1) as f64;
    let (w, row_h) = (820.0, 22.0);
    // Room for the longest label (about 6.6 units a character at 12), within 120–400; a
    // label longer still is cut with "…" and said whole in its title.
    const CHAR: f64 = 6.6;
    let labels: Vec<String> = rows.iter().map(&label).collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let left = (longest as f64 * CHAR + 12.0).clamp(120.0, 400.0);
    let fits = ((left - 12.0) / CHAR) as usize;
    const LEGEND: f64 = 90.0;
    let legend_x = left.min(w - LEGEND * SiteStatus::ALL.len() as f64);
    let h = row_h * rows.len() as f64 + 30.0;
    html! {
        svg.chart viewBox=(format!("0 0 {w} {h}")) role="img" xmlns="http://www.w3.org/2000/svg"
            aria-label=(lang.pick("Số công trình theo trạng thái", "Works per status")) {
            @for (i, (r, name)) in rows.iter().zip(&labels).enumerate() {
                @let y = 4.0 + i as f64 * row_h;
                text x=(left - 6.0) y=(y + 14.0) text-anchor="end" font-size="12" fill="#1d2a33" {
                    @if name.chars().count() > fits {
                        title { (name) }
                        (name.chars().take(fits.saturating_sub(1)).collect::<String>()) "…"
                    } @else {
                        (name)
                    }
                }
                @let segments = stack(r, left, (w - left - 60.0) / max);
                @for (x, bw, status, count) in &segments {
                    rect x=(format!("{x:.1}")) y=(y) width=(format!("{bw:.1}")) height=(row_h - 6.0)
                        fill=(SiteStatus::from_code(status).map_or("#888", |s| s.colour())) {
                        title { (status_label(status, lang)) ": " (count) }
                    }
                }
                @let end = segments.last().map_or(left, |(x, bw, _, _)| x + bw);
                text x=(format!("{:.1}", end + 4.0)) y=(y + 14.0) font-size="12" fill="#5b6b75" { (n(r.total, lang)) }
            }
            @let ly = h - 12.0;
            @for (i, s) in SiteStatus::ALL.iter().enumerate() {
                rect x=(legend_x + i as f64 * LEGEND) y=(ly - 9.0) width="10" height="10" fill=(s.colour()) {}
                text x=(legend_x + 13.0 + i as f64 * LEGEND) y=(ly) font-size="10" fill="#5b6b75" { (s.label(lang)) }
            }
        }
    }
}

fn group_table(
    rows: &[GroupRow],
    label: impl Fn(&GroupRow) -> String,
    first: &str,
    lang: Lang,
    id: &str,
) -> Markup {
    html! {
        div.scroll { table id=(id) {
            thead { tr {
                th { (first) }
                th.num { (lang.pick("Tổng", "Total")) }
                @for s in SiteStatus::ALL { th.num { (s.label(lang)) } }
                th.num { (lang.pick("TB %", "Mean %")) }
                th.num { (lang.pick("% theo vốn", "Budget-weighted %")) }
                th.num { (lang.pick("Chậm", "Late")) }
            } }
            tbody {
                @for r in rows {
                    tr data-key=(r.key) {
                        td { (label(r)) }
                        td.num { (n(r.total, lang)) }
                        @for (_, c) in r.counts() { td.num { (n(c, lang)) } }
                        td.num { (pct(r.mean_pct, lang)) }
                        td.num { (pct(r.weighted_pct, lang)) }
                        td.num.late-count { (n(r.late, lang)) }
                    }
                }
            }
        } }
    }
}

/// Estimate, allocated, disbursed, settled per year (all sources), as grouped bars.
fn plan_chart(plan: &[PlanRow], lang: Lang) -> Markup {
    let mut years: Vec<i16> = plan.iter().map(|p| p.year).collect();
    years.dedup();
    let sum = |year: i16, f: fn(&PlanRow) -> i64| {
        plan.iter().filter(|p| p.year == year).map(f).sum::<i64>()
    };
    let series: [Series; 4] = [
        ("Dự toán", "Estimate", "#9aa5ad", |p| p.estimate),
        ("Phân bổ", "Allocated", "#4f8fd6", |p| p.allocated),
        ("Giải ngân", "Disbursed", "#f08c00", |p| p.disbursed),
        ("Quyết toán", "Settled", "#2f9e44", |p| p.settled),
    ];
    let max = years
        .iter()
        .flat_map(|y| series.iter().map(move |s| sum(*y, s.3)))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (w, h, left, bottom) = (720.0, 240.0, 60.0, 40.0);
    let group = (w - left - 10.0) / years.len().max(1) as f64;
    let bar = group / 5.0;
    html! {
        svg.chart viewBox=(format!("0 0 {w} {h}")) role="img" xmlns="http://www.w3.org/2000/svg"
            aria-label=(lang.pick("Kế hoạch vốn trung hạn theo năm", "Medium-term plan by year")) {
            @for step in 0..=4 {
                @let v = max * f64::from(step) / 4.0;
                @let y = h - bottom - (h - bottom - 10.0) * f64::from(step) / 4.0;
                line x1=(left) x2=(w - 10.0) y1=(format!("{y:.1}")) y2=(format!("{y:.1}")) stroke="#e3e7ea" {}
                text x=(left - 4.0) y=(format!("{:.1}", y + 4.0)) text-anchor="end" font-size="10" fill="#5b6b75" { (billions(v as i64, lang)) }
            }
            @for (i, year) in years.iter().enumerate() {
                @let gx = left + i as f64 * group;
                @for (j, s) in series.iter().enumerate() {
                    @let v = sum(*year, s.3);
                    @let bh = v as f64 / max * (h - bottom - 10.0);
                    rect x=(format!("{:.1}", gx + bar * (j as f64 + 0.5))) y=(format!("{:.1}", h - bottom - bh))
                        width=(format!("{:.1}", bar * 0.9)) height=(format!("{bh:.1}")) fill=(s.2) {
                        title { (year) " · " (lang.pick(s.0, s.1)) ": " (n(v, lang)) }
                    }
                }
                text x=(format!("{:.1}", gx + group / 2.0)) y=(h - bottom + 14.0) text-anchor="middle" font-size="12" fill="#1d2a33" { (year) }
            }
            @for (j, s) in series.iter().enumerate() {
                rect x=(left + j as f64 * 110.0) y=(h - 14.0) width="10" height="10" fill=(s.2) {}
                text x=(left + 13.0 + j as f64 * 110.0) y=(h - 5.0) font-size="11" fill="#5b6b75" { (lang.pick(s.0, s.1)) }
            }
            text x="4" y="12" font-size="10" fill="#5b6b75" { (lang.pick("tỷ đồng", "billion VND")) }
        }
    }
}

fn flag_label(flag: &str, view: &View, lang: Lang) -> String {
    match (flag, lang) {
        ("ahead", Lang::Vi) => format!(
            "Giải ngân vượt tiến độ thực tế trên {} điểm %",
            view.ahead_points
        ),
        ("ahead", Lang::En) => format!(
            "Disbursement ahead of physical progress by more than {} points",
            view.ahead_points
        ),
        ("settled_not_done", Lang::Vi) => "Đã quyết toán nhưng chưa hoàn thành".into(),
        ("settled_not_done", Lang::En) => "Settled but not completed".into(),
        ("done_nothing_disbursed", Lang::Vi) => "Hoàn thành nhưng chưa giải ngân đồng nào".into(),
        ("done_nothing_disbursed", Lang::En) => "Completed with nothing disbursed".into(),
        ("over_ceiling", Lang::Vi) => "Vốn phân bổ vượt kế hoạch trung hạn được giao".into(),
        ("over_ceiling", Lang::En) => "Allocated above the approved medium-term ceiling".into(),
        ("late", Lang::Vi) => "Chậm tiến độ (quá hạn hoàn thành theo kế hoạch)".into(),
        ("late", Lang::En) => "Late (past their planned finish)".into(),
        (_, Lang::Vi) => format!("Không cập nhật quá {} ngày", view.stale_days),
        (_, Lang::En) => format!("No update for more than {} days", view.stale_days),
    }
}

fn csv_link(table: &str, view: &View, lang: Lang) -> Markup {
    html! { a.csv href={ "/dashboard.csv?table=" (table) "&" (view.query(lang)) } download { "CSV" } }
}

fn as_of_form(view: &View, lang: Lang, action: &str) -> Markup {
    html! {
        form.as-of method="get" action=(action) {
            input type="hidden" name="lang" value=(lang.code());
            label { (lang.pick("Số liệu tại ngày", "Figures as of"))
                input type="date" name="as_of" value=(view.as_of.map(|d| d.to_string()).unwrap_or_default()); }
            label { (lang.pick("Ngưỡng giải ngân vượt tiến độ (điểm %)", "Disbursement-ahead threshold (points)"))
                input type="number" name="ahead" min="1" max="100" value=(view.ahead_points); }
            label { (lang.pick("Không cập nhật quá (ngày)", "No update for (days)"))
                input type="number" name="stale" min="1" max="3650" value=(view.stale_days); }
            (scope_fields(view, lang))
            button type="submit" { (lang.pick("Xem", "Show")) }
            @if view.as_of.is_some() || !view.scope.is_all() { a href={ (action) "?lang=" (lang.code()) } { (lang.pick("Toàn tỉnh, hôm nay", "Whole province, today")) } }
        }
    }
}

/// The scope's three choices: programme, district, kind ("all" first).
pub(super) fn scope_fields(view: &View, lang: Lang) -> Markup {
    let all = lang.pick("Tất cả", "All");
    html! {
        label { (lang.pick("Chương trình", "Programme"))
            select #scope-programme name="programme" {
                option value="" { (all) }
                @for p in Programme::ALL {
                    option value=(p.code()) selected[view.scope.programme == Some(*p)] { (p.label(lang)) }
                }
            } }
        @if !view.districts.is_empty() {
            label { (lang.pick("Huyện", "District"))
                select #scope-district name="district" {
                    option value="" { (all) }
                    @for d in &view.districts {
                        option value=(d.code) selected[view.scope.district.as_deref() == Some(d.code.as_str())] {
                            (lang.pick(&d.name_vi, &d.name_en)) }
                    }
                } }
        }
        label { (lang.pick("Loại công trình", "Kind of work"))
            select #scope-kind name="kind" {
                option value="" { (all) }
                @for k in SiteKind::ALL {
                    option value=(k.code()) selected[view.scope.kind == Some(*k)] { (kind_label(k.code(), lang)) }
                }
            } }
    }
}

/// What the figures cover, when it is not the whole province.
fn scope_banner(view: &View, lang: Lang) -> Markup {
    html! {
        @if !view.scope.is_all() {
            p.scope-banner role="status" {
                (lang.pick("Phạm vi: ", "Scope: ")) strong #scope { (view.scope_label(lang)) }
            }
        }
    }
}

fn as_of_banner(view: &View, lang: Lang) -> Markup {
    html! {
        @if let Some(d) = view.as_of {
            p.as-of-banner role="status" {
                (lang.pick("Số liệu dựng lại từ lịch sử, như tại cuối ngày ", "Figures rebuilt from the history, as they stood at the end of "))
                strong #as-of-date { (format_date(d, lang)) }
                "."
            }
        }
    }
}

pub fn page(lang: Lang, d: &Dashboard, view: &View) -> Markup {
    let t = &d.totals;
    let q = view.query(lang);
    let body = html! {
        h1 { (lang.pick("Tổng hợp chương trình", "Programme dashboard")) }
        (as_of_form(view, lang, "/dashboard"))
        (as_of_banner(view, lang))
        (scope_banner(view, lang))
        (view.counted_line(lang, "/dashboard"))
        p.summary-links {
            @for p in Programme::ALL {
                a href={ "/dashboard/summary?programme=" (p.code()) "&lang=" (lang.code()) } {
                    (lang.pick("Tổng kết ", "Summary: ")) (p.label(lang)) }
                " "
            }
        }
        dl.totals {
            div.stat { dt { (lang.pick("Công trình", "Works")) } dd #total { (n(t.total, lang)) } }
            div.stat { dt { (lang.pick("Đã hoàn thành/bàn giao", "Completed or handed over")) } dd #done { (n(t.done, lang)) } }
            div.stat { dt { (lang.pick("Chậm tiến độ", "Late")) } dd #late { a href={ "/dashboard/flags/late?" (q) } { (n(t.late, lang)) } } }
            div.stat { dt { (lang.pick("Tiến độ bình quân", "Mean progress")) } dd #mean { (pct(t.mean_pct, lang)) } }
            div.stat { dt { (lang.pick("Tiến độ theo vốn", "Budget-weighted progress")) } dd #weighted { (pct(t.weighted_pct, lang)) } }
            div.stat { dt { (lang.pick("Tỷ lệ giải ngân", "Disbursement rate")) } dd #disbursement-rate { (rate(t.disbursed.unwrap_or(0), t.allocated.unwrap_or(0), lang)) } }
        }
        section #by-kind {
            h2 { (lang.pick("Tiến độ theo loại công trình", "Progress by kind of work")) " " (csv_link("by_kind", view, lang)) }
            (status_bars(&d.by_kind, |r| kind_label(&r.key, lang), lang))
            (group_table(&d.by_kind, |r| kind_label(&r.key, lang), lang.pick("Loại", "Kind"), lang, "by-kind-table"))
        }
        section #by-district {
            h2 { (lang.pick("Tiến độ theo huyện", "Progress by district")) " " (csv_link("by_district", view, lang)) }
            @let name = |r: &GroupRow| crate::domain::area_name(&r.key, &r.name, lang);
            (status_bars(&d.by_district, name, lang))
            (group_table(&d.by_district, name, lang.pick("Huyện", "District"), lang, "by-district-table"))
        }
        section #plan {
            h2 { (lang.pick("Kế hoạch vốn theo năm và nguồn vốn", "Budget plan by year and source")) " " (csv_link("plan", view, lang)) }
            (plan_chart(&d.plan, lang))
            div.scroll { table #plan-table {
                thead { tr {
                    th { (lang.pick("Năm", "Year")) } th { (lang.pick("Nguồn vốn", "Source")) }
                    th.num { (lang.pick("Dự toán", "Estimate")) } th.num { (lang.pick("Phân bổ", "Allocated")) }
                    th.num { (lang.pick("Giải ngân", "Disbursed")) } th.num { (lang.pick("Quyết toán", "Settled")) }
                    th.num { (lang.pick("Tỷ lệ giải ngân", "Disbursement rate")) }
                    th.num { (lang.pick("Trung hạn được giao", "Medium-term ceiling")) }
                    th.num { (lang.pick("Phân bổ của các công trình có kế hoạch trung hạn", "Allocated to the works with a ceiling")) }
                } }
                tbody {
                    @for p in &d.plan {
                        tr.over[p.over_ceiling()] data-year=(p.year) data-source=(p.source) {
                            td { (p.year) }
                            td.source { a href={ "/dashboard/plan?year=" (p.year) "&source=" (p.source) "&" (q) } { (source_label(&p.source, lang)) } }
                            td.num { (n(p.estimate, lang)) } td.num { (n(p.allocated, lang)) }
                            td.num { (n(p.disbursed, lang)) } td.num { (n(p.settled, lang)) }
                            td.num { (rate(p.disbursed, p.allocated, lang)) }
                            @match p.ceiling {
                                Some(c) => {
                                    td.num.ceiling { (n(c.ceiling, lang)) }
                                    td.num { (n(c.allocated, lang))
                                        @if p.over_ceiling() { " " span.flag { (lang.pick("vượt", "over")) } } }
                                }
                                None => { td.num { "—" } td.num { "—" } }
                            }
                        }
                    }
                }
            } }
            p { (csv_link("ceilings", view, lang)) " " (lang.pick("kế hoạch trung hạn được giao so với phân bổ", "ceilings against allocations")) }
        }
        section #flags {
            h2 { (lang.pick("Cảnh báo bất thường", "Consistency flags")) " " (csv_link("flags", view, lang)) }
            ul.flags {
                @for (flag, count) in [("ahead", d.flags.ahead), ("settled_not_done", d.flags.settled_not_done),
                                       ("done_nothing_disbursed", d.flags.done_nothing_disbursed), ("stale", d.flags.stale),
                                       ("over_ceiling", d.flags.over_ceiling)] {
                    li data-flag=(flag) {
                        a href={ "/dashboard/flags/" (flag) "?" (q) } {
                            span.count { (n(count, lang)) } " " (flag_label(flag, view, lang))
                        }
                    }
                }
            }
        }
        section #search {
            @let s = &d.search;
            h2 { (lang.pick("Tìm kiếm, quy tập hài cốt liệt sĩ", "Search for martyrs' remains")) " " (csv_link("search", view, lang)) }
            dl.totals {
                div.stat { dt { (lang.pick("Huyện có khu vực đã kết luận, có bản đồ", "Districts with a concluded, mapped area")) }
                    dd #search-districts { (s.districts_done) " / " (s.districts_total) " (" (rate(s.districts_done, s.districts_total, lang)) ")" } }
                div.stat { dt { (lang.pick("Xã có khu vực đã kết luận, có bản đồ", "Communes with a concluded, mapped area")) }
                    dd #search-communes { (s.communes_done) " / " (s.communes_total) } }
                div.stat { dt { (lang.pick("Diện tích đã tìm kiếm (theo diện tích khu vực)", "Area searched (area-weighted)")) }
                    dd #search-area { (rate((s.concluded_area_ha * 10.0) as i64, (s.zone_area_ha * 10.0) as i64, lang)) } }
                div.stat { dt { (lang.pick("Hài cốt tìm thấy / dự kiến", "Remains found / expected")) }
                    dd #search-remains { (n(s.remains_found, lang)) " / " (n(s.remains_expected, lang)) } }
                @let (done, total) = s.abroad_done();
                div.stat { dt { (lang.pick("Địa bàn đơn vị tại Campuchia có khu vực đã kết luận, có bản đồ", "Unit areas in Cambodia with a concluded, mapped area")) }
                    dd #search-abroad { (done) " / " (total) } }
            }
            @if !s.abroad.is_empty() {
                div.scroll { table #search-abroad-table {
                    thead { tr {
                        th { (lang.pick("Địa bàn (Campuchia)", "Area (Cambodia)")) } th { (lang.pick("Đơn vị phụ trách", "Unit in charge")) }
                        th.num { (lang.pick("Khu vực", "Zones")) } th.num { (lang.pick("Đã kết luận, có bản đồ", "Concluded, mapped")) }
                        th.num { (lang.pick("Diện tích (ha)", "Area (ha)")) } th.num { (lang.pick("Đã tìm kiếm (ha)", "Searched (ha)")) }
                        th.num { (lang.pick("Tỷ lệ", "Share")) }
                    } }
                    tbody {
                        @for a in &s.abroad {
                            tr data-key=(a.code) {
                                td { (a.name) } td { (a.unit) }
                                td.num { (n(a.zones, lang)) } td.num { (n(a.concluded, lang)) }
                                td.num { (format_decimal(a.zone_area_ha, 1, lang)) } td.num { (format_decimal(a.concluded_area_ha, 1, lang)) }
                                td.num { (rate((a.concluded_area_ha * 10.0) as i64, (a.zone_area_ha * 10.0) as i64, lang)) }
                            }
                        }
                    }
                } }
            }
            @if s.communes_total > 0 && s.communes_done == 0 {
                p.lead { (lang.pick("Chưa có ranh giới xã trong dữ liệu nền nên chưa xác định được xã của từng khu vực; chỉ tiêu của Chỉ thị là 100%.",
                                    "Commune boundaries are not loaded, so zones cannot be placed in communes yet; the directive's target is 100%.")) }
            }
        }
        (land_section(&d.land, view, lang))
    };
    layout(lang, lang.pick("Tổng hợp", "Dashboard"), "/dashboard", body)
}

/// The defence land-use plan: area by planned use × district × legal status, and what
/// the first 5-year period (2021–2025) has done.
fn land_section(land: &[crate::db::dashboard::LandRow], view: &View, lang: Lang) -> Markup {
    use crate::domain::{LandLegalStatus, LandUse};
    let ha = |m2: i64| format_decimal(m2 as f64 / 10_000.0, 1, lang);
    let first: Vec<_> = land.iter().filter(|l| l.five_year == "2021-2025").collect();
    let sum =
        |f: fn(&crate::db::dashboard::LandRow) -> i64| first.iter().map(|&l| f(l)).sum::<i64>();
    let certified: i64 = first
        .iter()
        .filter(|l| l.legal_status == "certified")
        .map(|l| l.area_m2)
        .sum();
    html! {
        section #land {
            h2 { (lang.pick("Quy hoạch sử dụng đất quốc phòng 2021–2030", "Defence land-use plan 2021–2030")) " " (csv_link("land", view, lang)) }
            @if land.is_empty() {
                p { (lang.pick("Chưa có khu đất nào được nhập quy hoạch.", "No parcel has a plan entered yet.")) }
            } @else {
                dl.totals {
                    div.stat { dt { (lang.pick("Kỳ 2021–2025: khu đất / diện tích (ha)", "2021–2025: parcels / area (ha)")) }
                        dd #land-first-period { (n(sum(|l| l.parcels), lang)) " / " (ha(sum(|l| l.area_m2))) } }
                    div.stat { dt { (lang.pick("Đã hoàn thành (ha)", "Done (ha)")) } dd #land-first-done { (ha(sum(|l| l.done_m2))) } }
                    div.stat { dt { (lang.pick("Đã đúng mục đích quy hoạch (ha)", "Already in the planned use (ha)")) } dd { (ha(sum(|l| l.in_use_m2))) } }
                    div.stat { dt { (lang.pick("Đã cấp giấy chứng nhận (ha)", "Certificate issued (ha)")) } dd #land-first-certified { (ha(certified)) } }
                }
                div.scroll { table #land-table {
                    thead { tr {
                        th { (lang.pick("Quy hoạch sử dụng", "Planned use")) } th { (lang.pick("Huyện", "District")) }
                        @for s in LandLegalStatus::ALL { th.num { (s.label(lang)) " (ha)" } }
                        th.num { (lang.pick("Tổng (ha)", "Total (ha)")) } th.num { (lang.pick("Khu đất", "Parcels")) }
                    } }
                    tbody {
                        @for u in LandUse::ALL {
                            @let districts: std::collections::BTreeSet<(&str, &str)> = land.iter().filter(|l| l.planned_use == u.code()).map(|l| (l.district.as_str(), l.district_name.as_str())).collect();
                            @for (code, name) in &districts {
                                @let rows: Vec<_> = land.iter().filter(|l| l.planned_use == u.code() && l.district == *code).collect();
                                tr data-use=(u.code()) data-district=(code) {
                                    td { (u.label(lang)) } td { (if code.is_empty() { "—" } else { *name }) }
                                    @for s in LandLegalStatus::ALL {
                                        td.num { (ha(rows.iter().filter(|l| l.legal_status == s.code()).map(|l| l.area_m2).sum())) }
                                    }
                                    td.num { (ha(rows.iter().map(|l| l.area_m2).sum())) }
                                    td.num { (n(rows.iter().map(|l| l.parcels).sum(), lang)) }
                                }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn site_table(rows: &[SiteRow], lang: Lang) -> Markup {
    html! {
        div.scroll { table.sites {
            thead { tr {
                th { (lang.pick("Mã", "Code")) } th { (lang.pick("Tên", "Name")) } th { (lang.pick("Loại", "Kind")) }
                th { (lang.pick("Huyện", "District")) } th { (lang.pick("Trạng thái", "Status")) } th.num { "%" }
                th.num { (lang.pick("Dự toán", "Estimate")) } th.num { (lang.pick("Giải ngân", "Disbursed")) }
                th.num { (lang.pick("Quyết toán", "Settled")) } th { (lang.pick("Cập nhật cuối", "Last update")) }
            } }
            tbody {
                @for r in rows {
                    tr {
                        td { a href={ "/sites/" (r.code) "?lang=" (lang.code()) } { (r.code) } }
                        td { (r.name) } td { (kind_label(&r.kind, lang)) } td { (r.district) }
                        td { (status_label(&r.status, lang)) } td.num { (r.pct) }
                        td.num { (n(r.estimate, lang)) } td.num { (n(r.disbursed, lang)) } td.num { (n(r.settled, lang)) }
                        td { (r.last_update.map(|t| timestamp(t, lang)).unwrap_or_else(|| "—".into())) }
                    }
                }
            }
        } }
    }
}

pub fn flag_page(lang: Lang, flag: &str, rows: &[SiteRow], view: &View, limit: usize) -> Markup {
    let body = html! {
        nav.crumbs { a href={ "/dashboard?" (view.query(lang)) } { (lang.pick("← Tổng hợp", "← Dashboard")) } }
        h1 { (flag_label(flag, view, lang)) }
        (as_of_banner(view, lang))
        (scope_banner(view, lang))
        p.lead { (n(rows.len() as i64, lang)) (lang.pick(" công trình", " works"))
            @if rows.len() >= limit { (lang.pick(" (hiển thị tối đa ", " (showing at most ")) (limit) ")" } }
        (site_table(rows, lang))
    };
    layout(
        lang,
        &flag_label(flag, view, lang),
        &format!("/dashboard/flags/{flag}"),
        body,
    )
}

pub fn plan_page(
    lang: Lang,
    year: i16,
    source: &str,
    districts: &[(String, String, PlanRow)],
    sites: Option<(&str, &[SiteRow])>,
    view: &View,
) -> Markup {
    let q = view.query(lang);
    let body = html! {
        nav.crumbs { a href={ "/dashboard?" (q) "#plan" } { (lang.pick("← Tổng hợp", "← Dashboard")) } }
        h1 { (year) " · " (source_label(source, lang)) }
        (as_of_banner(view, lang))
        (scope_banner(view, lang))
        div.scroll { table #plan-districts {
            thead { tr {
                th { (lang.pick("Huyện", "District")) }
                th.num { (lang.pick("Dự toán", "Estimate")) } th.num { (lang.pick("Phân bổ", "Allocated")) }
                th.num { (lang.pick("Giải ngân", "Disbursed")) } th.num { (lang.pick("Quyết toán", "Settled")) }
                th.num { (lang.pick("Tỷ lệ giải ngân", "Disbursement rate")) }
            } }
            tbody {
                @for (code, name, p) in districts {
                    tr {
                        td { a href={ "/dashboard/plan?year=" (year) "&source=" (source) "&in=" (code) "&" (q) } {
                            (crate::domain::area_name(code, name, lang)) } }
                        td.num { (n(p.estimate, lang)) } td.num { (n(p.allocated, lang)) }
                        td.num { (n(p.disbursed, lang)) } td.num { (n(p.settled, lang)) }
                        td.num { (rate(p.disbursed, p.allocated, lang)) }
                    }
                }
            }
        } }
        @if let Some((district, rows)) = sites {
            h2 { (lang.pick("Công trình", "Works")) " · " (crate::domain::area_name(district, &rows.first().map(|r| r.district.clone()).unwrap_or_default(), lang)) }
            (site_table(rows, lang))
        }
    };
    layout(
        lang,
        lang.pick("Kế hoạch vốn", "Budget plan"),
        "/dashboard/plan",
        body,
    )
}

/// Planned works and the done ones, by group: (label, planned, done, late).
fn planned_done(
    rows: &[GroupRow],
    label: impl Fn(&GroupRow) -> String,
    first: &str,
    lang: Lang,
    id: &str,
) -> Markup {
    html! {
        div.scroll { table id=(id) {
            thead { tr {
                th { (first) }
                th.num { (lang.pick("Kế hoạch", "Planned")) }
                th.num { (lang.pick("Đã hoàn thành", "Done")) }
                th.num { (lang.pick("Tỷ lệ", "Share")) }
                th.num { (lang.pick("Đang thực hiện", "Under way")) }
                th.num { (lang.pick("Tạm dừng, hủy", "Suspended or cancelled")) }
                th.num { (lang.pick("Chậm", "Late")) }
            } }
            tbody {
                @for r in rows {
                    @let done = r.completed + r.handed_over;
                    tr data-key=(r.key) {
                        td { (label(r)) }
                        td.num { (n(r.total, lang)) }
                        td.num.done { (n(done, lang)) }
                        td.num { (rate(done, r.total, lang)) }
                        td.num { (n(r.planned + r.design + r.under_construction, lang)) }
                        td.num { (n(r.suspended + r.cancelled, lang)) }
                        td.num.late-count { (n(r.late, lang)) }
                    }
                }
            }
        } }
    }
}

/// `/dashboard/summary`: the "tổng kết" of a programme (or any scope): planned works
/// against the done ones, the money at each stage, and the late works.
pub fn summary_page(
    lang: Lang,
    d: &Dashboard,
    late: &[SiteRow],
    view: &View,
    limit: usize,
) -> Markup {
    let t = &d.totals;
    let q = view.query(lang);
    let title = match view.scope.programme {
        Some(p) => format!(
            "{}{}",
            lang.pick("Tổng kết ", "Summary of the "),
            p.label(lang)
        ),
        None => lang.pick("Tổng kết", "Summary").to_string(),
    };
    let money = |v: Option<i64>| n(v.unwrap_or(0), lang);
    let body = html! {
        nav.crumbs { a href={ "/dashboard?" (q) } { (lang.pick("← Tổng hợp", "← Dashboard")) } }
        h1 #summary-title { (title) }
        (as_of_form(view, lang, "/dashboard/summary"))
        (as_of_banner(view, lang))
        (scope_banner(view, lang))
        (view.counted_line(lang, "/dashboard/summary"))
        section #summary-works {
            h2 { (lang.pick("Kế hoạch và kết quả thực hiện", "Planned and done")) }
            dl.totals {
                div.stat { dt { (lang.pick("Công trình theo kế hoạch", "Works planned")) } dd #total { (n(t.total, lang)) } }
                div.stat { dt { (lang.pick("Đã hoàn thành/bàn giao", "Completed or handed over")) } dd #done { (n(t.done, lang)) } }
                div.stat { dt { (lang.pick("Tỷ lệ hoàn thành", "Share done")) } dd #done-rate { (rate(t.done, t.total, lang)) } }
                div.stat { dt { (lang.pick("Chậm tiến độ", "Late")) } dd #late { (n(t.late, lang)) } }
            }
            h3 { (lang.pick("Theo loại công trình", "By kind of work")) }
            (planned_done(&d.by_kind, |r| kind_label(&r.key, lang), lang.pick("Loại", "Kind"), lang, "summary-kinds"))
            h3 { (lang.pick("Theo huyện", "By district")) }
            @let name = |r: &GroupRow| crate::domain::area_name(&r.key, &r.name, lang);
            (planned_done(&d.by_district, name, lang.pick("Huyện", "District"), lang, "summary-districts"))
        }
        section #summary-money {
            h2 { (lang.pick("Kinh phí (đồng)", "Money (VND)")) }
            div.scroll { table #summary-money-table {
                thead { tr {
                    th { (lang.pick("Năm", "Year")) } th { (lang.pick("Nguồn vốn", "Source")) }
                    th.num { (lang.pick("Dự toán", "Estimate")) } th.num { (lang.pick("Phân bổ", "Allocated")) }
                    th.num { (lang.pick("Giải ngân", "Disbursed")) } th.num { (lang.pick("Quyết toán", "Settled")) }
                } }
                tbody {
                    @for p in &d.plan {
                        tr { td { (p.year) } td.source { (source_label(&p.source, lang)) }
                             td.num { (n(p.estimate, lang)) } td.num { (n(p.allocated, lang)) }
                             td.num { (n(p.disbursed, lang)) } td.num { (n(p.settled, lang)) } }
                    }
                }
                tfoot { tr #summary-money-total {
                    th colspan="2" { (lang.pick("Cộng", "Total")) }
                    td.num { (money(t.estimate)) } td.num { (money(t.allocated)) }
                    td.num { (money(t.disbursed)) } td.num { (money(t.settled)) }
                } }
            } }
            p { (lang.pick("Phân bổ/dự toán ", "Allocated/estimate ")) (rate(t.allocated.unwrap_or(0), t.estimate.unwrap_or(0), lang))
                " · " (lang.pick("Giải ngân/phân bổ ", "Disbursed/allocated ")) (rate(t.disbursed.unwrap_or(0), t.allocated.unwrap_or(0), lang))
                " · " (lang.pick("Quyết toán/giải ngân ", "Settled/disbursed ")) (rate(t.settled.unwrap_or(0), t.disbursed.unwrap_or(0), lang)) }
        }
        section #summary-late {
            h2 { (lang.pick("Công trình chậm tiến độ", "Late works")) }
            p.lead { (n(late.len() as i64, lang)) (lang.pick(" công trình", " works"))
                @if late.len() >= limit { (lang.pick(" (hiển thị tối đa ", " (showing at most ")) (limit) ")" } }
            (site_table(late, lang))
        }
    };
    layout(lang, &title, "/dashboard/summary", body)
}

/// A year × source table of the disclosure.
fn disclosure_table(id: &str, plan: &[PlanRow], lang: Lang) -> Markup {
    html! {
        div.scroll { table id=(id) {
            thead { tr {
                th { (lang.pick("Năm", "Year")) } th { (lang.pick("Nguồn vốn", "Source")) }
                th.num { (lang.pick("Dự toán", "Estimate")) } th.num { (lang.pick("Phân bổ", "Allocated")) }
                th.num { (lang.pick("Giải ngân", "Disbursed")) } th.num { (lang.pick("Quyết toán", "Settled")) }
            } }
            tbody {
                @for p in plan {
                    tr { td { (p.year) } td.source { (source_label(&p.source, lang)) }
                         td.num { (n(p.estimate, lang)) } td.num { (n(p.allocated, lang)) }
                         td.num { (n(p.disbursed, lang)) } td.num { (n(p.settled, lang)) } }
                }
            }
        } }
    }
}

/// The disclosure: the whole plan, then the part of it that buys no work on the map.
pub fn public_budget(lang: Lang, plan: &[PlanRow], unplaced: &[PlanRow]) -> Markup {
    let body = html! {
        h1 { (lang.pick("Công khai ngân sách xây dựng khu vực phòng thủ", "Public disclosure of the defence-zone budget")) }
        p.lead { (lang.pick("Tổng hợp theo năm và nguồn vốn, không có số liệu của từng công trình (Chỉ thị 1584/UBND-NCPC).",
                            "Totals by year and funding source, with no figures of single works (directive 1584/UBND-NCPC).")) }
        (plan_chart(plan, lang))
        (disclosure_table("public-budget", plan, lang))
        p { a.csv href={ "/public/budget.csv" } download { "CSV" } }
        @if !unplaced.is_empty() {
            h2 { (lang.pick("Trong đó: đầu tư không gắn vị trí", "Of which: investments without a place on the map")) }
            p.lead { (lang.pick("Tự động hóa chỉ huy, mạng LAN, phần mềm dùng chung; mua sắm trang thiết bị, phương tiện, tàu xuồng, trang bị phòng chống lụt bão, cứu hộ cứu nạn.",
                                "Command automation, LAN and shared software; procurement of equipment, vehicles, boats, flood and rescue gear.")) }
            (disclosure_table("public-budget-investments", unplaced, lang))
            p.hint { (lang.pick("Chỉ hiện các năm và nguồn vốn gộp từ ", "Only the years and sources summing "))
                (crate::db::dashboard::DISCLOSED_AT_LEAST)
                (lang.pick(" khoản trở lên, để không lộ số liệu của từng khoản.", " items or more, so that no single item's money is told.")) }
        }
    };
    layout(
        lang,
        lang.pick("Công khai ngân sách", "Public budget"),
        "/public/budget",
        body,
    )
}
