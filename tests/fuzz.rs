//! The fuzz targets of `kvpt::fuzzing`, run on stable Rust for a bounded time (its own
//! test binary, so that a crash in a C library stops only this one). Every saved crash
//! in `tests/fuzz/regressions/<target>/` is replayed first; then seeds are mutated
//! (bit flips, inserted bytes and tokens, cut and repeated ranges, splices) until the
//! time is up: `KVPT_FUZZ_SECS` (default 3 per target; the importer gets twice that).
//! A crash is saved under `target/fuzz-crashes/` and named in the failure: move it to
//! the regressions folder once fixed. An input still running after a minute is a hang:
//! it is saved the same way and the run stops (a hung C library cannot be interrupted;
//! `KVPT_FUZZ_HANG_SECS` sets the minute).
//! The same targets run under cargo-fuzz in `fuzz/`.

use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

const TOKENS: &[&[u8]] = &[
    b"%",
    b"%00",
    b"%FF",
    b"NaN",
    b"Infinity",
    b"-",
    b"..",
    b"/",
    b"\\",
    b"\"",
    b",",
    b";",
    b"\n",
    b"\r\n",
    b"=",
    b"&",
    b"99999999999999999999999",
    b"-0",
    b"1e309",
    b"\xEF\xBB\xBF",
    b"\xC3",
    b"\xE1\xBB",
    b"<",
    b"{",
    b"}",
    b"[",
    b"]",
    b"..%2F",
    b"T",
    b"Z",
    b"/..",
    b"0x",
];

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let text = |items: &[&str]| items.iter().map(|s| s.as_bytes().to_vec()).collect();
    match target {
        "query_params" => text(&[
            "limit=10&offset=20&f=json",
            "bbox=106.0,11.0,106.5,11.5&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326",
            "datetime=2021-01-01T00:00:00Z/..&crs=EPSG:9209",
            "kind=border_marker,warehouse&status=completed&district=TBI&phase=2",
            "programme=kvpt_2017_2020,mr7_roadmap&as_of=2025-12-31&counted=submitted",
            "q=li%C3%AAn%20k%E1%BB%81&as_of=31/12/2023&lang=vi",
            "datetime=../2024-06-30&bbox=1,2,3,4,5,6",
        ]),
        "tile_coordinates" => text(&["9/408/242.mvt", "0/0/0.mvt", "22/4194303/4194303.mvt", "14/13000/7700.mvt"]),
        "bulk_csv" => text(&[
            "code,version,percent\nCHOT-TBI-0001,3,40\n",
            "code,version,status,percent,actual_start,note\nKHO-TCH-0002,1,under_construction,55,01/02/2023,\"ghi chú, có dấu phẩy\"\n",
            "\u{FEFF}mã,phiên bản,tiến độ\nCHOT-TBI-0001,2,100\n",
            "code;version;percent\nA;1;2\n",
        ]),
        "dbf_text" => vec![
            "Chốt dân quân Tân Biên\nĐường cơ động".as_bytes().to_vec(),
            b"Ch\xd2t d\xe2n qu\xe2n".to_vec(),
            b"Ch\xa8\xee\xa3t".to_vec(),
            b"Ki\xeam tra\nT\xe2y Ninh".to_vec(),
        ],
        "import_file" => {
            let mut out: Vec<Vec<u8>> = Vec::new();
            let geojson = br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"KHO-TBI-0001","name":"Kho"},"geometry":{"type":"Point","coordinates":[106.05,11.4]}}]}"#;
            let mut with = |pick: u8, body: &[u8]| {
                let mut v = vec![pick];
                v.extend_from_slice(body);
                out.push(v);
            };
            with(0, geojson);
            with(7, geojson);
            with(1, b"code,name,WKT\nKHO-TBI-0001,Kho,\"POINT (106.05 11.4)\"\n");
            with(1, b"code,x,y\nKHO-TBI-0001,106.05,11.4\n");
            with(2, br#"<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>KHO-TBI-0001</name><Point><coordinates>106.05,11.4</coordinates></Point></Placemark></Document></kml>"#);
            with(4, b"0\nSECTION\n2\nENTITIES\n0\nPOINT\n8\nKHO-TBI-0001\n10\n106.05\n20\n11.4\n0\nENDSEC\n0\nEOF\n");
            let mut zip = Vec::new();
            {
                let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut zip));
                w.start_file("a.geojson", zip::write::SimpleFileOptions::default()).unwrap();
                w.write_all(geojson).unwrap();
                w.finish().unwrap();
            }
            with(3, &zip);
            out
        }
        other => panic!("no seeds for {other}"),
    }
}

fn mutate(rng: &mut impl Rng, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = data.len();
        match rng.random_range(0..7) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] = rng.random();
            }
            2 => {
                let i = rng.random_range(0..=len);
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                data.splice(i..i, token.iter().copied());
            }
            3 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 64));
                data.drain(a..b);
            }
            4 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 32));
                let chunk = data[a..b].to_vec();
                for _ in 0..rng.random_range(1..8) {
                    data.splice(b..b, chunk.iter().copied());
                }
            }
            5 => {
                let other = &pool[rng.random_range(0..pool.len())];
                if !other.is_empty() {
                    let a = rng.random_range(0..other.len());
                    let i = rng.random_range(0..=len);
                    data.splice(i..i, other[a..].iter().copied());
                }
            }
            _ => {
                let i = rng.random_range(0..=len);
                let n = rng.random_range(1..16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                data.splice(i..i, bytes);
            }
        }
    }
    data.truncate(1 << 16);
    data
}

