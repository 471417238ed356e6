//! `GET /style.json`: the MapLibre style of the viewer, built on kvpt's own tile layers.
//! Colours by status, labels in the page's language, and no `glyphs` or `sprite`: MapLibre
//! renders label text with the browser's own fonts, so nothing is fetched from elsewhere.

use axum::extract::Query;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::negotiate::base_url;
use super::AppState;
use crate::db::tiles::CONTEXT_LAYERS;
use crate::domain::{LayerGroup, SiteStatus};
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new().route("/style.json", get(style))
}

#[derive(Debug, Deserialize)]
struct StyleQuery {
    lang: Option<String>,
}

async fn style(Query(query): Query<StyleQuery>, headers: HeaderMap) -> impl IntoResponse {
    let lang = Lang::from_param(query.lang.as_deref());
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        document(&base_url(&headers), lang).to_string(),
    )
}

/// `["match", ["get", "status"], …]`: each status's colour.
pub fn status_colour() -> Value {
    let mut expression = vec![json!("match"), json!(["get", "status"])];
    for status in SiteStatus::ALL {
        expression.push(json!(status.code()));
        expression.push(json!(status.colour()));
    }
    expression.push(json!("#868e96"));
    Value::Array(expression)
}

/// A work (not a cluster) of geometry `kind`.
fn geometry_is(kind: &str) -> Value {
    json!([
        "all",
        ["==", ["geometry-type"], kind],
        ["!", ["has", "count"]]
    ])
}

/// A cluster's colour: from the share of its works done (completed or handed over), red
/// through amber to green.
fn share_done_colour() -> Value {
    let done = json!([
        "+",
        ["coalesce", ["get", "n_completed"], 0],
        ["coalesce", ["get", "n_handed_over"], 0]
    ]);
    json!([
        "interpolate",
        ["linear"],
        ["/", done, ["get", "count"]],
        0,
        "#e8590c",
        0.5,
        "#f59f00",
        1,
        "#2b8a3e"
    ])
}

/// The style layers drawing one site group: fills, outlines, lines, points, labels.
fn site_layers(group: LayerGroup) -> Vec<Value> {
    let g = group.code();
    let meta = json!({ "kvpt:group": g });
    let colour = status_colour();
    let marker = group == LayerGroup::BorderMarkers;
    vec![
        json!({ "id": format!("{g}-fill"), "type": "fill", "source": g, "source-layer": g,
                "filter": geometry_is("Polygon"), "metadata": meta,
                "paint": { "fill-color": colour, "fill-opacity": 0.35 } }),
        json!({ "id": format!("{g}-outline"), "type": "line", "source": g, "source-layer": g,
                "filter": geometry_is("Polygon"), "metadata": meta,
                "paint": { "line-color": colour, "line-width": 1.2 } }),
        json!({ "id": format!("{g}-line"), "type": "line", "source": g, "source-layer": g,
                "filter": geometry_is("LineString"), "metadata": meta,
                "layout": { "line-cap": "round", "line-join": "round" },
                "paint": { "line-color": colour,
                           "line-width": ["interpolate", ["linear"], ["zoom"], 8, 1.5, 14, 4] } }),
        json!({ "id": format!("{g}-point"), "type": "circle", "source": g, "source-layer": g,
                "filter": geometry_is("Point"), "metadata": meta,
                "paint": {
                    "circle-color": if marker { json!("#ffffff") } else { colour.clone() },
                    "circle-radius": ["interpolate", ["linear"], ["zoom"], 7, if marker { 2 } else { 3 }, 14, if marker { 5 } else { 7 }],
                    "circle-stroke-color": if marker { json!("#c92a2a") } else { json!("#ffffff") },
                    "circle-stroke-width": if marker { 1.5 } else { 1.0 },
                } }),
        // Zoom 10 and below: clusters, sized by their count, coloured by their share done.
        json!({ "id": format!("{g}-clusters"), "type": "circle", "source": g, "source-layer": g,
                "filter": ["has", "count"], "metadata": { "kvpt:group": g, "kvpt:cluster": true },
                "paint": {
                    "circle-color": share_done_colour(),
                    "circle-radius": ["interpolate", ["linear"], ["get", "count"], 1, 7, 10, 11, 100, 17, 1000, 24],
                    "circle-opacity": 0.85,
                    "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5,
                } }),
        json!({ "id": format!("{g}-cluster-count"), "type": "symbol", "source": g, "source-layer": g,
                "filter": ["has", "count"], "metadata": { "kvpt:group": g, "kvpt:cluster": true },
                "layout": { "text-field": ["to-string", ["get", "count"]], "text-font": ["sans-serif"],
                            "text-size": 11, "text-allow-overlap": true },
                "paint": { "text-color": "#ffffff", "text-halo-color": "#1d2a33", "text-halo-width": 0.8 } }),
        json!({ "id": format!("{g}-label"), "type": "symbol", "source": g, "source-layer": g,
                "minzoom": 12, "metadata": meta,
                "layout": { "text-field": ["get", "code"], "text-font": ["sans-serif"], "text-size": 11,
                            "text-offset": [0, 1.1], "text-anchor": "top", "text-optional": true },
                "paint": { "text-color": "#1d2a33", "text-halo-color": "#ffffff", "text-halo-width": 1.5 } }),
    ]
}

