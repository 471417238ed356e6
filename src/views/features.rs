//! HTML faces of the OGC API: conformance, API, collections, items and one feature.

use maud::{html, Markup};
use serde_json::Value;

use super::layout;
use crate::db::features::Collection;
use crate::domain::{SiteKind, SiteStatus};
use crate::i18n::{format_int, Lang};
use crate::spatial::crs::Crs;

pub fn collection_title(collection: Collection, lang: Lang) -> String {
    match collection {
        Collection::Sites(None) => lang.pick("Tất cả công trình", "All works").to_string(),
        Collection::Sites(Some(group)) => group.label(lang).to_string(),
        Collection::Context(layer) => match layer.name {
            "province" => lang.pick("Ranh giới tỉnh", "Province boundary"),
            "districts" => lang.pick("Huyện, thị xã, thành phố", "Districts"),
            "communes" => lang.pick("Xã, phường, thị trấn", "Communes"),
            "border" => lang.pick(
                "Đường biên giới Việt Nam – Campuchia",
                "Viet Nam – Cambodia border",
            ),
            "adjacent_provinces" => lang.pick("Tỉnh lân cận", "Neighbouring provinces"),
            "rivers" => lang.pick("Sông", "Rivers"),
            other => other,
        }
        .to_string(),
    }
}

pub fn collection_description(collection: Collection, lang: Lang) -> String {
    let text = description_of(collection, lang);
    match collection {
        Collection::Sites(_) => format!(
            "{text} {}",
            lang.pick(
                "Tham số datetime lọc theo updated_at (lần cập nhật cuối); /queryables liệt kê các thuộc tính dùng được trong filter (CQL2).",
                "The datetime parameter filters on updated_at (the last update); /queryables lists what a filter (CQL2) may name.",
            )
        ),
        Collection::Context(_) => text,
    }
}

fn description_of(collection: Collection, lang: Lang) -> String {
    match collection {
        Collection::Sites(None) => lang
            .pick(
                "Mọi công trình của chương trình, với tiến độ và tổng ngân sách.",
                "Every work of the programme, with its progress and budget totals.",
            )
            .to_string(),
        Collection::Sites(Some(group)) => {
            let kinds: Vec<&str> = SiteKind::PLACED
                .iter()
                .filter(|k| k.layer_group() == group)
                .map(|k| k.label(lang))
                .collect();
            kinds.join("; ")
        }
        Collection::Context(_) => lang
            .pick(
                "Lớp nền (nguồn: geodata/SOURCES.md).",
                "Context layer (sources: geodata/SOURCES.md).",
            )
            .to_string(),
    }
}

