//! A site's page (`/sites/{code}`): details, small map, progress with its history and
//! chart, budget; and the engineer's update form.

use chrono::{NaiveDate, Utc};
use maud::{html, Markup};

use super::layout;
use crate::db::sites::{BudgetLine, PhotoRef, SiteDetails, SiteMap};
use crate::domain::{Classification, FundingSource, Programme, SiteKind, SiteStatus};
use crate::i18n::{format_date, format_decimal, format_int, today_in_vietnam, Lang};
use crate::progress::store::HistoryEntry;

/// Everything the site page shows.
pub struct SitePage<'a> {
    pub site: &'a SiteDetails,
    /// None: an investment without a place on the map.
    pub map: Option<&'a SiteMap>,
    /// An investment's own record, and whether the user may correct it.
    pub investment: Option<(&'a crate::investment::Investment, bool)>,
    pub history: &'a [HistoryEntry],
    pub photos: &'a [PhotoRef],
    pub budget: &'a [BudgetLine],
    /// The signed-in engineer may update this site.
    pub may_update: bool,
    pub may_edit_budget: bool,
    /// A search zone's figures and their history, and whether the user may update them.
    pub search: Option<SearchPart<'a>>,
    /// Open conflicts on this site the user may resolve (their own; any for an admin).
    pub conflicts: &'a [crate::progress::conflicts::Conflict],
    /// Updates of the work waiting for review or returned (issue 24 §6).
    pub review: Markup,
}

pub struct SearchPart<'a> {
    pub figures: &'a crate::search::rules::Figures,
    pub history: &'a [crate::search::store::SearchEntry],
    pub may_update: bool,
}

pub fn kind_label(kind: &str, lang: Lang) -> String {
    SiteKind::from_code(kind).map_or_else(|| kind.to_string(), |k| k.label(lang).to_string())
}

pub fn status_label(status: &str, lang: Lang) -> String {
    SiteStatus::from_code(status).map_or_else(|| status.to_string(), |s| s.label(lang).to_string())
}

pub fn status_badge(status: &str, lang: Lang) -> Markup {
    let colour = SiteStatus::from_code(status).map_or("#888", |s| s.colour());
    html! { span.status style={ "--status:" (colour) } { (status_label(status, lang)) } }
}

/// The progress fields an update sets, with their labels (vi, en).
pub const PROGRESS_FIELDS: &[(&str, &str, &str)] = &[
    ("status", "Trạng thái", "Status"),
    ("percent", "Tỷ lệ (%)", "Percent"),
    ("actual_start", "Khởi công thực tế", "Actual start"),
    ("actual_finish", "Hoàn thành thực tế", "Actual finish"),
];

/// A progress field's label.
fn field_label(field: &str, lang: Lang) -> &str {
    PROGRESS_FIELDS
        .iter()
        .find(|(f, ..)| *f == field)
        .map_or(field, |(_, vi, en)| lang.pick(vi, en))
}

pub fn progress_bar(percent: i16) -> Markup {
    html! {
        span.bar role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=(percent) {
            span style={ "width:" (percent.clamp(0, 100)) "%" } {}
        }
        " " (percent) "%"
    }
}

fn date(d: Option<NaiveDate>, lang: Lang) -> String {
    d.map_or_else(|| "—".to_string(), |d| format_date(d, lang))
}

pub use super::timestamp;

/// Planned finish passed and the work not done.
pub fn is_late(site: &SiteDetails) -> bool {
    let done = SiteStatus::from_code(&site.status)
        .is_some_and(|s| s.is_done() || s == SiteStatus::Cancelled);
    !done && site.planned_finish.is_some_and(|f| f < today_in_vietnam())
}

fn vnd(v: i64, lang: Lang) -> String {
    format_int(v, lang)
}

/// A share as a percentage with one decimal, in the page's number format.
pub fn rate(part: i64, whole: i64, lang: Lang) -> String {
    if whole == 0 {
        return "—".into();
    }
    let text = format!("{:.1}%", part as f64 * 100.0 / whole as f64);
    match lang {
        Lang::Vi => text.replace('.', ","),
        Lang::En => text,
    }
}