/// The whole style, with sources at `base` and labels in `lang`.
pub fn document(base: &str, lang: Lang) -> Value {
    let mut sources = serde_json::Map::new();
    let names = LayerGroup::ALL
        .iter()
        .map(|g| g.code())
        .chain(CONTEXT_LAYERS.iter().map(|l| l.name));
    for name in names {
        sources.insert(
            name.to_string(),
            json!({ "type": "vector", "url": format!("{base}/tiles/{name}.json") }),
        );
    }
    let place_name = match lang {
        Lang::Vi => json!(["get", "name_vi"]),
        Lang::En => json!(["coalesce", ["get", "name_en"], ["get", "name_vi"]]),
    };
    let mut layers = vec![
        json!({ "id": "background", "type": "background", "paint": { "background-color": "#e9eef1" } }),
        json!({ "id": "adjacent-fill", "type": "fill", "source": "adjacent_provinces", "source-layer": "adjacent_provinces",
                "paint": { "fill-color": ["match", ["get", "country"], "KH", "#ece4d4", "#f3f4ef"] } }),
        json!({ "id": "adjacent-outline", "type": "line", "source": "adjacent_provinces", "source-layer": "adjacent_provinces",
                "paint": { "line-color": "#b8b2a6", "line-width": 0.8 } }),
        json!({ "id": "province-fill", "type": "fill", "source": "province", "source-layer": "province",
                "paint": { "fill-color": "#fffdf6" } }),
        json!({ "id": "rivers", "type": "line", "source": "rivers", "source-layer": "rivers",
                "paint": { "line-color": "#74b3e8", "line-width": ["interpolate", ["linear"], ["zoom"], 6, 0.8, 12, 2.5] } }),
        json!({ "id": "communes-outline", "type": "line", "source": "communes", "source-layer": "communes",
                "minzoom": 10, "paint": { "line-color": "#b9ada2", "line-width": 0.6, "line-dasharray": [2, 2] } }),
        json!({ "id": "districts-outline", "type": "line", "source": "districts", "source-layer": "districts",
                "paint": { "line-color": "#8d7b6d", "line-width": 1, "line-dasharray": [3, 2] } }),
        json!({ "id": "province-outline", "type": "line", "source": "province", "source-layer": "province",
                "paint": { "line-color": "#5c4a3d", "line-width": 1.6 } }),
        json!({ "id": "border", "type": "line", "source": "border", "source-layer": "border",
                "paint": { "line-color": "#c92a2a", "line-width": ["interpolate", ["linear"], ["zoom"], 6, 1.5, 12, 3.5] } }),
    ];
    let order = [
        LayerGroup::Land,
        LayerGroup::SearchZones,
        LayerGroup::DefenceWorks,
        LayerGroup::Logistics,
        LayerGroup::BorderMilitia,
        LayerGroup::BorderMarkers,
    ];
    layers.extend(order.iter().flat_map(|g| site_layers(*g)));
    layers.push(json!({ "id": "districts-label", "type": "symbol", "source": "labels", "source-layer": "labels",
        "filter": ["==", ["get", "class"], "district"], "maxzoom": 12,
        "layout": { "text-field": place_name, "text-font": ["sans-serif"], "text-size": 13, "text-max-width": 8 },
        "paint": { "text-color": "#5c4a3d", "text-halo-color": "#fffdf6", "text-halo-width": 2 } }));
    // Communes from zoom 11 (their names say "(mô phỏng)" when the demo simulated them).
    layers.push(json!({ "id": "communes-label", "type": "symbol", "source": "labels", "source-layer": "labels",
        "filter": ["==", ["get", "class"], "commune"], "minzoom": 11,
        "layout": { "text-field": place_name, "text-font": ["sans-serif"], "text-size": 11, "text-max-width": 8 },
        "paint": { "text-color": "#8a7d72", "text-halo-color": "#fffdf6", "text-halo-width": 1.5 } }));
    layers.push(json!({ "id": "adjacent-label", "type": "symbol", "source": "labels", "source-layer": "labels",
        "filter": ["==", ["get", "class"], "neighbour"], "maxzoom": 11,
        "layout": { "text-field": place_name, "text-font": ["sans-serif"], "text-size": 12, "text-max-width": 8 },
        "paint": { "text-color": "#7a7265", "text-halo-color": "#ffffff", "text-halo-width": 1.5 } }));
    json!({
        "version": 8,
        "name": lang.pick("kvpt – Công trình quốc phòng Tây Ninh", "kvpt – Tây Ninh defence works"),
        "metadata": { "kvpt:lang": lang.code() },
        "center": [106.15, 11.4],
        "zoom": 8.3,
        "sources": sources,
        "layers": layers,
    })
}
