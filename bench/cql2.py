#!/usr/bin/env python3
"""Issue 21's filtering benchmark, run by `make bench` on the database of the demo-load bench.

Items with a CQL2 filter — a LIKE on the name and S_INTERSECTS with a district's polygon —
on every site, kvpt against pygeoapi (PyPI 0.21, gunicorn with 4 workers, its PostgreSQL
provider on the same `site` view). pygeoapi 0.21 reads a GET filter as ECQL
(`INTERSECTS(geom, …)`), which says the same as the CQL2 here; 0.24, the first with CQL2
text, needs Python 3.12, which Debian 12 does not have. Both answer the same works (checked
before measuring: kvpt signed in as a user cleared for every classification, as pygeoapi
reads the table whole). Prints a report and writes target/bench/cql2.json.

    python3 bench/cql2.py --kvpt target/release/kvpt --db "host=… user=… dbname=bench" \
        --pygeoapi target/bench-tools/pygeoapi
"""

import json
import os
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve  # noqa: E402  (the serving benchmark's helpers: servers, wrk, sign-in)

PREFIXES = ["Kho%", "Chốt%", "Điểm%", "Đường%"]
DISTRICTS = ["TBI", "TCH", "BCA", "CTH"]


def district_wkt(db, abbr):
    """A district's boundary, simplified to about 100 m (a URL of a few kB)."""
    return serve.psql(db, f"""SELECT ST_AsText(ST_SimplifyPreserveTopology(geom, 0.001), 5)
                               FROM admin_unit WHERE level = 'district' AND abbr = '{abbr}'""").strip()


def matched(base, path, headers):
    request = urllib.request.Request(base + path, headers=dict(h.split(": ", 1) for h in headers))
    with urllib.request.urlopen(request, timeout=120) as r:
        return json.load(r)["numberMatched"]


def main():
    ap = serve.arguments()
    ap.add_argument("--pygeoapi", help="virtualenv with pygeoapi and gunicorn", required=True)
    args = ap.parse_args()
    os.makedirs(serve.OUT, exist_ok=True)
    sites = int(serve.psql(args.db, "SELECT count(*) FROM site").strip())
    serve.log(f"== CQL2 filter: LIKE on name and S_INTERSECTS with a district, {sites} sites, "
              f"{serve.CONNECTIONS} connections, {serve.RUNS} × {serve.DURATION} s runs after a warm-up")
    walls = {abbr: district_wkt(args.db, abbr) for abbr in DISTRICTS}
    pairs = [(p, d) for p in PREFIXES for d in DISTRICTS]
    quote = lambda text: urllib.parse.quote(text, safe="")
    kvpt_paths = [f"/collections/sites/items?limit=1000&filter="
                  + quote(f"name LIKE '{p}' AND S_INTERSECTS(geometry, {walls[d]})") for p, d in pairs]
    pygeoapi_paths = [f"/collections/sites/items?limit=1000&f=json&filter-lang=cql-text&filter="
                      + quote(f"name LIKE '{p}' AND INTERSECTS(geom, {walls[d]})") for p, d in pairs]
    report = {"sites": sites, "queries": len(pairs)}
    servers = []
    try:
        kvpt = serve.Server("kvpt", [args.kvpt, "serve"],
                            {"DATABASE_URL": args.db, "KVPT_ADDR": "127.0.0.1:18080", "RUST_LOG": "warn"},
                            "http://127.0.0.1:18080/healthz")
        servers.append(kvpt)
        K = "http://127.0.0.1:18080"
        serve.sign_in_internal_planner(args.kvpt, args.db, K, clearance="secret")
        servers.append(serve.start_pygeoapi(args.pygeoapi, serve.dsn(args.db)))
        P = "http://127.0.0.1:18082"
        counts = []
        for k, p in zip(kvpt_paths, pygeoapi_paths):
            a, b = matched(K, k, serve.HEADERS.get(K, [])), matched(P, p, [])
            if a != b:
                raise SystemExit(f"kvpt matched {a}, pygeoapi {b}: not the same query\n{k}\n{p}")
            counts.append(a)
        serve.log(f"  both match the same works: {min(counts)}–{max(counts)} per query, {sum(counts)} in all")
        report["matched"] = counts
        report["kvpt"] = serve.measure("kvpt", K, kvpt_paths, latency=True)
        kvpt.stop()
        servers.remove(kvpt)
        report["pygeoapi"] = serve.measure("pygeoapi 0.21 (gunicorn, 4 workers)", P, pygeoapi_paths, latency=True)
    finally:
        for server in servers:
            server.stop()
    ratio = report["kvpt"]["median_rps"] / report["pygeoapi"]["median_rps"]
    report["ratio_vs_pygeoapi"] = ratio
    serve.log(f"  CQL2 items kvpt / pygeoapi: {ratio:.1f} (target ≥ 10)")
    with open(os.path.join(serve.OUT, "cql2.json"), "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