pub fn page(lang: Lang, p: &SitePage) -> Markup {
    let s = p.site;
    let name = match (lang, &s.name_en) {
        (Lang::En, Some(en)) => en.as_str(),
        _ => s.name.as_str(),
    };
    let place = match (&s.district, &s.abroad) {
        (Some(d), _) => {
            let d = match (lang, &s.district_en) {
                (Lang::En, Some(en)) => en.clone(),
                _ => d.clone(),
            };
            match &s.commune {
                Some(c) => format!("{c}, {d}"),
                None => d,
            }
        }
        (None, Some(a)) => format!("{a} ({})", lang.pick("Campuchia", "Cambodia")),
        // An investment without a district: bought for the whole province.
        _ if p.map.is_none() => lang.pick("Cấp tỉnh", "Province-wide").into(),
        _ => "—".into(),
    };
    let body = html! {
        nav.crumbs {
            @if p.map.is_some() {
                a href={ "/map?lang=" (lang.code()) "#site=" (s.code) } { (lang.pick("← Bản đồ", "← Map")) }
            } @else {
                a href={ "/investments?lang=" (lang.code()) } { (lang.pick("← Đầu tư không gắn vị trí", "← Investments without a place")) }
            }
        }
        div.site-head {
            div {
                p.code { (s.code) }
                h1 { (name) }
                p.lead { (kind_label(&s.kind, lang)) " · " (place) }
            }
            @if p.may_update {
                a.button href={ "/sites/" (s.code) "/progress?lang=" (lang.code()) } {
                    (lang.pick("Cập nhật tiến độ", "Update progress"))
                }
            }
        }
        (p.review)
        @if !p.conflicts.is_empty() {
            div.conflict #conflicts role="alert" {
                p { strong { (lang.pick("Cập nhật xung đột chờ giải quyết", "Conflicting updates waiting to be resolved")) } }
                ul { @for c in p.conflicts {
                    li { a href={ "/field/conflicts?lang=" (lang.code()) "#c" (c.id) } {
                        (lang.pick("Của ", "By ")) (c.author) " · " (timestamp(c.created_at, lang)) " · "
                        (c.fields.iter().map(|f| field_label(f, lang)).collect::<Vec<_>>().join(", ")) } }
                } }
            }
        }
        div.site-grid {
            section.facts {
                dl {
                    dt { (lang.pick("Trạng thái", "Status")) }
                    dd #status { (status_badge(&s.status, lang)) }
                    dt { (lang.pick("Tiến độ", "Progress")) }
                    dd #percent { (progress_bar(s.percent)) }
                    dt { (lang.pick("Kế hoạch", "Planned")) }
                    dd { (date(s.planned_start, lang)) " → " (date(s.planned_finish, lang))
                        @if is_late(s) { " " span.late { (lang.pick("Chậm tiến độ", "Late")) } } }
                    dt { (lang.pick("Thực tế", "Actual")) }
                    dd { (date(s.actual_start, lang)) " → " (date(s.actual_finish, lang)) }
                    dt { (lang.pick("Đơn vị", "Unit")) }
                    dd { (s.unit.as_deref().unwrap_or("—")) }
                    dt { (lang.pick("Chương trình", "Programme")) }
                    dd { (Programme::from_code(&s.programme).map_or(s.programme.clone(), |p| p.label(lang).to_string()))
                         @if let Some(phase) = s.phase { " · " (lang.pick("giai đoạn", "phase")) " " (phase) } }
                    dt { (lang.pick("Độ mật", "Classification")) }
                    dd { (Classification::from_code(&s.classification).map_or(s.classification.clone(), |c| c.label(lang).to_string())) }
                    dt { (lang.pick("Phiên bản", "Version")) }
                    dd #version { (s.version) " · " (timestamp(s.updated_at, lang)) }
                }
            }
            @if let Some(map) = p.map {
                section.minimap { (mini_map(map)) }
            } @else if let Some((item, may_edit)) = p.investment {
                (investment_facts(lang, item, may_edit))
            }
        }
        section #chart {
            h2 { (lang.pick("Tiến độ theo thời gian", "Progress over time")) }
            (chart(p.history, lang))
        }
        section #history {
            h2 { (lang.pick("Lịch sử cập nhật", "History")) }
            @if p.history.is_empty() {
                p.lead { (lang.pick("Chưa có cập nhật nào.", "No updates yet.")) }
            }
            ol.timeline {
                @for h in p.history.iter().rev() {
                    li {
                        p.when { (timestamp(h.recorded_at, lang)) " · " span.who { (h.actor) } }
                        p.change {
                            @if let Some(old) = &h.old_status {
                                @if old != &h.new_status {
                                    (status_label(old, lang)) " → "
                                }
                            }
                            (status_badge(&h.new_status, lang))
                            " · "
                            @if let Some(old) = h.old_pct { @if old != h.new_pct { (old) "% → " } }
                            (h.new_pct) "%"
                        }
                        @if let Some(note) = &h.note { p.note { (note) } }
                        @if let Some(reason) = &h.correction_reason {
                            p.correction { strong { (lang.pick("Điều chỉnh: ", "Correction: ")) } (reason) }
                        }
                        @let photos: Vec<&PhotoRef> = p.photos.iter().filter(|ph| ph.history_id == Some(h.id)).collect();
                        @if !photos.is_empty() {
                            div.photos { @for ph in photos { (photo_card(ph, lang)) } }
                        }
                    }
                }
            }
            @let loose: Vec<&PhotoRef> = p.photos.iter().filter(|ph| ph.history_id.is_none()).collect();
            @if !loose.is_empty() {
                h3 { (lang.pick("Ảnh khác", "Other photos")) }
                div.photos { @for ph in loose { (photo_card(ph, lang)) } }
            }
        }
        @if let Some(z) = &p.search {
            (super::search::section(lang, &s.code, z.figures, z.history, z.may_update))
        }
        @if s.kind == "defence_land" {
            p #land-link { a href={ "/sites/" (s.code) "/land?lang=" (lang.code()) } {
                (lang.pick("Quy hoạch sử dụng đất quốc phòng 2021–2030", "Defence land-use plan 2021–2030")) } }
        }
        section #budget {
            h2 { (lang.pick("Ngân sách (đồng)", "Budget (VND)")) }
            (budget_table(p.budget, lang))
            @if p.may_edit_budget {
                p { a.button href={ "/sites/" (s.code) "/budget?lang=" (lang.code()) } {
                    (lang.pick("Nhập / sửa ngân sách", "Enter or correct budget lines")) } }
            }
        }
    };
    layout(
        lang,
        &format!("{} {}", s.code, name),
        &format!("/sites/{}", s.code),
        body,
    )
}

