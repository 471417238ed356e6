#!/usr/bin/env python3
"""Soak: ten minutes of mixed traffic on the loaded database (issue 6's figures).

At once, for --minutes (default 10):
- 32 engineers, each raising the percent of sites of their own by one (PATCH
  /api/sites/{code}/progress), with a short pause between updates;
- tile clients fetching vector tiles of every layer at zooms 8-14 over the province;
- OGC API clients paging through items with bboxes and filters;
- planners viewing pages: the map, the home page, site pages, the dashboard;
- an export of every work (GeoJSON, profile qk7) every 30 s.

Reports: requests and their statuses per route with p50/p99 latency, server RSS at the
start (after a warm-up) and the end with the range sampled in between, and whether the
history and audit rows equal the accepted updates. Exits 1 on any 5xx or lost update.

Usage: bench/soak.py --kvpt target/release/kvpt --db "<libpq key=value of the bench db>"
"""

import collections
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from export import rss_kib  # noqa: E402
from serve import arguments  # noqa: E402
from progress import Client, add_user, free_port, pct, psql  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = collections.defaultdict(list)
        self.statuses = collections.defaultdict(collections.Counter)

    def record(self, route, status, seconds):
        with self.lock:
            self.latencies[route].append(seconds)
            self.statuses[route][status] += 1


def timed(stats, client, route, method, path, body=None, headers=None):
    t0 = time.perf_counter()
    try:
        status, data = client.request(method, path, body, headers)
    except Exception as err:  # a reset or timeout counts as a failure, not a crash of the bench
        print(f"{route}: {err}", file=sys.stderr)
        client.conn.close()
        status, data = 0, b""
    stats.record(route, status, time.perf_counter() - t0)
    return status, data


def engineer(port, username, sites, stop, stats, accepted):
    client = Client(port)
    csrf = client.sign_in(username)
    i = 0
    while not stop.is_set():
        site = sites[i % len(sites)]
        i += 1
        if site["pct"] >= 99:
            continue
        body = json.dumps({"version": site["version"], "percent": site["pct"] + 1})
        status, data = timed(stats, client, "PATCH /api/sites/{code}/progress", "PATCH",
                             f"/api/sites/{site['code']}/progress", body,
                             {"X-CSRF-Token": csrf, "Content-Type": "application/json"})
        if status == 200:
            answer = json.loads(data)["site"]
            site["version"], site["pct"] = answer["version"], answer["percent"]
            with stats.lock:
                accepted[0] += 1
        elif status == 409:
            site["version"] = json.loads(data)["current"]["version"]
        stop.wait(0.25)


def tiles(port, stop, stats, seed):
    rng = random.Random(seed)
    client = Client(port)
    layers = ["defence_works", "border_militia", "logistics", "search_zones", "border_markers", "land",
              "districts", "border", "rivers"]
    while not stop.is_set():
        z = rng.randint(8, 14)
        n = 2 ** z
        # Tây Ninh: 105.6-106.5 E, 10.9-11.9 N.
        lon, lat = rng.uniform(105.6, 106.5), rng.uniform(10.9, 11.9)
        import math
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
        timed(stats, client, "GET /tiles/{layer}/{z}/{x}/{y}", "GET",
              f"/tiles/{rng.choice(layers)}/{z}/{x}/{y}.mvt")


def items(port, stop, stats, seed):
    rng = random.Random(seed)
    client = Client(port)
    client.sign_in(f"soak.items{seed}")
    while not stop.is_set():
        choice = rng.random()
        if choice < 0.4:
            path = f"/collections/sites/items?limit=100&offset={rng.randint(0, 90000)}"
        elif choice < 0.8:
            lon, lat = rng.uniform(105.7, 106.4), rng.uniform(11.0, 11.8)
            path = f"/collections/sites/items?bbox={lon},{lat},{lon + 0.05},{lat + 0.05}&limit=200"
        else:
            path = f"/collections/sites/items?status=under_construction&district=TBI&limit=50&offset={rng.randint(0, 500)}"
        timed(stats, client, "GET /collections/sites/items", "GET", path, headers={"Accept": "application/geo+json"})


def pages(port, stop, stats, seed, codes):
    rng = random.Random(seed)
    client = Client(port)
    client.sign_in(f"soak.planner{seed}")
    while not stop.is_set():
        route = rng.choice(["/", "/map", "/sites", "/sites", "/dashboard"])
        if route == "/sites":
            timed(stats, client, "GET /sites/{code}", "GET", f"/sites/{rng.choice(codes)}")
        else:
            timed(stats, client, f"GET {route}", "GET", route)
        stop.wait(0.5)


def exporter(port, stop, stats, exported):
    client = Client(port)
    client.sign_in("soak.exporter")
    client.conn.sock.settimeout(120)
    while not stop.is_set():
        t0 = time.monotonic()
        # A fresh connection each time, as a partner's script would open: kvpt closes
        # connections idle longer than its header timeout (KVPT_HEADER_TIMEOUT_S).
        client.conn.close()
        status, data = timed(stats, client, "GET /exports/sites.geojson", "GET",
                             "/exports/sites.geojson?profile=qk7")
        if status == 200:
            exported.append(len(data))
        stop.wait(max(0, 30 - (time.monotonic() - t0)))


