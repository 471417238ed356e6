#!/usr/bin/env python3
"""Issue 3's serving benchmarks, run by `make bench` on the database of the demo-load bench.

Tiles: kvpt against martin (crates.io) serving the very same tile SQL as PostgreSQL
functions, and the raw PostGIS ceiling of that SQL through pgbench; a fixed list of tiles at
z8, z11 and z14 covering the province, 64 connections, warm caches. Items: kvpt's
`/collections/sites/items?limit=1000&bbox=…` against pygeoapi (PyPI, gunicorn) on the same
table. Load comes from wrk on loopback. Prints a report and writes target/bench/serve.json.

    python3 bench/serve.py --kvpt target/release/kvpt --db "host=… user=… dbname=bench" \
        --martin target/bench-tools/bin/martin --pygeoapi target/bench-tools/pygeoapi
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "target", "bench")
LAYERS = ["defence_works", "border_militia", "logistics", "search_zones", "border_markers", "land"]
ZOOMS = [8, 11, 14]
CONNECTIONS = 64
DURATION = 20
RUNS = 3


def arguments(description=None, port=None):
    """The options every benchmark takes: the kvpt binary, the loaded database and, for
    those that start their own server, its port."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--kvpt", required=True, help="the kvpt release binary")
    ap.add_argument("--db", required=True, help="libpq key=value string of the loaded database")
    if port:
        ap.add_argument("--port", type=int, default=port)
    return ap


def log(*args):
    print(*args, flush=True)


def psql(db, sql, *extra):
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", db, *extra, "-c", sql],
                          check=True, capture_output=True, text=True).stdout


def dsn(db):
    """libpq key=value string as a dict."""
    return dict(part.split("=", 1) for part in db.split())


# Loopback benchmarks over HTTPS talk to kvpt's own private-CA certificate: not verified.
import ssl  # noqa: E402
LOOPBACK_TLS = ssl._create_unverified_context()


def wait_for(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5, context=LOOPBACK_TLS) as r:
                if r.status < 500:
                    return
        except Exception:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


# Headers sent to a server, by base URL (kvpt's session cookie).
HEADERS = {}


def sign_in_internal_planner(kvpt, db, base, role="viewer", clearance="internal"):
    """Creates a viewer cleared for internal works and signs it in: kvpt then serves the same
    features as the martin functions (clearance 'internal'), not the anonymous public ones.
    The export benchmark signs in an administrator cleared for everything instead."""
    import http.client, urllib.parse
    name, password = f"bench.{role}{time.time_ns()}", "bench-mật-khẩu-2025"
    subprocess.run([kvpt, "user", "add", name, "--name", name, "--role", role, "--clearance", clearance],
                   input=password + "\n", text=True, check=True, capture_output=True,
                   env={**os.environ, "DATABASE_URL": db})
    host, port = base.split("//")[1].split(":")
    if base.startswith("https"):
        conn = http.client.HTTPSConnection(host, int(port), context=LOOPBACK_TLS)
    else:
        conn = http.client.HTTPConnection(host, int(port))
    conn.request("GET", "/login")
    r = conn.getresponse()
    page = r.read().decode()
    csrf_cookie = re.search(r"kvpt_login_csrf=([0-9a-f]+)", r.getheader("Set-Cookie")).group(1)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    conn.request("POST", "/login", urllib.parse.urlencode({"username": name, "password": password, "csrf": csrf}),
                 {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"kvpt_login_csrf={csrf_cookie}"})
    r = conn.getresponse()
    r.read()
    session = re.search(r"kvpt_session=([0-9a-f]+)", r.getheader("Set-Cookie")).group(1)
    HEADERS[base] = [f"Cookie: kvpt_session={session}"]


