//! The viewer's shell (`/map`): panel, map and details, server-rendered; `map.js`
//! drives MapLibre with the labels and lists this page embeds as JSON.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::json;

use crate::domain::{LayerGroup, Programme, SiteKind, SiteStatus};
use crate::i18n::Lang;

/// A district (or Cambodian province) the filter offers: code and display name.
pub struct DistrictOption {
    pub code: String,
    pub name: String,
}

fn ui_text(lang: Lang) -> serde_json::Value {
    let t = |vi: &str, en: &str| json!(lang.pick(vi, en));
    json!({
        "code": t("Mã", "Code"),
        "kind": t("Loại", "Kind"),
        "district": t("Địa bàn", "District"),
        "status": t("Trạng thái", "Status"),
        "percent": t("Tiến độ", "Progress"),
        "phase": t("Giai đoạn", "Phase"),
        "programme": t("Chương trình", "Programme"),
        "planned": t("Kế hoạch", "Planned"),
        "actual": t("Thực tế", "Actual"),
        "start": t("Khởi công", "Start"),
        "finish": t("Hoàn thành", "Finish"),
        "late": t("Chậm tiến độ", "Late"),
        "budget": t("Ngân sách (VNĐ)", "Budget (VND)"),
        "estimate": t("Dự toán", "Estimate"),
        "allocated": t("Đã phân bổ", "Allocated"),
        "disbursed": t("Đã giải ngân", "Disbursed"),
        "settled": t("Đã quyết toán", "Settled"),
        "open_page": t("Mở trang công trình", "Open the site's page"),
        "details": t("Chi tiết", "Details"),
        "no_results": t("Không tìm thấy công trình nào.", "No works found."),
        "search_failed": t("Không tìm được: ", "Search failed: "),
        "load_failed": t("Không tải được chi tiết: ", "Could not load the details: "),
        "offline_details": t("Không có mạng: chi tiết chưa tải được.", "Offline: the details cannot be loaded."),
        "unit": t("Đơn vị", "Unit"),
        "works": t("công trình", "works"),
        "zoom_in": t("Phóng to để xem từng công trình", "Zoom in to the works"),
    })
}

