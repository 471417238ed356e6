#!/usr/bin/env python3
"""Export benchmark (issue 5): GeoJSON export of every work (100 000 in `make bench`)
through kvpt, against `ogr2ogr -f GeoJSON` reading the same rows (same columns, same
joins) from the same database, side by side; and the growth of kvpt's resident memory
while it streams.

    python3 bench/export.py --kvpt target/release/kvpt --db "host=… dbname=bench"
"""

import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from serve import HEADERS, arguments, log, psql, sign_in_internal_planner, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = 5

# The rows of profile qk7 (every field) as kvpt's export query reads them.
SQL = """
SELECT s.code, s.name, s.name_en, s.kind, k.layer_group AS layer, s.status::text AS status,
       s.progress_pct::int8 AS percent, coalesce(d.short_name, a.name_vi, a.name) AS district,
       coalesce(d.code, a.code) AS district_code, c.name AS commune,
       CASE WHEN s.foreign_area_id IS NULL THEN 'VN' ELSE 'KH' END AS country,
       s.phase::int8 AS phase, s.programme::text AS programme, s.responsible_unit,
       s.classification::text AS classification, s.planned_start, s.planned_finish,
       s.actual_start, s.actual_finish, s.updated_at, s.version::int8 AS version,
       coalesce(b.estimate, 0)::int8 AS estimate_vnd, coalesce(b.allocated, 0)::int8 AS allocated_vnd,
       coalesce(b.disbursed, 0)::int8 AS disbursed_vnd, coalesce(b.settled, 0)::int8 AS settled_vnd,
       z.remains_expected::int8 AS remains_expected, z.remains_found::int8 AS remains_found,
       z.area_concluded_ha::float8 AS area_concluded_ha, s.geom
  FROM site s JOIN site_kind k ON k.code = s.kind
  LEFT JOIN admin_unit d ON d.id = s.district_id
  LEFT JOIN admin_unit c ON c.id = s.commune_id
  LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
  LEFT JOIN LATERAL (SELECT sum(estimate_vnd) AS estimate, sum(allocated_vnd) AS allocated,
                            sum(disbursed_vnd) AS disbursed, sum(settled_vnd) AS settled
                       FROM budget_line WHERE site_id = s.id) b ON true
  LEFT JOIN search_zone z ON z.site_id = s.id
 ORDER BY s.id
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def kvpt_export(base, pid):
    """One export through HTTP: seconds, bytes, RSS before and peak during (KiB)."""
    before = rss_kib(pid)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    request = urllib.request.Request(f"{base}/exports/sites.geojson?profile=qk7")
    for header in HEADERS.get(base, []):
        name, value = header.split(": ", 1)
        request.add_header(name, value)
    started = time.perf_counter()
    size = 0
    with urllib.request.urlopen(request, timeout=600) as r:
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return seconds, size, before, peak[0]


def ogr2ogr_export(db, out):
    started = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "GeoJSON", out, f"PG:{db}", "-sql", SQL, "-nln", "kvpt_sites",
                    "-lco", "RFC7946=YES"], check=True, capture_output=True)
    seconds = time.perf_counter() - started
    return seconds, os.path.getsize(out)


def main():
    parser = arguments(__doc__, port=18085)
    args = parser.parse_args()
    sites = int(psql(args.db, "SELECT count(*) FROM site").strip())
    log(f"== export: GeoJSON of {sites} sites, {RUNS} runs each, kvpt and ogr2ogr side by side")
    env = {**os.environ, "DATABASE_URL": args.db, "KVPT_ADDR": f"127.0.0.1:{args.port}", "RUST_LOG": "warn"}
    server = subprocess.Popen([args.kvpt, "serve"], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_for(f"{base}/readyz")
        psql(args.db, open(os.path.join(ROOT, "sql", "demo", "profiles.sql")).read())
        sign_in_internal_planner(args.kvpt, args.db, base, role="admin", clearance="secret")
        out = f"/tmp/kvpt-bench-ogr2ogr-{os.getpid()}.geojson"
        kvpt_runs, ogr_runs, growth = [], [], []
                # The first export from an idle server: its growth counts too.
        seconds, size, before, peak = kvpt_export(base, server.pid)
        growth.append((peak - before) / 1024)
        log(f"kvpt first export (warms the caches both read through): {seconds:.2f} s, RSS "
            f"{before / 1024:.0f} → peak {peak / 1024:.0f} MiB (+{(peak - before) / 1024:.1f} MiB)")
        for run in range(RUNS):
            seconds, size, before, peak = kvpt_export(base, server.pid)
            kvpt_runs.append(seconds)
            growth.append((peak - before) / 1024)
            log(f"kvpt run {run + 1}: {seconds:.2f} s, {size / 1e6:.1f} MB, RSS {before / 1024:.0f} → peak "
                f"{peak / 1024:.0f} MiB (+{(peak - before) / 1024:.1f} MiB)")
            if os.path.exists(out):
                os.remove(out)
            seconds, size = ogr2ogr_export(args.db, out)
            ogr_runs.append(seconds)
            log(f"ogr2ogr run {run + 1}: {seconds:.2f} s, {size / 1e6:.1f} MB")
        if os.path.exists(out):
            os.remove(out)
        k, o = statistics.median(kvpt_runs), statistics.median(ogr_runs)
        log(f"median: kvpt {k:.2f} s, ogr2ogr {o:.2f} s: kvpt is {o / k:.2f}× as fast; "
            f"peak RSS growth median {statistics.median(growth):.1f} MiB, max {max(growth):.1f} MiB (limit 64)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