/// The facts only an investment has, on its page.
fn investment_facts(lang: Lang, item: &crate::investment::Investment, may_edit: bool) -> Markup {
    html! {
        section.investment #investment {
            p.lead { (lang.pick("Khoản đầu tư không gắn vị trí trên bản đồ.", "An investment without a place on the map.")) }
            dl {
                dt { (lang.pick("Danh mục", "Category")) }
                dd #category { (item.category.label(lang)) }
                dt { (lang.pick("Sở chỉ huy được trang bị", "Command post equipped")) }
                dd #command-post {
                    @if let Some(post) = &item.command_post {
                        a href={ "/sites/" (post) "?lang=" (lang.code()) } { (post) }
                    } @else { "—" }
                }
            }
            @if may_edit {
                p { a.button href={ "/investments/" (item.code) "/edit?lang=" (lang.code()) } {
                    (lang.pick("Sửa thông tin", "Correct the record")) } }
            }
        }
    }
}

/// A photo's thumbnail, with a warning when it was taken far from the site or long
/// before its update (what its EXIF says).
pub fn photo_card(ph: &PhotoRef, lang: Lang) -> Markup {
    html! {
        figure.photo {
            a href={ "/photos/" (ph.id) } {
                img src={ "/photos/" (ph.id) "/thumb" } loading="lazy"
                    alt=(lang.pick("Ảnh hiện trường", "Site photo"))
                    width="160" height=(160 * ph.height / ph.width.max(1));
            }
            @if ph.far || ph.early || ph.taken_at.is_some() {
                figcaption {
                    @if let Some(at) = ph.taken_at { (lang.pick("Chụp ", "Taken ")) (timestamp(at, lang)) }
                    @if ph.far {
                        @let km = ph.distance_m.unwrap_or(0.0) / 1000.0;
                        span.photo-flag { (lang.pick("Chụp cách công trình ", "Taken "))
                            (format_decimal(km, 1, lang)) (lang.pick(" km", " km from the site")) }
                    }
                    @if ph.early {
                        span.photo-flag { (lang.pick("Chụp trước cập nhật hơn 7 ngày", "Taken over 7 days before the update")) }
                    }
                }
            }
        }
    }
}