fn hex(data: &[u8]) -> String {
    data.iter().take(256).map(|b| format!("{b:02x}")).collect()
}

/// Replays the regressions, then fuzzes `name` for `budget`.
fn fuzz(name: &str, budget: Duration) {
    let target = kvpt::fuzzing::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let watch = Watchdog::start(name);
    let run = |input: &[u8]| {
        watch.begin(input);
        let ok = catch_unwind(AssertUnwindSafe(|| target(input))).is_ok();
        watch.end();
        ok
    };
    if let Ok(entries) = std::fs::read_dir(format!("{root}/tests/fuzz/regressions/{name}")) {
        for entry in entries.flatten() {
            let input = std::fs::read(entry.path()).unwrap();
            assert!(
                run(&input),
                "regression {} crashes again",
                entry.path().display()
            );
        }
    }
    let seed: u64 = std::env::var("KVPT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut pool = seeds(name);
    for s in pool.clone() {
        assert!(run(&s), "a seed of {name} crashes");
    }
    let started = Instant::now();
    let mut runs = 0u64;
    while started.elapsed() < budget {
        let base = pool[rng.random_range(0..pool.len())].clone();
        let input = mutate(&mut rng, &base, &pool);
        runs += 1;
        if !run(&input) {
            let dir = format!("{root}/target/fuzz-crashes");
            std::fs::create_dir_all(&dir).unwrap();
            let file = format!("{dir}/{name}-{seed}-{runs}.bin");
            std::fs::write(&file, &input).unwrap();
            panic!(
                "{name} crashed on run {runs} (KVPT_FUZZ_SEED={seed}); input saved to {file} \
                 (move it to tests/fuzz/regressions/{name}/ once fixed): {}",
                hex(&input)
            );
        }
        // Inputs that still parse as text keep the pool varied.
        if pool.len() < 256 && rng.random_ratio(1, 16) {
            pool.push(input);
        }
    }
    eprintln!(
        "fuzz {name}: {runs} inputs in {:?} (seed {seed}), no crash",
        started.elapsed()
    );
    assert!(
        budget.is_zero() || runs > 10,
        "{name} ran only {runs} inputs"
    );
}

/// The input being run, since when.
type Running = std::sync::Arc<std::sync::Mutex<Option<(Instant, Vec<u8>)>>>;

/// Saves the input being run and stops the process when one runs past a minute.
struct Watchdog {
    current: Running,
}

impl Watchdog {
    /// A minute, or `KVPT_FUZZ_HANG_SECS`.
    fn limit() -> Duration {
        let secs = std::env::var("KVPT_FUZZ_HANG_SECS")
            .ok()
            .and_then(|s| s.parse().ok());
        Duration::from_secs(secs.unwrap_or(60))
    }

    fn start(name: &str) -> Self {
        let name = name.to_string();
        let limit = Self::limit();
        let current = Running::default();
        let watched = std::sync::Arc::downgrade(&current);
        std::thread::spawn(move || {
            while let Some(current) = watched.upgrade() {
                if let Some((since, input)) = current.lock().unwrap().as_ref() {
                    if since.elapsed() > limit {
                        let dir = format!("{}/target/fuzz-crashes", env!("CARGO_MANIFEST_DIR"));
                        std::fs::create_dir_all(&dir).unwrap();
                        let file = format!("{dir}/{name}-hang.bin");
                        std::fs::write(&file, input).unwrap();
                        // Straight to stderr: the test harness's capture dies with the process.
                        let _ = writeln!(
                            std::io::stderr(),
                            "{name} hung for over {:?} on one input, saved to {file} (move it to \
                             tests/fuzz/regressions/{name}/ once fixed): {}",
                            limit,
                            hex(input)
                        );
                        std::process::abort();
                    }
                }
                drop(current);
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        Watchdog { current }
    }

    fn begin(&self, input: &[u8]) {
        *self.current.lock().unwrap() = Some((Instant::now(), input.to_vec()));
    }

    fn end(&self) {
        *self.current.lock().unwrap() = None;
    }
}

fn budget(factor: u32) -> Duration {
    let secs: u64 = std::env::var("KVPT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(secs) * factor
}

#[test]
fn fuzz_query_params() {
    fuzz("query_params", budget(1));
}

#[test]
fn fuzz_tile_coordinates() {
    fuzz("tile_coordinates", budget(1));
}

#[test]
fn fuzz_bulk_csv() {
    fuzz("bulk_csv", budget(1));
}

#[test]
fn fuzz_dbf_text() {
    fuzz("dbf_text", budget(1));
}

#[test]
fn fuzz_import_file() {
    // GDAL's complaints about broken files are expected by the thousand here.
    gdal::config::set_error_handler(|_, _, _| {});
    fuzz("import_file", budget(2));
}