def main():
    ap = arguments(port=18083)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--engineers", type=int, default=32)
    args = ap.parse_args()
    free_port(args.port)
    total = psql(args.db, "SELECT count(*) FROM site")[0][0]
    if not psql(args.db, "SELECT 1 FROM export_profile WHERE name = 'qk7'"):
        psql(args.db, open(os.path.join(ROOT, "sql", "demo", "profiles.sql")).read())
    print(f"== soak: {args.minutes:g} minutes of mixed traffic on {total} sites")
    run = time.strftime("%H%M%S")
    districts = ",".join(r[0] for r in psql(args.db, "SELECT abbr FROM admin_unit WHERE level = 'district' ORDER BY abbr"))
    names = [f"soak.e{run}.{n}" for n in range(args.engineers)]
    for name in names:
        add_user(args.kvpt, args.db, name, "engineer", districts)
    for name in ["soak.items1", "soak.items2", "soak.planner1", "soak.planner2", "soak.exporter"]:
        if not psql(args.db, f"SELECT 1 FROM app_user WHERE username = '{name}'"):
            add_user(args.kvpt, args.db, name, "viewer")
    rows = psql(args.db, f"""SELECT code, version, progress_pct FROM site
                              WHERE status = 'under_construction' AND progress_pct < 50
                                AND district_id IS NOT NULL
                              ORDER BY random() LIMIT {args.engineers * 100}""")
    sites = [{"code": c, "version": int(v), "pct": int(p)} for c, v, p in rows]
    shares = [sites[i::args.engineers] for i in range(args.engineers)]
    codes = [r[0] for r in psql(args.db, "SELECT code FROM site ORDER BY random() LIMIT 500")]
    history_before = int(psql(args.db, "SELECT count(*) FROM progress_history")[0][0])
    audit_before = int(psql(args.db, "SELECT count(*) FROM audit_log WHERE action = 'site.progress'")[0][0])

    env = {**os.environ, "DATABASE_URL": args.db, "KVPT_ADDR": f"127.0.0.1:{args.port}", "RUST_LOG": "warn"}
    server = subprocess.Popen([args.kvpt, "serve"], env=env, stdout=subprocess.DEVNULL)
    stats, stop = Stats(), threading.Event()
    accepted, exported = [0], []
    try:
        for _ in range(100):
            try:
                if Client(args.port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        threads = [threading.Thread(target=engineer, args=(args.port, n, s, stop, stats, accepted))
                   for n, s in zip(names, shares)]
        threads += [threading.Thread(target=tiles, args=(args.port, stop, stats, i)) for i in range(4)]
        threads += [threading.Thread(target=items, args=(args.port, stop, stats, i)) for i in (1, 2)]
        threads += [threading.Thread(target=pages, args=(args.port, stop, stats, i, codes)) for i in (1, 2)]
        threads.append(threading.Thread(target=exporter, args=(args.port, stop, stats, exported)))
        for t in threads:
            t.start()
        time.sleep(15)
        rss_start = rss_kib(server.pid)
        samples = [rss_start]
        deadline = time.monotonic() + args.minutes * 60
        while time.monotonic() < deadline:
            time.sleep(min(30, max(0, deadline - time.monotonic())))
            samples.append(rss_kib(server.pid))
        stop.set()
        for t in threads:
            t.join()
        rss_end = rss_kib(server.pid)
    finally:
        stop.set()
        server.terminate()
        server.wait()

    history = int(psql(args.db, "SELECT count(*) FROM progress_history")[0][0]) - history_before
    audit = int(psql(args.db, "SELECT count(*) FROM audit_log WHERE action = 'site.progress'")[0][0]) - audit_before
    failures = 0
    print(f"{'route':40} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for route in sorted(stats.latencies):
        lat = stats.latencies[route]
        statuses = dict(sorted(stats.statuses[route].items()))
        failures += sum(n for s, n in statuses.items() if s >= 500 or s == 0)
        print(f"{route:40} {len(lat):>9} {pct(lat, .5) * 1000:>8.1f} {pct(lat, .99) * 1000:>8.1f}  {statuses}")
    print(f"exports: {len(exported)} of about {sum(exported) / max(1, len(exported)) / 1e6:.0f} MB each")
    print(f"server RSS: {rss_start / 1024:.0f} MiB after warm-up, {rss_end / 1024:.0f} MiB at the end; "
          f"every 30 s (MiB): {' '.join(f'{s / 1024:.0f}' for s in samples)}")
    print("  (bounded caches fill first: tiles up to KVPT_TILE_CACHE_MB, 256 MiB by default, "
          "and the ids of recent item queries, 64 MiB)")
    lost = not (history == accepted[0] == audit)
    print(f"updates: {accepted[0]} accepted, history rows +{history}, audit rows +{audit}: "
          f"{'LOST OR EXTRA UPDATES' if lost else 'none lost'}")
    print(f"5xx or failed requests: {failures}")
    verdict = subprocess.run([args.kvpt, "audit", "verify"], env={**os.environ, "DATABASE_URL": args.db},
                             capture_output=True, text=True)
    print(verdict.stdout.strip() or verdict.stderr.strip())
    if failures or lost or verdict.returncode != 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
