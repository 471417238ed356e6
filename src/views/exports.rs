//! Export pages: the form "export what I see" opens, the administrators' partner
//! profiles and the export log.

use maud::{html, Markup};

use super::layout;
use crate::domain::{Classification, SiteKind};
use crate::exchange::export::LogRow;
use crate::exchange::fields::FIELDS;
use crate::exchange::profile::{Coarsening, Profile, ProfileInput};
use crate::i18n::{format_int, Lang};
use crate::params::format::Format;
use crate::spatial::crs::Crs;

/// The filter parameters the form carries through from the viewer.
const CARRIED: &[&str] = &[
    "layer",
    "kind",
    "status",
    "district",
    "phase",
    "programme",
    "q",
    "bbox",
    "as_of",
];

pub fn form(lang: Lang, profiles: &[Profile], pairs: &[(String, String)]) -> Markup {
    let carried: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(n, v)| CARRIED.contains(&n.as_str()) && !v.is_empty())
        .collect();
    let chosen = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let body = html! {
        h1 { (lang.pick("Xuất dữ liệu cho đối tác", "Export for a partner")) }
        @if profiles.is_empty() {
            div.errors role="alert" { (lang.pick(
                "Chưa có hồ sơ đối tác nào: quản trị viên tạo hồ sơ tại Quản trị › Hồ sơ xuất.",
                "No partner profile yet: an administrator creates them under Admin › Export profiles.")) }
        }
        form #export-form method="get" action="/exports/sites.geojson" data-lang=(lang.code()) {
            @for (name, value) in &carried {
                input type="hidden" name=(name) value=(value);
            }
            fieldset {
                legend { (lang.pick("Bộ lọc từ bản đồ", "Filters from the map")) }
                @if carried.is_empty() {
                    p { (lang.pick("Không có bộ lọc: mọi công trình hồ sơ cho phép.", "No filter: every work the profile allows.")) }
                } @else {
                    ul #export-filters { @for (name, value) in &carried { li { code { (name) } " = " (value) } } }
                }
            }
            label { (lang.pick("Hồ sơ đối tác", "Partner profile"))
                select name="profile" required {
                    @for p in profiles {
                        option value=(p.name) selected[chosen("profile") == Some(p.name.as_str())] {
                            (p.title) " (" (p.name) ", " (lang.pick("tối đa", "up to")) " " (p.ceiling.label(lang)) ")"
                        }
                    }
                }
            }
            label { (lang.pick("Định dạng", "Format"))
                select name="format" {
                    @for f in Format::ALL {
                        option value=(f.code()) selected[chosen("format") == Some(f.code())] { (f.label()) }
                    }
                }
            }
            label { (lang.pick("Hệ tọa độ", "Coordinates"))
                select name="crs" {
                    option value="CRS84" { "WGS 84 (kinh độ, vĩ độ)" }
                    option value="EPSG:9209" selected[chosen("crs") == Some("EPSG:9209")] {
                        "VN-2000 / TM-3 105°30′ (EPSG:9209)"
                    }
                }
            }
            p.hint { (lang.pick(
                "GeoJSON và KML luôn ở WGS 84. VN-2000 dùng phép chuyển EPSG:6960 (QĐ 05/2007/QĐ-BTNMT).",
                "GeoJSON and KML are always WGS 84. VN-2000 uses the EPSG:6960 transformation (Decision 05/2007/QĐ-BTNMT).")) }
            button type="submit" disabled[profiles.is_empty()] { (lang.pick("Tải về", "Download")) }
            div #export-progress hidden role="status" aria-live="polite" {
                progress #export-bar {}
                span #export-text {}
            }
        }
        script src="/static/exports.js" defer {}
    };
    layout(lang, lang.pick("Xuất dữ liệu", "Export"), "/exports", body)
}

pub fn profiles(
    lang: Lang,
    list: &[Profile],
    csrf: &str,
    message: Option<(bool, &str)>,
    draft: Option<&ProfileInput>,
) -> Markup {
    let body = html! {
        h1 { (lang.pick("Hồ sơ xuất dữ liệu cho đối tác", "Partner export profiles")) }
        p { a href={ "/admin/exports?lang=" (lang.code()) } { (lang.pick("Nhật ký xuất dữ liệu", "Export log")) } }
        @if let Some((ok, text)) = message {
            @if ok { p.ok role="status" { (text) } } @else { div.errors role="alert" { (text) } }
        }
        @for p in list {
            details.profile id={ "profile-" (p.name) } {
                summary {
                    strong { (p.title) } " · " code { (p.name) } " · " (p.ceiling.label(lang))
                    " · " (p.kinds.len()) " " (lang.pick("loại", "kinds")) ", " (p.fields.len()) " " (lang.pick("trường", "fields"))
                    @if p.disabled { " · " (lang.pick("đã tắt", "disabled")) }
                }
                (profile_form(lang, csrf, &input_of(p), p.version))
            }
        }
        h2 { (lang.pick("Thêm hồ sơ", "Add a profile")) }
        (profile_form(lang, csrf, &draft.cloned().unwrap_or_else(|| ProfileInput {
            ceiling: "public".into(),
            fields: vec!["code".into(), "name".into(), "kind".into(), "status".into(), "percent".into(), "district".into()],
            ..ProfileInput::default()
        }), 0))
    };
    layout(
        lang,
        lang.pick("Hồ sơ xuất", "Export profiles"),
        "/admin/profiles",
        body,
    )
}