fn links_of(value: &Value) -> Vec<(String, String, String)> {
    value["links"]
        .as_array()
        .map(|links| {
            links
                .iter()
                .map(|l| {
                    let s = |k: &str| l[k].as_str().unwrap_or_default().to_string();
                    (s("href"), s("rel"), s("type"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn with_lang(href: &str, lang: Lang) -> String {
    let sep = if href.contains('?') { '&' } else { '?' };
    format!("{href}{sep}lang={}", lang.code())
}

pub fn conformance(lang: Lang, classes: &[&str]) -> Markup {
    let body = html! {
        h1 { (lang.pick("Lớp phù hợp (OGC API – Features, Tiles)", "Conformance classes (OGC API – Features, Tiles)")) }
        ul.conformance { @for c in classes { li { code { (c) } } } }
        p { a href="/conformance?f=json" { "JSON" } }
    };
    layout(lang, "Conformance", "/conformance", body)
}

pub fn api(lang: Lang, document: &Value) -> Markup {
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    // One row per operation: method and path, what it does, its parameters.
    let operations: Vec<(String, &str, Value)> = paths
        .iter()
        .flat_map(|(path, ops)| {
            ["get", "post", "put", "patch", "delete"]
                .into_iter()
                .filter(|m| ops.get(*m).is_some())
                .map(|m| (path.clone(), m, ops[m].clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let body = html! {
        h1 { (lang.pick("Giao diện lập trình (OpenAPI 3.0)", "API (OpenAPI 3.0)")) }
        p { a href="/api?f=json" { (lang.pick("Tài liệu OpenAPI (JSON)", "OpenAPI document (JSON)")) } }
        table.api {
            thead { tr {
                th { (lang.pick("Thao tác", "Operation")) }
                th { (lang.pick("Mô tả", "Summary")) }
                th { (lang.pick("Tham số", "Parameters")) }
            } }
            tbody {
                @for (path, method, op) in &operations {
                    tr {
                        td { code { (method.to_uppercase()) " " (path) } }
                        td { (op["summary"].as_str().unwrap_or_default()) }
                        td {
                            @if let Some(params) = op["parameters"].as_array() {
                                @for p in params {
                                    span.param title=(p["description"].as_str().unwrap_or_default()) {
                                        code { (p["name"].as_str().unwrap_or_default()) } " "
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(lang, "API", "/api", body)
}

fn extent_text(collection: &Value, lang: Lang) -> String {
    let bbox = &collection["extent"]["spatial"]["bbox"][0];
    let n = |i: usize| bbox[i].as_f64().map_or("?".into(), |v| format!("{v:.3}"));
    let mut text = format!("{}, {} – {}, {}", n(0), n(1), n(2), n(3));
    if let Some(interval) = collection["extent"]["temporal"]["interval"][0].as_array() {
        let day = |v: &Value| {
            v.as_str()
                .and_then(|s| {
                    chrono::NaiveDate::parse_from_str(&s[..10.min(s.len())], "%Y-%m-%d").ok()
                })
                .map_or(String::new(), |d| crate::i18n::format_date(d, lang))
        };
        text.push_str(&format!(
            "; {} {} – {}",
            lang.pick("cập nhật", "updated"),
            day(&interval[0]),
            day(&interval[1])
        ));
    }
    text
}

pub fn collections(lang: Lang, described: &[Value]) -> Markup {
    let body = html! {
        h1 { (lang.pick("Lớp dữ liệu", "Collections")) }
        p.lead { (lang.pick("Đọc được bằng QGIS và GDAL (OGC API – Features).", "Readable with QGIS and GDAL (OGC API – Features).")) }
        table #collections {
            thead { tr { th { "id" } th { (lang.pick("Tên", "Title")) } th { (lang.pick("Phạm vi", "Extent")) } th {} } }
            tbody {
                @for c in described {
                    @let id = c["id"].as_str().unwrap_or_default();
                    tr {
                        td { a href=(with_lang(&format!("/collections/{id}?f=html"), lang)) { code { (id) } } }
                        td { (c["title"].as_str().unwrap_or_default()) }
                        td { (extent_text(c, lang)) }
                        td { a href=(with_lang(&format!("/collections/{id}/items?f=html"), lang)) { (lang.pick("Đối tượng", "Items")) } }
                    }
                }
            }
        }
        p { a href="/collections?f=json" { "JSON" } }
    };
    layout(
        lang,
        lang.pick("Lớp dữ liệu", "Collections"),
        "/collections",
        body,
    )
}

pub fn collection(lang: Lang, c: &Value) -> Markup {
    let id = c["id"].as_str().unwrap_or_default();
    let body = html! {
        h1 { (c["title"].as_str().unwrap_or_default()) " " small { code { (id) } } }
        p { (c["description"].as_str().unwrap_or_default()) }
        dl.meta {
            dt { (lang.pick("Phạm vi", "Extent")) } dd { (extent_text(c, lang)) }
            dt { (lang.pick("Hệ tọa độ", "CRS")) }
            dd { @for crs in Crs::ALL { code { (crs.uri()) } br; } }
        }
        p {
            a href=(with_lang(&format!("/collections/{id}/items?f=html"), lang)) { (lang.pick("Xem đối tượng", "Browse items")) }
            " · " a href=(format!("/collections/{id}/items?f=json")) { "GeoJSON" }
            " · " a href=(format!("/collections/{id}?f=json")) { "JSON" }
        }
    };
    layout(lang, id, &format!("/collections/{id}"), body)
}

/// What an items page shows besides the features' own values.
pub struct ItemsPage<'a> {
    pub features: &'a [Value],
    pub matched: i64,
    pub offset: i64,
    pub next: Option<&'a str>,
    pub prev: Option<&'a str>,
    pub crs: Crs,
}

pub fn items(lang: Lang, collection: Collection, page: &ItemsPage<'_>) -> Markup {
    let id = collection.id();
    let n = |v: i64| format_int(v, lang);
    let first = if page.features.is_empty() {
        0
    } else {
        page.offset + 1
    };
    let last = page.offset + page.features.len() as i64;
    let body = html! {
        h1 { (collection_title(collection, lang)) " " small { code { (id) } } }
        p #matched {
            (lang.pick("Hiển thị", "Showing")) " " (n(first)) "–" (n(last)) " / " (n(page.matched))
        }
        @if let Collection::Sites(_) = collection {
            table #items {
                thead { tr {
                    th { (lang.pick("Mã", "Code")) } th { (lang.pick("Tên", "Name")) }
                    th { (lang.pick("Loại", "Kind")) } th { (lang.pick("Địa bàn", "District")) }
                    th { (lang.pick("Trạng thái", "Status")) } th.num { "%" }
                } }
                tbody {
                    @for f in page.features {
                        @let p = &f["properties"];
                        @let code = p["code"].as_str().unwrap_or_default();
                        tr {
                            td { a href=(with_lang(&format!("/collections/{id}/items/{code}?f=html"), lang)) { code { (code) } } }
                            td { (p["name"].as_str().unwrap_or_default()) }
                            td { (p["kind"].as_str().and_then(SiteKind::from_code).map_or("", |k| k.label(lang))) }
                            td { (p["district"].as_str().unwrap_or_default()) }
                            td { (p["status"].as_str().and_then(SiteStatus::from_code).map_or("", |s| s.label(lang))) }
                            td.num { (p["percent"]) }
                        }
                    }
                }
            }
        } @else {
            table #items {
                thead { tr { th { "id" } th { (lang.pick("Thuộc tính", "Properties")) } } }
                tbody {
                    @for f in page.features {
                        @let fid = f["id"].to_string();
                        tr {
                            td { a href=(with_lang(&format!("/collections/{id}/items/{fid}?f=html"), lang)) { (fid) } }
                            td { (properties_text(&f["properties"])) }
                        }
                    }
                }
            }
        }
        nav.paging {
            @if let Some(prev) = page.prev { a rel="prev" href=(with_lang(prev, lang)) { "← " (lang.pick("Trang trước", "Previous")) } " " }
            @if let Some(next) = page.next { a rel="next" href=(with_lang(next, lang)) { (lang.pick("Trang sau", "Next")) " →" } }
        }
        @if page.crs != Crs::Crs84 { p.lead { "CRS: " code { (page.crs.uri()) } } }
    };
    layout(lang, id, &format!("/collections/{id}/items"), body)
}

fn properties_text(properties: &Value) -> String {
    properties
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}: {s}"),
                    other => format!("{k}: {other}"),
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

pub fn item(lang: Lang, collection: Collection, feature: &Value) -> Markup {
    let id = collection.id();
    let props = feature["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let title = match &feature["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let body = html! {
        h1 { code { (title) } " " (props.get("name").and_then(|v| v.as_str()).unwrap_or_default()) }
        table #properties {
            tbody {
                @for (k, v) in &props {
                    tr { th { (k) } td { @match v { Value::String(s) => (s), Value::Null => "", other => (other.to_string()) } } }
                }
                tr { th { (lang.pick("Hình học", "Geometry")) } td { (feature["geometry"]["type"].as_str().unwrap_or_default()) } }
            }
        }
        p {
            a href=(with_lang(&format!("/collections/{id}/items?f=html"), lang)) { (lang.pick("← Về danh sách", "← Back to the list")) }
            @for (href, rel, kind) in links_of(feature) {
                @if rel == "self" { " · " a href=(href) type=(kind) { "GeoJSON" } }
            }
        }
    };
    layout(
        lang,
        &title,
        &format!("/collections/{id}/items/{title}"),
        body,
    )
}