pub fn mini_map(m: &SiteMap) -> Markup {
    let [x, y, w, h] = m.view_box;
    let stroke = w.max(h) / 300.0;
    html! {
        svg.minimap viewBox=(format!("{x:.0} {y:.0} {w:.0} {h:.0}")) preserveAspectRatio="xMidYMid meet"
            role="img" aria-label="map" xmlns="http://www.w3.org/2000/svg" {
            rect x=(format!("{x:.0}")) y=(format!("{y:.0}")) width=(format!("{w:.0}")) height=(format!("{h:.0}")) fill="#eef2f0" {}
            @if !m.districts.is_empty() {
                path d=(m.districts) fill="none" stroke="#7d8b93" stroke-width=(format!("{:.0}", stroke * 1.5)) stroke-dasharray=(format!("{:.0} {:.0}", stroke * 6.0, stroke * 3.0)) {}
            }
            @if !m.border.is_empty() {
                path d=(m.border) fill="none" stroke="#a61e4d" stroke-width=(format!("{:.0}", stroke * 3.0)) {}
            }
            @if m.site_is_point {
                @let (cx, cy) = point_of(&m.site);
                circle cx=(cx) cy=(cy) r=(format!("{:.0}", stroke * 8.0)) fill="#7a1f1f" stroke="#fff" stroke-width=(format!("{:.0}", stroke * 2.0)) {}
            } @else {
                path d=(m.site) fill="rgba(122,31,31,.35)" stroke="#7a1f1f" stroke-width=(format!("{:.0}", stroke * 2.5)) {}
            }
        }
    }
}

/// `cx="…" cy="…"` of ST_AsSVG's point output.
fn point_of(svg: &str) -> (String, String) {
    let mut cx = String::new();
    let mut cy = String::new();
    for part in svg.split_whitespace() {
        if let Some(v) = part.strip_prefix("cx=\"") {
            cx = v.trim_end_matches('"').to_string();
        } else if let Some(v) = part.strip_prefix("cy=\"") {
            cy = v.trim_end_matches('"').to_string();
        }
    }
    (cx, cy)
}

