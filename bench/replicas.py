#!/usr/bin/env python3
"""Issue 23 §3: reads through a streaming standby against the primary, and how soon an edit
on the primary is seen through the standby. Run by `make bench` on the demo-load bench's
database, with a standby of that cluster (`kvpt db standby start`).

Two `kvpt serve` on the same database, the tile cache off (every tile is made by
PostgreSQL, which is what moves to the standby): P reads the primary, S reads through the
standby (`KVPT_REPLICA_URLS`). wrk (64 connections, a viewer cleared for secret) runs the
z14 tiles of the province, then items pages (limit=1000, bbox), on P and S in turn, three
times each; medians, and how many reads S's standby took (its /readyz). Then an engineer
raises the percent of random works through P, one at a time: for each, how long from the
PATCH's 200 until the standby holds the new percent (a loop on the standby, timed there)
and until S serves the work's z13 tile changed to a client that did not write (ETag moves).
Prints a report and writes target/bench/replicas.json.

    python3 bench/replicas.py --kvpt target/release/kvpt --db "host=… dbname=bench" \
        --standby "host=… port=… dbname=bench"
"""

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve  # noqa: E402
from progress import Client, add_user, free_port  # noqa: E402
from tile_edits import editable_sites, tile_of  # noqa: E402

EDITS = 100


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def standby_reads(base):
    with urllib.request.urlopen(base + "/readyz", timeout=10) as r:
        ready = json.loads(r.read())
    return ready["replicas"][0]["reads"], ready["replicas"][0]["state"]


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """CPU time (user + system) of these processes and their children, in seconds."""
    total = 0
    wanted = set(pids)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        if pid in wanted or ppid in wanted:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def postmaster(pgdata):
    with open(os.path.join(pgdata, "postmaster.pid")) as f:
        return int(f.readline())


def costs(base, paths, kvpt_pid, primary_pid, standby_pid, seconds=10):
    """One wrk run on `base`: requests/s and the CPU milliseconds per request spent by
    kvpt, the primary and the standby."""
    before = [cpu_seconds([p]) for p in (kvpt_pid, primary_pid, standby_pid)]
    result = serve.wrk(base, paths, seconds)
    after = [cpu_seconds([p]) for p in (kvpt_pid, primary_pid, standby_pid)]
    n = result["rps"] * seconds
    per = [(a - b) * 1000 / n for a, b in zip(after, before)]
    return {"rps": result["rps"], "kvpt_ms": per[0], "primary_ms": per[1], "standby_ms": per[2]}


