//! The first page: counts of what is loaded.

use maud::{html, Markup};

use super::layout;
use crate::db::stats::Overview;
use crate::domain::SiteKind;
use crate::i18n::{format_int, Lang};

pub fn page(lang: Lang, overview: &Overview) -> Markup {
    let n = |v: i64| format_int(v, lang);
    let body = html! {
        h1 { (lang.pick("Tổng quan dữ liệu", "What is loaded")) }
        p.lead {
            (lang.pick("Chương trình xây dựng khu vực phòng thủ tỉnh Tây Ninh 2020–2025 (Chỉ thị 1584/UBND-NCPC).",
                       "Tây Ninh defence-zone programme 2020–2025 (directive 1584/UBND-NCPC)."))
        }
        p.actions {
            a.button href={ "/map?lang=" (lang.code()) } { (lang.pick("Mở bản đồ", "Open the map")) }
        }
        dl.totals {
            @for (label, value, id) in totals(lang, overview) {
                div.stat {
                    dt { (label) }
                    dd id=[id] { (value) }
                }
            }
        }
        div.columns {
            section {
                h2 { (lang.pick("Theo loại công trình", "By kind of work")) }
                table #by-kind {
                    thead { tr { th { (lang.pick("Loại", "Kind")) } th.num { (lang.pick("Số lượng", "Count")) } } }
                    tbody {
                        @for kind in SiteKind::ALL {
                            @let count = overview.by_kind.iter().find(|(c, _)| c == kind.code()).map_or(0, |(_, v)| *v);
                            tr data-kind=(kind.code()) {
                                td { (kind.label(lang)) }
                                td.num { (n(count)) }
                            }
                        }
                    }
                }
            }
            section {
                h2 { (lang.pick("Theo địa bàn", "By district")) }
                table #by-district {
                    thead { tr { th { (lang.pick("Huyện, thị xã, thành phố", "District")) } th.num { (lang.pick("Số lượng", "Count")) } } }
                    tbody {
                        @for (district, count) in &overview.by_district {
                            tr { td { (district) } td.num { (n(*count)) } }
                        }
                        tr.abroad {
                            td { (lang.pick("Trên đất Campuchia", "In Cambodia")) }
                            td.num { (n(overview.abroad)) }
                        }
                        @if overview.province_wide > 0 {
                            tr.province-wide {
                                td { (lang.pick("Cấp tỉnh (đầu tư không gắn địa bàn)", "Province-wide (investments without a district)")) }
                                td.num { (n(overview.province_wide)) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(lang, lang.pick("Tổng quan", "Overview"), "/", body)
}

/// (label, formatted value, element id) of the headline figures.
fn totals(lang: Lang, o: &Overview) -> Vec<(&'static str, String, Option<&'static str>)> {
    let n = |v: i64| format_int(v, lang);
    vec![
        (
            lang.pick("Công trình", "Works"),
            n(o.total_sites),
            Some("total-sites"),
        ),
        (
            lang.pick("Lượt cập nhật tiến độ", "Progress updates"),
            n(o.history_rows),
            None,
        ),
        (
            lang.pick("Dòng ngân sách", "Budget lines"),
            n(o.budget_lines),
            None,
        ),
        (
            lang.pick("Huyện, thị xã, thành phố", "Districts"),
            n(o.districts),
            None,
        ),
        (
            lang.pick("Xã, phường, thị trấn", "Communes"),
            n(o.communes),
            None,
        ),
        (
            lang.pick("Đường biên giới", "Border line"),
            format!("{} km", n(o.border_km.round() as i64)),
            None,
        ),
        (
            lang.pick(
                "Tỉnh lân cận (VN và Campuchia)",
                "Neighbouring provinces (VN and Cambodia)",
            ),
            n(o.adjacent_areas),
            None,
        ),
    ]
}