pub fn page(lang: Lang, districts: &[DistrictOption]) -> Markup {
    let data = json!({
        "lang": lang.code(),
        "style": format!("/style.json?lang={}", lang.code()),
        "groups": LayerGroup::ALL.iter().map(|g| json!({
            "code": g.code(), "label": g.label(lang), "min_zoom": g.min_zoom() })).collect::<Vec<_>>(),
        "kinds": SiteKind::PLACED.iter().map(|k| json!({
            "code": k.code(), "label": k.label(lang), "group": k.layer_group().code() })).collect::<Vec<_>>(),
        "statuses": SiteStatus::ALL.iter().map(|s| json!({
            "code": s.code(), "label": s.label(lang), "colour": s.colour() })).collect::<Vec<_>>(),
        "programmes": Programme::ALL.iter().map(|p| json!({
            "code": p.code(), "label": p.label(lang) })).collect::<Vec<_>>(),
        "text": ui_text(lang),
    });
    // `</` cannot close the script element from inside JSON text.
    let data = data.to_string().replace("</", "<\\/");
    let other = match lang {
        Lang::Vi => ("en", "English"),
        Lang::En => ("vi", "Tiếng Việt"),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (lang.pick("Bản đồ", "Map")) " · kvpt" }
                link rel="stylesheet" href="/static/vendor/maplibre-gl.css";
                link rel="stylesheet" href="/static/kvpt.css";
                link rel="stylesheet" href="/static/map.css";
                // The phone's queue: what waits to be sent is marked on the map too.
                script src="/static/queue.js" defer {}
                script src="/static/field.js" defer {}
            }
            body.map-page data-user=[super::signed_in_user()] data-lang=(lang.code()) {
                header.top {
                    a.brand href={ "/?lang=" (lang.code()) } {
                        "kvpt"
                        span.sub { (lang.pick("Bản đồ công trình quốc phòng – Tây Ninh", "Map of defence works – Tây Ninh")) }
                    }
                    button #panel-toggle type="button" aria-controls="panel" aria-expanded="false" {
                        (lang.pick("Lớp & lọc", "Layers & filters"))
                    }
                    // On phones the rest folds into the same menu button as every page.
                    input #menu-toggle type="checkbox" hidden;
                    label.menu-button for="menu-toggle" aria-label=(lang.pick("Trình đơn", "Menu")) { "☰" }
                    nav.links {
                        (super::field_link(lang))
                        a.lang #lang-switch href={ "/map?lang=" (other.0) } hreflang=(other.0) { (other.1) }
                        (super::user_menu(lang))
                    }
                }
                div #map-app {
                    aside #panel {
                        form #search role="search" {
                            label for="search-input" { (lang.pick("Tìm theo mã hoặc tên", "Search by code or name")) }
                            input #search-input type="search" name="q" autocomplete="off"
                                placeholder=(lang.pick("VD: CHOT-TBI, Tân Biên", "e.g. CHOT-TBI, Tân Biên"));
                        }
                        ul #results {}
                        section #layers {
                            h2 { (lang.pick("Lớp", "Layers")) }
                            @for group in LayerGroup::ALL {
                                label.layer {
                                    input type="checkbox" checked data-group=(group.code());
                                    " " (group.label(lang))
                                }
                            }
                        }
                        section #legend {
                            h2 { (lang.pick("Chú giải trạng thái", "Status legend")) }
                            ul {
                                @for status in SiteStatus::ALL {
                                    li data-status=(status.code()) {
                                        span.swatch style={ "background:" (status.colour()) } {}
                                        (status.label(lang))
                                    }
                                }
                            }
                            p.cluster-note {
                                span.cluster-swatch {}
                                (lang.pick(
                                    "Thu nhỏ (mức 10 trở xuống): mỗi vòng tròn là một nhóm công trình, số là số công trình, màu từ cam (chưa xong) đến xanh (đã hoàn thành); bấm để xem theo trạng thái.",
                                    "Zoomed out (level 10 and below): each circle is a group of works, the number how many, the colour from orange (not done) to green (completed); click for the count by status."))
                            }
                        }
                        section #filters {
                            h2 { (lang.pick("Lọc", "Filters")) }
                            label { (lang.pick("Địa bàn", "District"))
                                select #filter-district name="district" {
                                    option value="" { (lang.pick("Tất cả", "All")) }
                                    @for d in districts { option value=(d.code) { (d.name) } }
                                }
                            }
                            label { (lang.pick("Loại công trình", "Kind of work"))
                                select #filter-kind name="kind" {
                                    option value="" { (lang.pick("Tất cả", "All")) }
                                    @for k in SiteKind::PLACED { option value=(k.code()) { (k.label(lang)) } }
                                }
                            }
                            label { (lang.pick("Trạng thái", "Status"))
                                select #filter-status name="status" {
                                    option value="" { (lang.pick("Tất cả", "All")) }
                                    @for s in SiteStatus::ALL { option value=(s.code()) { (s.label(lang)) } }
                                }
                            }
                            label { (lang.pick("Giai đoạn", "Phase"))
                                select #filter-phase name="phase" {
                                    option value="" { (lang.pick("Tất cả", "All")) }
                                    @for p in 1..=9 { option value=(p) { (p) } }
                                }
                            }
                            label { (lang.pick("Chương trình", "Programme"))
                                select #filter-programme name="programme" {
                                    option value="" { (lang.pick("Tất cả", "All")) }
                                    @for p in Programme::ALL { option value=(p.code()) { (p.label(lang)) } }
                                }
                            }
                            label { (lang.pick("Trạng thái tại ngày (để trống: hôm nay)", "Status as of (blank: today)"))
                                input #filter-as_of type="date" name="as_of" max=(crate::i18n::today_in_vietnam().to_string());
                            }
                            button #filter-reset type="button" { (lang.pick("Bỏ lọc", "Clear filters")) }
                        }
                        p.export {
                            a #export-link href={ "/exports?lang=" (lang.code()) } data-lang=(lang.code()) {
                                (lang.pick("Xuất dữ liệu đang xem…", "Export what I see…"))
                            }
                        }
                        p.note {
                            (lang.pick("Dữ liệu minh họa là dữ liệu giả lập.", "Demo data is synthetic."))
                            " " a href={ "/collections?f=html&lang=" (lang.code()) } { (lang.pick("Dữ liệu (OGC API)", "Data (OGC API)")) }
                        }
                    }
                    div #map role="region" aria-label=(lang.pick("Bản đồ", "Map")) {}
                    aside #details hidden {
                        button #details-close type="button" aria-label=(lang.pick("Đóng", "Close")) { "×" }
                        div #details-body {}
                    }
                }
                script #kvpt-data type="application/json" { (PreEscaped(data)) }
                script type="module" src="/static/map.js" {}
            }
        }
    }
}
