#!/usr/bin/env python3
"""Issue 22 §1: tiles served while engineers edit, run by `make bench` on the database of
the demo-load bench (100 000 sites).

wrk (64 connections, a signed-in viewer cleared for secret) cycles a fixed list of the
z12–z13 tiles of the six site layers over the province while one engineer PATCHes the
progress of random works at 0, 1 and 5 edits per second. Each edit is checked for
freshness: the z13 tile holding the work is read just before the PATCH and again right
after its 200, and must have changed (its ETag moves only with its content). Three runs of
each rate, in turn; medians. Prints a report and writes target/bench/tile_edits.json.

    python3 bench/tile_edits.py --kvpt target/release/kvpt --db "host=… user=… dbname=bench"
"""

import http.client
import json
import math
import os
import random
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve  # noqa: E402  (servers, wrk, sign-in)
from progress import Client, add_user, free_port  # noqa: E402

RATES = [0, 1, 5]
WEST, SOUTH, EAST, NORTH = 105.8, 10.9, 106.5, 11.8


def tile_of(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    lat = math.radians(lat)
    y = int((1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * n)
    return x, y


def tile_list():
    paths = []
    for z in (12, 13):
        x0, y0 = tile_of(WEST, NORTH, z)
        x1, y1 = tile_of(EAST, SOUTH, z)
        for layer in serve.LAYERS:
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    paths.append(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    random.Random(22).shuffle(paths)
    return paths


def editable_sites(db, limit):
    """Works an engineer may raise, in the province, in a fixed random order: code, layer
    and a point of each."""
    return [
        {"code": r[0], "layer": r[1], "lon": float(r[2]), "lat": float(r[3])}
        for r in (line.split("|") for line in serve.psql(db, f"""
            SELECT s.code, k.layer_group, ST_X(ST_PointOnSurface(s.geom)), ST_Y(ST_PointOnSurface(s.geom))
              FROM site s JOIN site_kind k ON k.code = s.kind
             WHERE s.status NOT IN ('completed', 'handed_over', 'cancelled', 'suspended')
               AND k.layer_group <> 'search_zones' AND s.district_id IS NOT NULL
               AND s.geom && ST_MakeEnvelope({WEST}, {SOUTH}, {EAST}, {NORTH}, 4326)
             ORDER BY md5(s.code) LIMIT {limit}""").splitlines())
    ]


class Editor(threading.Thread):
    """One engineer editing at `rate` per second until stopped, checking each edit's tile."""

    def __init__(self, port, username, sites, rate, viewer_cookie):
        super().__init__(daemon=True)
        self.port, self.username, self.sites, self.rate = port, username, sites, rate
        self.viewer_cookie = viewer_cookie
        self.stop = threading.Event()
        self.ok = self.fresh = self.stale = self.failed = 0

    def tile_etag(self, conn, path):
        conn.request("GET", path, headers={"Cookie": self.viewer_cookie})
        r = conn.getresponse()
        r.read()
        return r.getheader("ETag")

    def run(self):
        client = Client(self.port)
        csrf = client.sign_in(self.username)
        viewer = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        rng = random.Random(self.rate)
        next_at = time.monotonic()
        while not self.stop.is_set():
            next_at += 1 / self.rate
            site = self.sites[rng.randrange(len(self.sites))]
            x, y = tile_of(site["lon"], site["lat"], 13)
            path = f"/tiles/{site['layer']}/13/{x}/{y}.mvt"
            status, data = client.request("GET", f"/api/sites/{site['code']}/progress")
            state = json.loads(data)
            before = self.tile_etag(viewer, path)
            percent = state["percent"] + 1 if state["percent"] < 99 else 1
            body = json.dumps({"version": state["version"], "percent": percent})
            status, data = client.request("PATCH", f"/api/sites/{site['code']}/progress", body,
                                          {"X-CSRF-Token": csrf, "Content-Type": "application/json"})
            if status == 200:
                self.ok += 1
                if self.tile_etag(viewer, path) != before:
                    self.fresh += 1
                else:
                    self.stale += 1
            else:
                self.failed += 1
            self.stop.wait(max(0.0, next_at - time.monotonic()))


def main():
    ap = serve.arguments(port=18083)
    args = ap.parse_args()
    free_port(args.port)
    os.makedirs(serve.OUT, exist_ok=True)
    base = f"http://127.0.0.1:{args.port}"
    paths = tile_list()
    sites = editable_sites(args.db, 5000)
    total = serve.psql(args.db, "SELECT count(*) FROM site").strip()
    serve.log(f"== tiles while editing: {len(paths)} z12–z13 tiles of six layers, {total} sites, "
              f"{serve.CONNECTIONS} connections, edits at {RATES} per second, "
              f"{serve.RUNS} × {serve.DURATION} s runs of each after a warm-up")
    districts = ",".join(serve.psql(args.db, "SELECT abbr FROM admin_unit WHERE level = 'district' ORDER BY abbr").split())
    engineer = f"bench.edit{time.strftime('%H%M%S')}"
    add_user(args.kvpt, args.db, engineer, "engineer", districts)
    kvpt = serve.start_kvpt(args.kvpt, args.db, args.port)
    results = {rate: [] for rate in RATES}
    checks = {rate: {"ok": 0, "fresh": 0, "stale": 0, "failed": 0} for rate in RATES}
    try:
        serve.sign_in_internal_planner(args.kvpt, args.db, base, clearance="secret")
        cookie = serve.HEADERS[base][0].split(": ", 1)[1]
        serve.wrk(base, paths, 20)  # warm: every tile once at least
        for run in range(serve.RUNS):
            for rate in RATES:
                editor = None
                if rate:
                    editor = Editor(args.port, engineer, sites, rate, cookie)
                    editor.start()
                result = serve.wrk(base, paths, serve.DURATION, latency=True)
                if editor:
                    editor.stop.set()
                    editor.join()
                    for key in checks[rate]:
                        checks[rate][key] += getattr(editor, key)
                results[rate].append(result)
                serve.log(f"  run {run + 1}, {rate} edits/s: {result['rps']:,.0f} tiles/s, "
                          f"p50 {result.get('p50_ms', 0):.2f} ms, {result['errors']} errors"
                          + (f"; {editor.ok} edits, {editor.fresh} fresh, {editor.stale} stale" if editor else ""))
    finally:
        kvpt.stop()
    summary = {}
    for rate in RATES:
        rps = statistics.median(r["rps"] for r in results[rate])
        p50 = statistics.median(r.get("p50_ms", 0) for r in results[rate])
        summary[rate] = {"rps": rps, "p50_ms": p50, **checks[rate]}
    base_rps = summary[0]["rps"]
    serve.log("-- medians")
    for rate in RATES:
        s = summary[rate]
        serve.log(f"  {rate} edits/s: {s['rps']:,.0f} tiles/s ({s['rps'] / base_rps:.0%} of no edits), "
                  f"p50 {s['p50_ms']:.2f} ms" + (f"; {s['ok']} edits, {s['fresh']} fresh right after, "
                                                 f"{s['stale']} stale, {s['failed']} refused" if rate else ""))
    with open(os.path.join(serve.OUT, "tile_edits.json"), "w") as f:
        json.dump({"tiles": len(paths), "runs": results, "summary": summary}, f, indent=1)
    if any(summary[r]["stale"] for r in RATES):
        sys.exit("a tile read right after an acknowledged edit did not carry it")


if __name__ == "__main__":
    main()
