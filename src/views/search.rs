//! A remains search zone's figures: the search team's form (`/sites/{code}/search`) and
//! the section of the site page with their history.

use maud::{html, Markup};

use super::layout;
use super::timestamp;
use crate::i18n::{format_date, format_int, Lang};
use crate::search::form::{hectares, FormValues};
use crate::search::rules::Figures;
use crate::search::store::{SearchEntry, ZoneState};

/// `/sites/{code}/search`: the search team's update of a zone.
pub fn form(
    lang: Lang,
    zone: &ZoneState,
    values: &FormValues,
    errors: &[(String, String)],
    csrf: &str,
) -> Markup {
    let field_error = |field: &str| -> Markup {
        html! { @for (f, m) in errors { @if f == field { p.field-error { (m) } } } }
    };
    let date_input = |name: &str, value: &str| {
        html! {
            input type="text" name=(name) inputmode="numeric" autocomplete="off" placeholder="dd/mm/yyyy"
                pattern="[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}" value=(value);
        }
    };
    let body = html! {
        nav.crumbs { a href={ "/sites/" (zone.code) "?lang=" (lang.code()) } { "← " (zone.code) } }
        h1 { (lang.pick("Cập nhật tìm kiếm, quy tập", "Update the search")) }
        p.lead { (zone.code)
            @if let Some(ha) = zone.zone_ha { " · " (lang.pick("diện tích khu vực ", "zone area ")) (hectares(ha, lang)) " ha" } }
        @if !errors.is_empty() {
            div.errors role="alert" {
                p { strong { (lang.pick("Chưa lưu được:", "Not saved:")) } }
                ul { @for (_, m) in errors { li { (m) } } }
            }
        }
        form.search method="post" action={ "/sites/" (zone.code) "/search?lang=" (lang.code()) } {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="version" value=(values.version);
            div.dates {
                label { (lang.pick("Hài cốt dự kiến", "Remains expected"))
                    input type="number" name="remains_expected" min="0" step="1" inputmode="numeric" required value=(values.remains_expected); }
                label { (lang.pick("Hài cốt đã quy tập", "Remains found"))
                    input type="number" name="remains_found" min="0" step="1" inputmode="numeric" required value=(values.remains_found); }
            }
            (field_error("remains_expected")) (field_error("remains_found"))
            label { (lang.pick("Diện tích đã kết luận (ha)", "Area concluded (ha)"))
                input type="text" name="area_concluded_ha" inputmode="decimal" required value=(values.area_concluded_ha); }
            (field_error("area_concluded_ha"))
            label.check { input type="checkbox" name="map_drawn" checked[values.map_drawn];
                " " (lang.pick("Đã vẽ bản đồ tìm kiếm", "Search map drawn")) }
            div.dates {
                label { (lang.pick("Ngày vẽ bản đồ", "Map drawn on")) (date_input("map_drawn_on", &values.map_drawn_on)) }
                label { (lang.pick("Ngày kết luận địa bàn", "Concluded on")) (date_input("concluded_on", &values.concluded_on)) }
            }
            (field_error("map_drawn_on")) (field_error("concluded_on"))
            label { (lang.pick("Đơn vị phụ trách", "Unit in charge"))
                input type="text" name="unit_in_charge" maxlength="200" value=(values.unit_in_charge); }
            (field_error("unit_in_charge"))
            label { (lang.pick("Ghi chú", "Note"))
                textarea name="note" rows="3" maxlength="4000" { (values.note) } }
            label { (lang.pick("Lý do điều chỉnh (bắt buộc khi giảm số hài cốt đã quy tập)",
                               "Correction reason (needed to lower the remains found)"))
                textarea name="correction_reason" rows="2" maxlength="4000" { (values.correction_reason) } }
            (field_error("correction_reason")) (field_error("version"))
            button type="submit" { (lang.pick("Lưu", "Save")) }
        }
    };
    layout(
        lang,
        lang.pick("Cập nhật tìm kiếm", "Update the search"),
        &format!("/sites/{}/search", zone.code),
        body,
    )
}

fn date(d: Option<chrono::NaiveDate>, lang: Lang) -> String {
    d.map_or_else(|| "—".to_string(), |d| format_date(d, lang))
}

/// The site page's section of a search zone: its figures and their history.
pub fn section(
    lang: Lang,
    code: &str,
    now: &Figures,
    history: &[SearchEntry],
    may_update: bool,
) -> Markup {
    let yes_no = |b: bool| lang.pick(if b { "Có" } else { "Chưa" }, if b { "Yes" } else { "No" });
    html! {
        section #search {
            h2 { (lang.pick("Tìm kiếm, quy tập hài cốt liệt sỹ", "Search for martyrs' remains")) }
            dl.search-figures {
                dt { (lang.pick("Hài cốt dự kiến / đã quy tập", "Remains expected / found")) }
                dd { (format_int(i64::from(now.remains_expected), lang)) " / " (format_int(i64::from(now.remains_found), lang)) }
                dt { (lang.pick("Diện tích đã kết luận", "Area concluded")) }
                dd { (hectares(now.area_concluded_ha, lang)) " ha" }
                dt { (lang.pick("Bản đồ tìm kiếm", "Search map")) }
                dd { (yes_no(now.map_drawn)) @if now.map_drawn_on.is_some() { " (" (date(now.map_drawn_on, lang)) ")" } }
                dt { (lang.pick("Kết luận địa bàn", "Concluded")) }
                dd { (date(now.concluded_on, lang)) }
                dt { (lang.pick("Đơn vị phụ trách", "Unit in charge")) }
                dd { (now.unit_in_charge.as_deref().unwrap_or("—")) }
            }
            @if may_update {
                p { a.button href={ "/sites/" (code) "/search?lang=" (lang.code()) } { (lang.pick("Cập nhật tìm kiếm, quy tập", "Update the search")) } }
            }
            @if !history.is_empty() {
                table.search-history {
                    thead { tr {
                        th { (lang.pick("Thời điểm", "When")) } th { (lang.pick("Người cập nhật", "By")) }
                        th.num { (lang.pick("Đã quy tập", "Found")) } th.num { (lang.pick("Diện tích (ha)", "Area (ha)")) }
                        th { (lang.pick("Bản đồ", "Map")) } th { (lang.pick("Kết luận", "Concluded")) } th { (lang.pick("Ghi chú", "Note")) }
                    } }
                    tbody {
                        @for h in history.iter().rev() {
                            tr {
                                td { (timestamp(h.recorded_at, lang)) } td { (h.actor) }
                                td.num { (h.figures.remains_found) } td.num { (hectares(h.figures.area_concluded_ha, lang)) }
                                td { (yes_no(h.figures.map_drawn)) } td { (date(h.figures.concluded_on, lang)) }
                                td { (h.note.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    }
}
