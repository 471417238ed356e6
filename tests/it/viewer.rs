//! The viewer's server side: the MapLibre style, the `/map` shell and the vendored
//! files, all from kvpt itself (nothing from a CDN or a glyph server).

use crate::common::{request, TestDb};
use axum::http::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn the_style_uses_only_kvpt_layers_and_colours_by_status() {
    let db = TestDb::new().await;
    let app = db.app();
    let (status, headers, body) = request(&app, "/style.json", &[("host", "kvpt.test:8080")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let style: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(style["version"], 8);
    assert!(
        style.get("glyphs").is_none() && style.get("sprite").is_none(),
        "no glyph or sprite server"
    );
    // Every URL in the style is kvpt's own.
    let urls: Vec<&str> = body
        .match_indices("http")
        .map(|(i, _)| &body[i..i + 22])
        .collect();
    assert!(
        urls.iter().all(|u| u.starts_with("http://kvpt.test:8080")),
        "{urls:?}"
    );
    let sources = style["sources"].as_object().unwrap();
    for group in kvpt::domain::LayerGroup::ALL {
        assert_eq!(
            sources[group.code()]["url"],
            format!("http://kvpt.test:8080/tiles/{}.json", group.code())
        );
    }
    // Every layer's source exists and is served as a tile layer.
    for layer in style["layers"].as_array().unwrap() {
        if layer["type"] == "background" {
            continue;
        }
        let source = layer["source"].as_str().unwrap();
        assert!(sources.contains_key(source), "{source}");
        let (status, _, _) = request(&app, &format!("/tiles/{source}.json"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{source}");
    }
    // Each status has its colour in the site layers' paint.
    for status in kvpt::domain::SiteStatus::ALL {
        assert!(
            body.contains(&format!("\"{}\",\"{}\"", status.code(), status.colour())),
            "{status:?}"
        );
    }
    // Labels follow the language.
    let en: Value =
        serde_json::from_str(&request(&app, "/style.json?lang=en", &[]).await.2).unwrap();
    let label = |style: &Value| {
        style["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == "districts-label")
            .unwrap()["layout"]["text-field"]
            .to_string()
    };
    assert!(label(&style).contains("name_vi") && !label(&style).contains("name_en"));
    assert!(label(&en).contains("name_en"));
}

#[tokio::test]
async fn the_map_page_embeds_its_lists_and_loads_vendored_maplibre() {
    let db = TestDb::new().await;
    let app = db.app();
    let (status, _, body) = request(&app, "/map", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let page = scraper::Html::parse_document(&body);
    let select = |css: &str| scraper::Selector::parse(css).unwrap();
    let scripts: Vec<&str> = page
        .select(&select("script[src], link[href]"))
        .filter_map(|e| e.value().attr("src").or(e.value().attr("href")))
        .collect();
    assert!(
        scripts.contains(&"/static/map.js") && scripts.contains(&"/static/vendor/maplibre-gl.css")
    );
    assert!(
        scripts.iter().all(|s| s.starts_with('/')),
        "only kvpt's own files: {scripts:?}"
    );
    let data: Value = serde_json::from_str(
        &page
            .select(&select("#kvpt-data"))
            .next()
            .unwrap()
            .inner_html(),
    )
    .unwrap();
    assert_eq!(data["lang"], "vi");
    assert_eq!(
        data["groups"].as_array().unwrap().len(),
        kvpt::domain::LayerGroup::ALL.len()
    );
    let districts: Vec<String> = page
        .select(&select("#filter-district option"))
        .map(|o| o.text().collect())
        .collect();
    assert!(districts.contains(&"Tân Biên".to_string()), "{districts:?}");
    assert_eq!(
        page.select(&select("#layers input[type=checkbox]")).count(),
        6
    );
    let (_, _, en) = request(&app, "/map?lang=en", &[]).await;
    assert!(en.contains("Border markers") && en.contains("Tan Bien"));
    // The home page links to the map.
    let (_, _, home) = request(&app, "/?f=html", &[]).await;
    assert!(
        home.contains("href=\"/map?lang=vi\""),
        "home links to the map"
    );

    for (path, kind) in [
        ("/static/vendor/maplibre-gl.mjs", "text/javascript"),
        ("/static/vendor/maplibre-gl-worker.mjs", "text/javascript"),
        ("/static/vendor/maplibre-gl.css", "text/css"),
        ("/static/map.js", "text/javascript"),
        ("/static/map.css", "text/css"),
        ("/static/kvpt.css", "text/css"),
    ] {
        let (status, headers, body) = request(&app, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        assert!(!body.is_empty());
        let tag = headers["etag"].to_str().unwrap().to_string();
        let (status, _, _) = request(&app, path, &[("if-none-match", &tag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
    }
    for path in [
        "/static/nothing.js",
        "/static/../Cargo.toml",
        "/static/vendor/..%2F..%2Fmap.js",
    ] {
        let (status, _, _) = request(&app, path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}
