//! The field app's pages: `/field`, an engineer's sites (searchable, by distance, with what
//! waits on the phone), and `/field/conflicts`, the updates that crossed another one.
//! Both are server-rendered; `static/field.js` adds the device's queue, the offline copies
//! and the offline map.

use maud::{html, Markup};
use serde_json::Value;

use super::layout;
use super::sites::{
    kind_label, photo_card, progress_bar, status_label, timestamp, PROGRESS_FIELDS as FIELDS,
};
use crate::db::sites::FlaggedPhoto;
use crate::i18n::Lang;
use crate::progress::conflicts::Conflict;
use crate::progress::store::TemplateRow;

/// What `/field` shows.
pub struct Home<'a> {
    /// The sites listed: those the engineer may update (matching `query`), the first few
    /// hundred.
    pub sites: &'a [TemplateRow],
    /// How many they may update in all.
    pub total: usize,
    pub query: &'a str,
    /// Their districts' extent (west, south, east, north), for the offline map.
    pub extent: Option<[f64; 4]>,
    pub open_conflicts: usize,
    /// The engineer's updates waiting for review or returned (issue 24 §6).
    pub review: Markup,
}

/// `/field`: the sites the engineer may update.
pub fn home(lang: Lang, page: &Home) -> Markup {
    let (sites, extent, open_conflicts) = (page.sites, page.extent, page.open_conflicts);
    let extent = extent.map(|e| format!("{:.5},{:.5},{:.5},{:.5}", e[0], e[1], e[2], e[3]));
    let body = html! {
        section.field data-extent=[extent] {
            h1 { (lang.pick("Công trình được giao", "My sites")) }
            p #sync-status .sync role="status" aria-live="polite" {}
            p.field-links { a href={ "/field/photos?lang=" (lang.code()) } { (lang.pick("Ảnh cần xem lại", "Photos to review")) } }
            (page.review)
            @if open_conflicts > 0 {
                p.conflict-note {
                    a href={ "/field/conflicts?lang=" (lang.code()) } {
                        (open_conflicts) " " (lang.pick("cập nhật xung đột cần chọn", "conflicting update(s) to resolve"))
                    }
                }
            }
            div #refused {}
            div.field-tools {
                input #field-search type="search" autocomplete="off"
                    placeholder=(lang.pick("Tìm theo mã, tên, huyện…", "Search code, name, district…"))
                    aria-label=(lang.pick("Tìm công trình", "Search sites"));
                button #sort-distance type="button" { (lang.pick("Gần tôi nhất", "Nearest first")) }
            }
            details.offline-map {
                summary { (lang.pick("Tải bản đồ ngoại tuyến", "Download the offline map")) }
                p { (lang.pick("Bản đồ các huyện được giao (lớp nền và lớp công trình theo quyền xem của bạn), mức thu phóng 8–15.",
                               "The map of your districts (context layers and the site layers your clearance shows), zooms 8–15.")) }
                p #map-estimate {}
                button #map-download type="button" { (lang.pick("Tải xuống", "Download")) }
                progress #map-progress max="100" value="0" hidden {}
                p #map-state {}
            }
            @if page.total > sites.len() || !page.query.is_empty() {
                form.field-more method="get" action="/field" {
                    input type="hidden" name="lang" value=(lang.code());
                    p { (lang.pick("Đang hiện ", "Showing ")) (sites.len()) (lang.pick(" trong ", " of ")) (page.total)
                        (lang.pick(" công trình. Tìm trên máy chủ:", " sites. Search the server:")) }
                    input type="search" name="q" value=(page.query) aria-label=(lang.pick("Tìm trên máy chủ", "Search the server"));
                    button type="submit" { (lang.pick("Tìm", "Search")) }
                }
            }
            @if sites.is_empty() {
                p.empty { (lang.pick("Chưa có công trình nào được giao cho bạn (huyện hoặc đơn vị).",
                                      "No sites are assigned to you (districts or unit).")) }
            }
            ul #field-sites .field-sites {
                @for s in sites {
                    li data-code=(s.code) data-version=(s.version) data-kind=(s.kind) data-progress=(s.progress)
                        data-lon=[s.lon.map(|v| format!("{v:.6}"))] data-lat=[s.lat.map(|v| format!("{v:.6}"))]
                        data-search=(s.search_text()) {
                        a.site-link href={ "/sites/" (s.code) "?lang=" (lang.code()) } {
                            strong { (s.code) } " " (s.name)
                        }
                        div.meta {
                            (kind_label(&s.kind, lang))
                            @if let Some(d) = &s.district { " · " (d) }
                            span.distance {}
                        }
                        div.meta {
                            span.status { (status_label(&s.status, lang)) } " " (progress_bar(s.percent))
                        }
                        div.meta {
                            (lang.pick("Cập nhật lần cuối: ", "Last update: ")) (timestamp(s.updated_at, lang))
                            " " span.pending hidden { (lang.pick("chờ gửi", "pending")) }
                        }
                        div.actions {
                            @if s.progress {
                                a.button href={ "/sites/" (s.code) "/progress?lang=" (lang.code()) } {
                                    (lang.pick("Cập nhật", "Update"))
                                }
                            }
                            @if s.kind == "remains_search_zone" {
                                a.button href={ "/sites/" (s.code) "/search?lang=" (lang.code()) } {
                                    (lang.pick("Tìm kiếm", "Search"))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(lang, lang.pick("Hiện trường", "Field"), "/field", body)
}

/// A field's value in a conflict's base, theirs or mine, as people read it.
/// A search zone's figures, as a search conflict names them.
const SEARCH_FIELDS: &[(&str, &str, &str)] = &[
    ("remains_expected", "Hài cốt dự kiến", "Remains expected"),
    ("remains_found", "Hài cốt đã quy tập", "Remains found"),
    (
        "area_concluded_ha",
        "Diện tích đã kết luận (ha)",
        "Area concluded (ha)",
    ),
    ("map_drawn", "Đã vẽ bản đồ tìm kiếm", "Search map drawn"),
    ("map_drawn_on", "Ngày vẽ bản đồ", "Map drawn on"),
    ("concluded_on", "Ngày kết luận địa bàn", "Concluded on"),
    ("unit_in_charge", "Đơn vị phụ trách", "Unit in charge"),
];

fn shown(value: &Value, field: &str, lang: Lang) -> String {
    match (field, value) {
        (_, Value::Null) => "—".into(),
        (_, Value::Bool(b)) => lang
            .pick(
                if *b { "Có" } else { "Không" },
                if *b { "Yes" } else { "No" },
            )
            .into(),
        ("area_concluded_ha", Value::Number(n)) => {
            crate::i18n::format_decimal(n.as_f64().unwrap_or_default(), 2, lang)
        }
        ("status", Value::String(s)) => status_label(s, lang),
        ("percent", v) => format!("{v}%"),
        (_, Value::String(d)) => crate::params::parse_date(d)
            .map_or_else(|| d.clone(), |d| crate::i18n::format_date(d, lang)),
        (_, v) => v.to_string(),
    }
}

/// `/field/conflicts`: each open conflict with base, theirs and mine side by side and a
/// choice per field that crossed; `error` says why the last resolution was refused.
pub fn conflicts(lang: Lang, open: &[Conflict], csrf: &str, error: Option<&str>) -> Markup {
    let body = html! {
        nav.crumbs { a href={ "/field?lang=" (lang.code()) } { (lang.pick("← Hiện trường", "← Field")) } }
        h1 { (lang.pick("Cập nhật xung đột", "Conflicting updates")) }
        p.lead { (lang.pick("Cập nhật gửi từ máy đã bị người khác thay đổi cùng trường trong lúc bạn ngoại tuyến. Chọn giá trị giữ lại cho từng trường; không có gì bị bỏ qua.",
                            "An update sent from the phone crossed someone else's change to the same field while you were offline. Pick the value to keep for each field; nothing is dropped.")) }
        @if let Some(e) = error { div.errors role="alert" { p { (e) } } }
        @if open.is_empty() {
            p.empty { (lang.pick("Không có xung đột nào.", "No conflicts.")) }
        }
        @for c in open {
            form.conflict-card id={ "c" (c.id) } method="post" action={ "/field/conflicts/" (c.id) "?lang=" (lang.code()) } {
                input type="hidden" name="csrf" value=(csrf);
                h2 { a href={ "/sites/" (c.code) "?lang=" (lang.code()) } { (c.code) } }
                p.meta { (lang.pick("Của ", "By ")) (c.author) " · " (timestamp(c.created_at, lang))
                    " · " (lang.pick("phiên bản gốc ", "base version ")) (c.base_version)
                    " → " (c.theirs_version) }
                table {
                    thead { tr {
                        th { (lang.pick("Trường", "Field")) }
                        th { (lang.pick("Gốc", "Base")) }
                        th { (lang.pick("Người khác", "Theirs")) }
                        th { (lang.pick("Của tôi", "Mine")) }
                    } }
                    tbody {
                        @for (field, vi, en) in if c.kind == "search" { SEARCH_FIELDS } else { FIELDS } {
                            @let crossed = c.fields.iter().any(|f| f == field);
                            tr class=[crossed.then_some("crossed")] {
                                th { (lang.pick(vi, en)) }
                                td { (shown(&c.base[field], field, lang)) }
                                td { @if crossed {
                                        label { input type="radio" name=(field) value="theirs" required;
                                                " " (shown(&c.theirs[field], field, lang)) }
                                    } @else { (shown(&c.theirs[field], field, lang)) } }
                                td { @if crossed {
                                        label { input type="radio" name=(field) value="mine" required;
                                                " " (shown(&c.mine[field], field, lang)) }
                                    } @else { (shown(&c.mine[field], field, lang)) } }
                            }
                        }
                    }
                }
                @if let Some(note) = c.mine["note"].as_str().filter(|n| !n.is_empty()) {
                    p { (lang.pick("Ghi chú: ", "Note: ")) (note) }
                }
                button type="submit" { (lang.pick("Giữ các giá trị đã chọn", "Keep the values picked")) }
            }
        }
    };
    layout(
        lang,
        lang.pick("Xung đột", "Conflicts"),
        "/field/conflicts",
        body,
    )
}

/// `/field/photos`: photos whose EXIF says they were taken more than 500 m from their site
/// or more than 7 days before their update.
pub fn photos(lang: Lang, rows: &[FlaggedPhoto], limit: usize) -> Markup {
    let body = html! {
        nav.crumbs { a href={ "/field?lang=" (lang.code()) } { (lang.pick("← Hiện trường", "← Field")) } }
        h1 { (lang.pick("Ảnh cần xem lại", "Photos to review")) }
        p.lead { (lang.pick("Ảnh có vị trí chụp cách công trình hơn 500 m, hoặc chụp trước ngày cập nhật hơn 7 ngày (theo EXIF của ảnh).",
                            "Photos taken more than 500 m from their site, or more than 7 days before their update (from the photo's EXIF).")) }
        @if rows.is_empty() {
            p.empty { (lang.pick("Không có ảnh nào cần xem lại.", "No photos to review.")) }
        } @else {
            table.review {
                thead { tr {
                    th { (lang.pick("Công trình", "Site")) }
                    th { (lang.pick("Ảnh", "Photo")) }
                    th { (lang.pick("Gửi lúc", "Sent")) }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            td { a href={ "/sites/" (r.code) "?lang=" (lang.code()) } { (r.code) } br; (r.name) }
                            td { (photo_card(&r.photo, lang)) }
                            td { (timestamp(r.uploaded_at, lang)) @if let Some(u) = &r.uploaded_by { br; (u) } }
                        }
                    }
                }
            }
            @if rows.len() >= limit {
                p { (lang.pick("Chỉ hiện ", "Only the newest ")) (limit) (lang.pick(" ảnh mới nhất.", " are shown.")) }
            }
        }
    };
    layout(
        lang,
        lang.pick("Ảnh cần xem lại", "Photos to review"),
        "/field/photos",
        body,
    )
}