/// Percent over time as a step line, with a dot per update.
fn chart(history: &[HistoryEntry], lang: Lang) -> Markup {
    if history.is_empty() {
        return html! { p.lead { (lang.pick("Chưa có dữ liệu.", "No data yet.")) } };
    }
    let (w, h, left, bottom) = (640.0_f64, 200.0_f64, 36.0_f64, 24.0_f64);
    let t0 = history[0].recorded_at.timestamp() as f64;
    let t1 = (Utc::now().timestamp() as f64).max(t0 + 86_400.0);
    let x = |t: f64| left + (t - t0) / (t1 - t0) * (w - left - 8.0);
    let y = |p: f64| 8.0 + (100.0 - p) / 100.0 * (h - bottom - 8.0);
    let mut d = String::new();
    let mut last = None;
    for e in history {
        let (px, py) = (x(e.recorded_at.timestamp() as f64), y(f64::from(e.new_pct)));
        match last {
            None => d.push_str(&format!("M{px:.1},{py:.1}")),
            Some(ly) => d.push_str(&format!(" L{px:.1},{ly:.1} L{px:.1},{py:.1}")),
        }
        last = Some(py);
    }
    if let Some(ly) = last {
        d.push_str(&format!(" L{:.1},{ly:.1}", x(t1)));
    }
    let first_year = history[0]
        .recorded_at
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap_or(2020);
    let last_year = Utc::now()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap_or(first_year);
    let years: Vec<(i32, f64)> = (first_year + 1..=last_year)
        .filter_map(|yr| {
            let t = NaiveDate::from_ymd_opt(yr, 1, 1)?
                .and_hms_opt(0, 0, 0)?
                .and_utc()
                .timestamp() as f64;
            (t > t0 && t < t1).then_some((yr, x(t)))
        })
        .collect();
    html! {
        svg.chart viewBox=(format!("0 0 {w} {h}")) role="img"
            aria-label=(lang.pick("Biểu đồ tỷ lệ hoàn thành theo thời gian", "Percent complete over time"))
            xmlns="http://www.w3.org/2000/svg" {
            @for p in [0, 25, 50, 75, 100] {
                line x1=(left) x2=(w - 8.0) y1=(format!("{:.1}", y(f64::from(p)))) y2=(format!("{:.1}", y(f64::from(p)))) stroke="#d7dee3" {}
                text x=(left - 4.0) y=(format!("{:.1}", y(f64::from(p)) + 4.0)) text-anchor="end" font-size="11" fill="#5b6b75" { (p) "%" }
            }
            @for (yr, yx) in &years {
                line x1=(format!("{yx:.1}")) x2=(format!("{yx:.1}")) y1="8" y2=(h - bottom) stroke="#eef0f2" {}
                text x=(format!("{yx:.1}")) y=(h - 6.0) text-anchor="middle" font-size="11" fill="#5b6b75" { (yr) }
            }
            path d=(d) fill="none" stroke="#7a1f1f" stroke-width="2" {}
            @for e in history {
                circle cx=(format!("{:.1}", x(e.recorded_at.timestamp() as f64))) cy=(format!("{:.1}", y(f64::from(e.new_pct)))) r="3" fill="#7a1f1f" {
                    title { (timestamp(e.recorded_at, lang)) ": " (e.new_pct) "%" }
                }
            }
        }
    }
}

fn source_label(source: &str, lang: Lang) -> String {
    FundingSource::from_code(source)
        .map_or_else(|| source.to_string(), |s| s.label(lang).to_string())
}

pub fn budget_table(lines: &[BudgetLine], lang: Lang) -> Markup {
    if lines.is_empty() {
        return html! { p.lead { (lang.pick("Chưa có dòng ngân sách.", "No budget lines yet.")) } };
    }
    let sum = |f: fn(&BudgetLine) -> i64| lines.iter().map(f).sum::<i64>();
    let (e, a, d, s) = (
        sum(|l| l.estimate),
        sum(|l| l.allocated),
        sum(|l| l.disbursed),
        sum(|l| l.settled),
    );
    html! {
        div.scroll { table.budget {
            thead { tr {
                th { (lang.pick("Năm", "Year")) }
                th { (lang.pick("Nguồn vốn", "Source")) }
                th.num { (lang.pick("Dự toán", "Estimate")) }
                th.num { (lang.pick("Đã phân bổ", "Allocated")) }
                th.num { (lang.pick("Đã giải ngân", "Disbursed")) }
                th.num { (lang.pick("Đã quyết toán", "Settled")) }
                th.num { (lang.pick("Tỷ lệ giải ngân", "Disbursement rate")) }
            } }
            tbody {
                @for l in lines {
                    tr {
                        td { (l.year) }
                        td.source { (source_label(&l.source, lang)) }
                        td.num { (vnd(l.estimate, lang)) }
                        td.num { (vnd(l.allocated, lang)) }
                        td.num { (vnd(l.disbursed, lang)) }
                        td.num { (vnd(l.settled, lang)) }
                        td.num { (rate(l.disbursed, l.allocated, lang)) }
                    }
                }
            }
            tfoot { tr {
                th colspan="2" { (lang.pick("Tổng", "Total")) }
                td.num #budget-estimate { (vnd(e, lang)) }
                td.num #budget-allocated { (vnd(a, lang)) }
                td.num #budget-disbursed { (vnd(d, lang)) }
                td.num #budget-settled { (vnd(s, lang)) }
                td.num #budget-rate { (rate(d, a, lang)) }
            } }
        } }
    }
}

/// What the progress form shows again after a refusal.
#[derive(Debug, Clone, Default)]
pub struct FormValues {
    pub status: String,
    pub percent: String,
    pub actual_start: String,
    pub actual_finish: String,
    pub note: String,
    pub correction_reason: String,
    pub version: i32,
}