fn input_of(p: &Profile) -> ProfileInput {
    ProfileInput {
        name: p.name.clone(),
        title: p.title.clone(),
        kinds: p.kinds.iter().map(|k| k.code().to_string()).collect(),
        ceiling: p.ceiling.code().to_string(),
        fields: p.fields.iter().map(|f| f.name.to_string()).collect(),
        coarse_kinds: p
            .coarse_kinds
            .iter()
            .map(|k| k.code().to_string())
            .collect(),
        coarsening: p.coarsening.code().to_string(),
        grid_m: match p.coarsening {
            Coarsening::Grid(m) => Some(m.to_string()),
            _ => None,
        },
        disabled: p.disabled,
    }
}

fn profile_form(lang: Lang, csrf: &str, p: &ProfileInput, version: i32) -> Markup {
    let has = |list: &[String], code: &str| list.iter().any(|c| c == code);
    html! {
        form.profile-form method="post" action={ "/admin/profiles?lang=" (lang.code()) } {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="version" value=(version);
            @if version == 0 {
                label { (lang.pick("Tên (mã)", "Name (code)")) input type="text" name="name" value=(p.name) required pattern="[a-z0-9][a-z0-9_-]{1,39}" placeholder="bien-phong"; }
            } @else {
                input type="hidden" name="name" value=(p.name);
            }
            label { (lang.pick("Tên đối tác", "Partner")) input type="text" name="title" value=(p.title) required; }
            label { (lang.pick("Độ mật tối đa", "Classification ceiling"))
                select name="ceiling" {
                    @for c in Classification::ALL { option value=(c.code()) selected[p.ceiling == c.code()] { (c.label(lang)) } }
                }
            }
            fieldset.checks {
                legend { (lang.pick("Loại công trình được xuất", "Kinds allowed")) }
                @for k in SiteKind::PLACED {
                    label { input type="checkbox" name="kinds" value=(k.code()) checked[has(&p.kinds, k.code())]; (k.label(lang)) }
                }
            }
            fieldset.checks {
                legend { (lang.pick("Trường được xuất", "Fields allowed")) }
                @for f in FIELDS {
                    label { input type="checkbox" name="fields" value=(f.name) checked[has(&p.fields, f.name)]; (f.label(lang)) " " code { (f.name) } }
                }
            }
            fieldset.checks {
                legend { (lang.pick("Làm thô tọa độ cho các loại nhạy cảm", "Coarsen the positions of sensitive kinds")) }
                label { (lang.pick("Cách làm thô", "Coarsening"))
                    select name="coarsening" {
                        option value="none" selected[p.coarsening.is_empty() || p.coarsening == "none"] { (lang.pick("Không", "None")) }
                        option value="grid" selected[p.coarsening == "grid"] { (lang.pick("Lưới N mét", "Grid of N metres")) }
                        option value="district" selected[p.coarsening == "district"] { (lang.pick("Tâm huyện", "District centre")) }
                    }
                }
                label { (lang.pick("Cỡ lưới (m)", "Grid size (m)")) input type="number" name="grid_m" min="10" max="100000" value=(p.grid_m.as_deref().unwrap_or("")); }
                @for k in SiteKind::PLACED {
                    label { input type="checkbox" name="coarse_kinds" value=(k.code()) checked[has(&p.coarse_kinds, k.code())]; (k.label(lang)) }
                }
            }
            label.inline { input type="checkbox" name="disabled" checked[p.disabled]; (lang.pick("Tắt hồ sơ này", "Disable this profile")) }
            button type="submit" { (if version == 0 { lang.pick("Tạo hồ sơ", "Create profile") } else { lang.pick("Lưu", "Save") }) }
        }
    }
}

pub fn log(lang: Lang, rows: &[LogRow]) -> Markup {
    let body = html! {
        h1 { (lang.pick("Nhật ký xuất dữ liệu", "Export log")) }
        p { a href={ "/admin/profiles?lang=" (lang.code()) } { (lang.pick("Hồ sơ đối tác", "Partner profiles")) } }
        div.scroll { table #export-log {
            thead { tr {
                th { "#" } th { (lang.pick("Thời điểm", "When")) } th { (lang.pick("Người xuất", "Who")) }
                th { (lang.pick("Hồ sơ", "Profile")) } th { (lang.pick("Định dạng", "Format")) }
                th { (lang.pick("Bộ lọc", "Filter")) } th { (lang.pick("Số đối tượng", "Features")) }
                th { (lang.pick("Kết quả", "Outcome")) } th { "SHA-256" }
            } }
            tbody {
                @for r in rows {
                    tr {
                        td { (r.id) }
                        td { (r.started_at.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7")).format(if lang == Lang::Vi { "%d/%m/%Y %H:%M" } else { "%Y-%m-%d %H:%M" })) }
                        td { (r.actor) " (" (r.via) ")" }
                        td { (r.profile) " v" (r.profile_version) }
                        td { (r.format) @if r.crs != Crs::Crs84.uri() { " · " (r.crs.rsplit('/').next().unwrap_or("")) } }
                        td { code { (r.filter.to_string()) } }
                        td.num { @if let Some(n) = r.features { (format_int(n, lang)) } }
                        td { (r.outcome) @if let Some(e) = &r.error { ": " (e) } }
                        td { @if let Some(s) = &r.sha256 { code title=(s) { (&s[..12.min(s.len())]) "…" } } }
                    }
                }
            }
        } }
    };
    layout(
        lang,
        lang.pick("Nhật ký xuất", "Export log"),
        "/admin/exports",
        body,
    )
}