def waiter(standby, code, percent):
    """A psql on the standby that loops until the work holds `percent`, then prints when."""
    # COMMIT in the loop: a snapshot held for the whole wait would stall the standby's
    # replay (a conflict with recovery), and with it the very change awaited.
    sql = (f"DO $$ BEGIN LOOP EXIT WHEN (SELECT progress_pct FROM site "
           f"WHERE code = '{code}') = {percent}; COMMIT; PERFORM pg_sleep(0.001); END LOOP; "
           f"RAISE NOTICE 'seen %', extract(epoch FROM clock_timestamp()); END $$")
    return subprocess.Popen(["psql", "-X", "-q", "-At", standby, "-c", "SET statement_timeout = '20s'",
                             "-c", sql],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def etag(conn, path, cookie):
    conn.request("GET", path, headers={"Cookie": cookie})
    r = conn.getresponse()
    r.read()
    return r.getheader("ETag")


def edits(args, p_port, s_base, s_cookie, sites, engineer):
    """Edits through P; per edit the delay to the standby and to S's tile, in ms."""
    client = Client(p_port)
    csrf = client.sign_in(engineer)
    s_port = int(s_base.rsplit(":", 1)[1])
    viewer = http.client.HTTPConnection("127.0.0.1", s_port, timeout=30)
    rng = random.Random(23)
    to_standby, to_tile = [], []
    for _ in range(EDITS):
        site = sites[rng.randrange(len(sites))]
        x, y = tile_of(site["lon"], site["lat"], 13)
        path = f"/tiles/{site['layer']}/13/{x}/{y}.mvt"
        status, data = client.request("GET", f"/api/sites/{site['code']}/progress")
        state = json.loads(data)
        percent = state["percent"] + 1 if state["percent"] < 99 else 1
        before = etag(viewer, path, s_cookie)
        w = waiter(args.standby, site["code"], percent)
        time.sleep(0.15)  # the waiter connected and looping
        body = json.dumps({"version": state["version"], "percent": percent})
        status, _ = client.request("PATCH", f"/api/sites/{site['code']}/progress", body,
                                   {"X-CSRF-Token": csrf, "Content-Type": "application/json"})
        acknowledged = time.time()
        if status != 200:
            w.kill()
            continue
        while etag(viewer, path, s_cookie) == before:
            if time.time() - acknowledged > 10:
                sys.exit(f"S never served the edited tile {path}")
            time.sleep(0.001)
        to_tile.append((time.time() - acknowledged) * 1000)
        _, err = w.communicate(timeout=30)
        seen = [line for line in err.splitlines() if "seen " in line]
        if not seen:
            sys.exit(f"the standby waiter failed: {err}")
        to_standby.append(max(0.0, (float(seen[0].rsplit(" ", 1)[1]) - acknowledged) * 1000))
    return to_standby, to_tile


def main():
    ap = serve.arguments(port=18090)
    ap.add_argument("--standby", required=True, help="the standby's libpq string, bench database")
    ap.add_argument("--primary-pgdata", help="the primary's data directory (CPU per request)")
    ap.add_argument("--standby-pgdata", help="the standby's data directory (CPU per request)")
    ap.add_argument("--edits-only", action="store_true", help="only the edit-to-standby delays")
    args = ap.parse_args()
    p_port, s_port = args.port, args.port + 1
    free_port(p_port)
    free_port(s_port)
    os.makedirs(serve.OUT, exist_ok=True)
    P, S = f"http://127.0.0.1:{p_port}", f"http://127.0.0.1:{s_port}"
    serve.psql(args.db, "VACUUM ANALYZE")
    tiles = [t for t in serve.tile_list(args.db) if t[1] == 14]
    tile_paths = [f"/tiles/{l}/{z}/{x}/{y}.mvt" for (l, z, x, y) in tiles]
    bboxes = ["106.0,11.2,106.3,11.5", "106.05,11.15,106.35,11.45", "105.95,11.25,106.25,11.55",
              "106.1,11.0,106.4,11.3"]
    items = [f"/collections/sites/items?limit=1000&bbox={b}" for b in bboxes]
    sites = editable_sites(args.db, 2000)
    total = serve.psql(args.db, "SELECT count(*) FROM site").strip()
    serve.log(f"== reads through a standby: {total} sites, tile cache off, {serve.CONNECTIONS} "
              f"connections, {serve.RUNS} × {serve.DURATION} s runs each, P and S in turn")
    districts = ",".join(serve.psql(args.db, "SELECT abbr FROM admin_unit WHERE level = 'district' ORDER BY abbr").split())
    engineer = f"bench.repl{time.strftime('%H%M%S')}"
    add_user(args.kvpt, args.db, engineer, "engineer", districts)
    servers = []
    report = {"sites": int(total), "tiles": len(tile_paths)}
    try:
        servers.append(serve.start_kvpt(args.kvpt, args.db, p_port, KVPT_TILE_CACHE_MB="0"))
        servers.append(serve.start_kvpt(args.kvpt, args.db, s_port, KVPT_TILE_CACHE_MB="0",
                                        KVPT_REPLICA_URLS=args.standby))
        serve.sign_in_internal_planner(args.kvpt, args.db, P, clearance="secret")
        serve.sign_in_internal_planner(args.kvpt, args.db, S, clearance="secret")
        for _ in range(100):
            reads, state = standby_reads(S)
            if state == "ready":
                break
            time.sleep(0.1)
        serve.log(f"  S's standby: {state}")
        if args.edits_only:
            to_standby, to_tile = edits(args, p_port, S, serve.HEADERS[S][0].split(": ", 1)[1], sites, engineer)
            for name, values in [("edit → on the standby", to_standby), ("edit → S's tile", to_tile)]:
                serve.log(f"  {name}: p50 {pct(values, 50):.1f} ms, p99 {pct(values, 99):.1f} ms, "
                          f"max {max(values):.1f} ms over {len(values)} edits")
            return
        serve.log(f"-- z14 tiles ({len(tile_paths)})")
        reads0, _ = standby_reads(S)
        report["primary_tiles"], report["standby_tiles"] = serve.measure_pair(
            ["P, primary", "S, standby"], [P, S], [tile_paths, tile_paths], latency=True)
        reads1, _ = standby_reads(S)
        serve.log("-- items (limit=1000, bbox)")
        report["primary_items"], report["standby_items"] = serve.measure_pair(
            ["P, primary", "S, standby"], [P, S], [items, items], latency=True)
        reads2, _ = standby_reads(S)
        report["standby_reads"] = {"tiles": reads1 - reads0, "items": reads2 - reads1}
        serve.log(f"  reads S sent to the standby: {reads1 - reads0:,} during the tile runs, "
                  f"{reads2 - reads1:,} during the items runs")
        if args.primary_pgdata and args.standby_pgdata:
            serve.log("-- CPU per request, one 10 s run each through S (kvpt, primary, standby)")
            pids = (servers[1].proc.pid, postmaster(args.primary_pgdata), postmaster(args.standby_pgdata))
            report["costs"] = {}
            for name, paths in [("z14 tiles", tile_paths), ("items", items)]:
                c = costs(S, paths, *pids)
                report["costs"][name] = c
                serve.log(f"  {name}: {c['rps']:,.0f} req/s; CPU ms per request: kvpt {c['kvpt_ms']:.3f}, "
                          f"primary {c['primary_ms']:.3f}, standby {c['standby_ms']:.3f}")
        serve.log(f"-- {EDITS} edits through P, each seen through the standby")
        s_cookie = serve.HEADERS[S][0].split(": ", 1)[1]
        to_standby, to_tile = edits(args, p_port, S, s_cookie, sites, engineer)
        report["edit_to_standby_ms"] = to_standby
        report["edit_to_s_tile_ms"] = to_tile
    finally:
        for server in servers:
            server.stop()
    t = i = report
    tile_ratio = t["standby_tiles"]["median_rps"] / t["primary_tiles"]["median_rps"]
    item_ratio = i["standby_items"]["median_rps"] / i["primary_items"]["median_rps"]
    report["tile_ratio"], report["item_ratio"] = tile_ratio, item_ratio
    serve.log("-- summary")
    serve.log(f"  tiles/s through the standby: {tile_ratio:.0%} of the primary's (goal ≥ 90 %)")
    serve.log(f"  items/s through the standby: {item_ratio:.0%} of the primary's (goal ≥ 90 %)")
    for name, values in [("edit → on the standby", to_standby), ("edit → S's tile", to_tile)]:
        serve.log(f"  {name}: p50 {pct(values, 50):.1f} ms, p99 {pct(values, 99):.1f} ms, "
                  f"max {max(values):.1f} ms over {len(values)} edits (goal p99 < 1000 ms)")
    with open(os.path.join(serve.OUT, "replicas.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