/// The engineer's short form, for a phone.
pub fn progress_form(
    lang: Lang,
    site: &SiteDetails,
    values: &FormValues,
    errors: &[(String, String)],
    csrf: &str,
    newer: Option<&HistoryEntry>,
) -> Markup {
    let field_error = |field: &str| -> Markup {
        html! { @for (f, m) in errors { @if f == field { p.field-error { (m) } } } }
    };
    let body = html! {
        nav.crumbs { a href={ "/sites/" (site.code) "?lang=" (lang.code()) } { "← " (site.code) } }
        h1 { (lang.pick("Cập nhật tiến độ", "Update progress")) }
        p.lead { (site.code) " · " (site.name) }
        @if let Some(h) = newer {
            div.conflict role="alert" {
                p { strong { (lang.pick("Công trình vừa có cập nhật mới hơn bản bạn đã mở.", "This site was updated after you opened the form.")) } }
                p { (timestamp(h.recorded_at, lang)) " · " (h.actor) ": "
                    (status_label(&h.new_status, lang)) ", " (h.new_pct) "%"
                    @if let Some(n) = &h.note { " — " (n) } }
                p { (lang.pick("Biểu mẫu dưới đây đã lấy trạng thái mới nhất; hãy kiểm tra rồi gửi lại.",
                               "The form below now starts from the newest state; check it and send again.")) }
            }
        }
        @if !errors.is_empty() {
            div.errors role="alert" {
                p { strong { (lang.pick("Chưa lưu được:", "Not saved:")) } }
                ul { @for (_, m) in errors { li { (m) } } }
            }
        }
        form.progress method="post" enctype="multipart/form-data"
            action={ "/sites/" (site.code) "/progress?lang=" (lang.code()) } {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="version" value=(values.version);
            label { (lang.pick("Trạng thái", "Status"))
                select name="status" {
                    @for s in SiteStatus::ALL {
                        option value=(s.code()) selected[values.status == s.code()] { (s.label(lang)) }
                    }
                }
            }
            (field_error("status"))
            label { (lang.pick("Tỷ lệ hoàn thành (%)", "Percent complete"))
                input type="number" name="percent" min="0" max="100" step="1" inputmode="numeric" required value=(values.percent);
            }
            (field_error("percent"))
            div.dates {
                // Typed as dd/mm/yyyy whatever the browser's language (a date picker follows
                // the phone's locale, which may be English).
                label { (lang.pick("Khởi công thực tế", "Actual start"))
                    input type="text" name="actual_start" inputmode="numeric" autocomplete="off"
                        placeholder="dd/mm/yyyy" pattern="[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}" value=(values.actual_start); }
                label { (lang.pick("Hoàn thành thực tế", "Actual finish"))
                    input type="text" name="actual_finish" inputmode="numeric" autocomplete="off"
                        placeholder="dd/mm/yyyy" pattern="[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}" value=(values.actual_finish); }
            }
            (field_error("actual_start")) (field_error("actual_finish"))
            label { (lang.pick("Ghi chú", "Note"))
                textarea name="note" rows="3" maxlength="4000" { (values.note) } }
            (field_error("note"))
            label { (lang.pick("Lý do điều chỉnh (bắt buộc khi giảm tỷ lệ hoặc lùi trạng thái)",
                               "Correction reason (needed to lower the percent or move status back)"))
                textarea name="correction_reason" rows="2" maxlength="4000" { (values.correction_reason) } }
            (field_error("correction_reason"))
            label { (lang.pick("Ảnh hiện trường (JPEG/PNG, tối đa 6 ảnh, mỗi ảnh ≤ 12 MB)",
                               "Site photos (JPEG/PNG, up to 6, 12 MB each)"))
                input type="file" name="photos" accept="image/jpeg,image/png" multiple capture="environment"; }
            (field_error("photos"))
            button type="submit" { (lang.pick("Lưu cập nhật", "Save update")) }
        }
    };
    layout(
        lang,
        lang.pick("Cập nhật tiến độ", "Update progress"),
        &format!("/sites/{}/progress", site.code),
        body,
    )
}