def wrk(base, paths, seconds, latency=False):
    """Runs wrk over `paths` (cycled) and returns requests/s, latency percentiles and errors."""
    os.makedirs(OUT, exist_ok=True)
    listing = os.path.join(OUT, "paths.txt")
    with open(listing, "w") as f:
        f.write("\n".join(paths) + "\n")
    script = os.path.join(ROOT, "bench", "paths.lua")
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", "-s", script]
    for header in HEADERS.get(base, []):
        cmd += ["-H", header]
    if latency:
        cmd.append("--latency")
    cmd.append(base)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env={**os.environ, "PATHS": listing}).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(v) for v in m.groups())
    result = {"rps": rps, "errors": errors}
    if latency:
        for pct in ["50", "90", "99"]:
            m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", out)
            if m:
                value, unit = float(m.group(1)), m.group(2)
                result[f"p{pct}_ms"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return result


def measure(name, base, paths, latency=False):
    """Warms with one pass, then RUNS measured runs; reports the median."""
    wrk(base, paths, max(5, min(30, len(paths) // 300)))
    runs = [wrk(base, paths, DURATION, latency) for _ in range(RUNS)]
    median = statistics.median(r["rps"] for r in runs)
    summary = {"runs": runs, "median_rps": median, "errors": sum(r["errors"] for r in runs)}
    if latency:
        summary["median_p99_ms"] = statistics.median(r["p99_ms"] for r in runs)
    log(f"  {name}: " + ", ".join(f"{r['rps']:.0f}" for r in runs) + f" req/s → median {median:.0f}"
        + (f", p99 {summary['median_p99_ms']:.1f} ms" if latency else "")
        + (f", {summary['errors']} errors" if summary["errors"] else ""))
    return summary


def measure_pair(names, bases, path_lists, latency=False, runs=RUNS):
    """Warms each server, then alternates their measured runs (A, B, A, B, …) so a slow
    minute of a shared machine falls on both; reports each one's median."""
    for base, paths in zip(bases, path_lists):
        wrk(base, paths, max(5, min(30, len(paths) // 300)))
    results = [[] for _ in names]
    for _ in range(runs):
        for i, (base, paths) in enumerate(zip(bases, path_lists)):
            results[i].append(wrk(base, paths, DURATION, latency))
    summaries = []
    for name, rs in zip(names, results):
        median = statistics.median(r["rps"] for r in rs)
        summary = {"runs": rs, "median_rps": median, "errors": sum(r["errors"] for r in rs)}
        if latency:
            summary["median_p99_ms"] = statistics.median(r["p99_ms"] for r in rs)
        log(f"  {name}: " + ", ".join(f"{r['rps']:.0f}" for r in rs) + f" req/s → median {median:.0f}"
            + (f", p99 {summary['median_p99_ms']:.1f} ms" if latency else "")
            + (f", {summary['errors']} errors" if summary["errors"] else ""))
        summaries.append(summary)
    return summaries


def tile_list(db, box=False):
    """Every tile at z8, z11, z14 touching the province, for each site layer (seeded shuffle);
    with `box`, every tile of the province's bounding box."""
    rows = psql(db, """
        WITH p AS (SELECT ST_Transform(geom, 3857) AS g, ST_Extent(geom) OVER () AS e
                     FROM admin_unit WHERE level = 'province'),
             z AS (SELECT unnest(ARRAY[8, 11, 14]) AS z)
        SELECT z.z, x, y FROM p, z,
               generate_series(floor((ST_XMin(p.e) + 180) / 360 * 2 ^ z.z)::int,
                               floor((ST_XMax(p.e) + 180) / 360 * 2 ^ z.z)::int) x,
               generate_series(floor((1 - ln(tan(radians(ST_YMax(p.e))) + 1 / cos(radians(ST_YMax(p.e)))) / pi()) / 2 * 2 ^ z.z)::int,
                               floor((1 - ln(tan(radians(ST_YMin(p.e))) + 1 / cos(radians(ST_YMin(p.e)))) / pi()) / 2 * 2 ^ z.z)::int) y
         WHERE """ + ("true" if box else "ST_Intersects(ST_TileEnvelope(z.z, x, y), p.g)") + """
         ORDER BY 1, 2, 3""")
    tiles = [tuple(int(v) for v in line.split("|")) for line in rows.split()]
    listed = [(layer, z, x, y) for (z, x, y) in tiles for layer in LAYERS]
    random.Random(7).shuffle(listed)
    return listed


def install_functions(db):
    """The tile SQL kvpt runs, as functions martin and pgbench can call."""
    with open(os.path.join(ROOT, "sql", "queries", "tile_sites.sql")) as f:
        body = f.read()
    body = re.sub(r"^--.*$", "", body, flags=re.M)
    for layer in LAYERS:
        sql = (body.replace("$1", "z").replace("$2", "x").replace("$3", "y")
               .replace("$4", f"'{layer}'").replace("$5", "'internal'"))
        psql(db, f"CREATE OR REPLACE FUNCTION bench_{layer}(z integer, x integer, y integer) "
                 f"RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $body$ {sql} $body$")


def pgbench(db, tiles):
    psql(db, "DROP TABLE IF EXISTS bench_tile; CREATE TABLE bench_tile (i int PRIMARY KEY, layer text, z int, x int, y int)")
    rows = "\n".join(f"{i}\t{l}\t{z}\t{x}\t{y}" for i, (l, z, x, y) in enumerate(tiles))
    subprocess.run(["psql", "-X", "-q", db, "-c", "COPY bench_tile FROM STDIN"], input=rows, text=True, check=True)
    cases = " ".join(f"WHEN '{l}' THEN bench_{l}(t.z, t.x, t.y)" for l in LAYERS)
    script = os.path.join(OUT, "pgbench.sql")
    with open(script, "w") as f:
        f.write(f"\\set i random(0, {len(tiles) - 1})\n"
                f"SELECT CASE t.layer {cases} END FROM bench_tile t WHERE t.i = :i;\n")
    d = dsn(db)
    runs = []
    for _ in range(RUNS):
        out = subprocess.run(["pgbench", "-n", "-c", str(CONNECTIONS), "-j", "2", "-T", str(DURATION), "-M", "prepared",
                              "-f", script, "-h", d["host"], "-p", d.get("port", "5432"), "-U", d["user"], d["dbname"]],
                             check=True, capture_output=True, text=True).stdout
        runs.append(float(re.search(r"tps = ([\d.]+)", out).group(1)))
    median = statistics.median(runs)
    log(f"  PostGIS via pgbench (same SQL, no HTTP, no cache): " + ", ".join(f"{r:.0f}" for r in runs)
        + f" tiles/s → median {median:.0f}")
    return {"runs": runs, "median_rps": median}


def answering(url):
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except Exception:
        return False


class Server:
    def __init__(self, name, cmd, env, ready_url, cwd=None):
        self.name = name
        if answering(ready_url):
            raise SystemExit(f"{ready_url} already answers before {name} starts: stop what holds the port")
        log_path = os.path.join(OUT, f"{name}.log")
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=cwd, stdout=open(log_path, "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(ready_url)
        if self.proc.poll() is not None:
            raise SystemExit(f"{name} exited at start; see {log_path}")

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except Exception:
            os.killpg(self.proc.pid, signal.SIGKILL)


def start_kvpt(kvpt, db, port, **env):
    """`kvpt serve` of the release binary on `db` at 127.0.0.1:`port` (quiet logs), once it
    answers; `env` adds settings (KVPT_TILE_CACHE_MB="0", …)."""
    return Server("kvpt", [kvpt, "serve"], {"DATABASE_URL": db, "KVPT_ADDR": f"127.0.0.1:{port}",
                                            "RUST_LOG": "warn", **env}, f"http://127.0.0.1:{port}/healthz")


def start_pygeoapi(venv, d):
    """pygeoapi on the same `site` table through its PostgreSQL provider, under gunicorn."""
    cfg = os.path.join(OUT, "pygeoapi.yml")
    with open(cfg, "w") as f:
        f.write(f"""server:
  bind: {{host: 127.0.0.1, port: 18082}}
  url: http://127.0.0.1:18082
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 100, max_items: 10000}}
  map: {{url: 'http://127.0.0.1/{{z}}/{{x}}/{{y}}.png', attribution: 'none'}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme, terms_of_service: none, url: http://127.0.0.1}}
  license: {{name: none, url: http://127.0.0.1}}
  provider: {{name: bench, url: http://127.0.0.1}}
  contact: {{name: bench}}
resources:
  sites:
    type: collection
    title: sites
    description: sites
    keywords: [sites]
    extents:
      spatial: {{bbox: [105, 10, 107, 12], crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: {d['host']}, port: {d.get('port', '5432')}, dbname: {d['dbname']}, user: {d['user']}, search_path: [public]}}
        id_field: id
        table: site
        geom_field: geom
""")
    openapi = os.path.join(OUT, "pygeoapi-openapi.yml")
    env = {"PYGEOAPI_CONFIG": cfg, "PYGEOAPI_OPENAPI": openapi}
    bin_dir = os.path.join(venv, "bin")
    subprocess.run([os.path.join(bin_dir, "pygeoapi"), "openapi", "generate", cfg, "--output-file", openapi],
                   check=True, env={**os.environ, **env}, capture_output=True)
    return Server("pygeoapi", [os.path.join(bin_dir, "gunicorn"), "-w", "4", "-b", "127.0.0.1:18082",
                               "pygeoapi.flask_app:APP"], env, "http://127.0.0.1:18082/collections/sites")


def main():
    ap = arguments()
    ap.add_argument("--martin")
    ap.add_argument("--pygeoapi", help="virtualenv with pygeoapi and gunicorn")
    ap.add_argument("--tiles-only", action="store_true", help="measure the tile lists only (no items)")
    ap.add_argument("--z14-box", action="store_true",
                    help="the z14 list covers the province's bounding box, not only the province")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    d = dsn(args.db)
    sites = int(psql(args.db, "SELECT count(*) FROM site").strip())
    log(f"== serving benchmarks on {sites} sites, {CONNECTIONS} connections, {RUNS} × {DURATION} s runs after a warm-up")
    psql(args.db, "VACUUM ANALYZE")
    tiles = tile_list(args.db)
    counts = {z: sum(1 for t in tiles if t[1] == z) for z in ZOOMS}
    log(f"  tile list: {len(tiles)} tiles ({', '.join(f'z{z}: {n}' for z, n in counts.items())}), 6 site layers")
    install_functions(args.db)
    report = {"sites": sites, "tiles": len(tiles), "connections": CONNECTIONS}

    kvpt_paths = [f"/tiles/{l}/{z}/{x}/{y}.mvt" for (l, z, x, y) in tiles]
    martin_paths = [f"/{l}/{z}/{x}/{y}" for (l, z, x, y) in tiles]
    z14_tiles = [t for t in (tile_list(args.db, box=True) if args.z14_box else tiles) if t[1] == 14]
    log(f"  z14 list: {len(z14_tiles)} tiles ({'bounding box' if args.z14_box else 'touching the province'})")

    kvpt_z14 = [f"/tiles/{l}/{z}/{x}/{y}.mvt" for (l, z, x, y) in z14_tiles]
    martin_z14 = [f"/{l}/{z}/{x}/{y}" for (l, z, x, y) in z14_tiles]
    bboxes = ["106.0,11.2,106.3,11.5", "106.05,11.15,106.35,11.45", "105.95,11.25,106.25,11.55",
              "106.1,11.0,106.4,11.3"]
    servers = []
    try:
        kvpt = Server("kvpt", [args.kvpt, "serve"], {"DATABASE_URL": args.db, "KVPT_ADDR": "127.0.0.1:18080",
                                                     "RUST_LOG": "warn"}, "http://127.0.0.1:18080/healthz")
        servers.append(kvpt)
        K = "http://127.0.0.1:18080"
        sign_in_internal_planner(args.kvpt, args.db, K)
        log("-- tiles (kvpt and martin alternating)")
        if args.martin:
            config = os.path.join(OUT, "martin.yaml")
            conn = f"postgresql://{d['user']}@/{d['dbname']}?host={d['host']}&port={d.get('port', '5432')}"
            with open(config, "w") as f:
                f.write(f"listen_addresses: '127.0.0.1:18081'\nworker_processes: 2\n"
                        f"postgres:\n  connection_string: '{conn}'\n  pool_size: 20\n  auto_publish: false\n  functions:\n")
                for l in LAYERS:
                    f.write(f"    {l}:\n      schema: public\n      function: bench_{l}\n      minzoom: 0\n      maxzoom: 22\n")
            servers.append(Server("martin", [args.martin, "--config", config], {"RUST_LOG": "warn"},
                                  "http://127.0.0.1:18081/health"))
            M = "http://127.0.0.1:18081"
            report["kvpt_tiles"], report["martin_tiles"] = measure_pair(
                ["kvpt", "martin"], [K, M], [kvpt_paths, martin_paths], runs=5)
            report["kvpt_z14"], report["martin_z14"] = measure_pair(
                ["kvpt z14 (latency)", "martin z14 (latency)"], [K, M], [kvpt_z14, martin_z14],
                latency=True)
        else:
            report["kvpt_tiles"] = measure("kvpt", K, kvpt_paths)
            report["kvpt_z14"] = measure("kvpt z14 only (latency)", K, kvpt_z14, latency=True)

        if not args.tiles_only:
            log("-- items (limit=1000, bbox; kvpt and pygeoapi alternating)")
            items = [f"/collections/sites/items?limit=1000&bbox={b}" for b in bboxes]
            # One after the other: gunicorn goes on working through requests wrk gave up on,
            # which would eat into the next run of an alternating pair.
            report["kvpt_items"] = measure("kvpt", K, items)
            kvpt.stop()
            servers.remove(kvpt)
            if args.pygeoapi:
                servers.append(start_pygeoapi(args.pygeoapi, d))
                report["pygeoapi_items"] = measure("pygeoapi (gunicorn, 4 workers)", "http://127.0.0.1:18082",
                                                   [i + "&f=json" for i in items])
    finally:
        for server in servers:
            server.stop()
    finish(args, tiles, report)


def finish(args, tiles, report):
    """The raw-PostGIS figure, the ratios, and serve.json (after the servers stopped)."""
    log("-- raw PostGIS")
    report["pgbench_tiles"] = pgbench(args.db, tiles)

    log("-- ratios")
    if "martin_tiles" in report:
        ratio = report["kvpt_tiles"]["median_rps"] / report["martin_tiles"]["median_rps"]
        report["ratio_tiles_vs_martin"] = ratio
        log(f"  tiles kvpt / martin: {ratio:.2f} (target ≥ 1.5)")
        ratio = report["kvpt_z14"]["median_rps"] / report["martin_z14"]["median_rps"]
        report["ratio_z14_vs_martin"] = ratio
        log(f"  z14 tiles kvpt / martin: {ratio:.2f} (target ≥ 1.5)")
    ratio = report["kvpt_tiles"]["median_rps"] / report["pgbench_tiles"]["median_rps"]
    report["ratio_tiles_vs_pgbench"] = ratio
    log(f"  tiles kvpt / raw PostGIS: {ratio:.2f}")
    log(f"  z14 p99 kvpt: {report['kvpt_z14']['median_p99_ms']:.1f} ms (target < 50)")
    if "pygeoapi_items" in report:
        ratio = report["kvpt_items"]["median_rps"] / report["pygeoapi_items"]["median_rps"]
        report["ratio_items_vs_pygeoapi"] = ratio
        log(f"  items kvpt / pygeoapi: {ratio:.1f} (target ≥ 10)")
    with open(os.path.join(OUT, "serve.json"), "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
