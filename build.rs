//! Vendors the browser libraries: `npm ci` in `web/` when they are missing, so the
//! binary embeds MapLibre GL JS and serves it itself (no CDN on a closed network).

use std::path::Path;
use std::process::Command;

const VENDORED: &[&str] = &[
    "web/node_modules/maplibre-gl/dist/maplibre-gl.mjs",
    "web/node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs",
    "web/node_modules/maplibre-gl/dist/maplibre-gl.css",
];

fn main() {
    println!("cargo:rerun-if-changed=web/package-lock.json");
    for file in VENDORED {
        println!("cargo:rerun-if-changed={file}");
    }
    if VENDORED.iter().all(|f| Path::new(f).exists()) {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir("web")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`npm ci` in web/ failed ({s}); run it by hand to see why"),
        Err(e) => {
            panic!("cannot run npm ({e}): install Node.js and npm (`make deps`), then build again")
        }
    }
    for file in VENDORED {
        assert!(Path::new(file).exists(), "{file} is missing after npm ci");
    }
}
