#!/usr/bin/env python3
"""Issue 22 §3: the cold tile path against the naive SQL, run by `make bench` on the
database of the demo-load bench (100 000 sites).

Every z14 tile touching the province for the six site layers (most of them empty), as a
viewer cleared for internal: kvpt with its tile cache off (KVPT_TILE_CACHE_MB=0, every
tile made by PostgreSQL) through wrk with 64 connections, against the naive tile SQL
(bench/naive_tile_sites.sql: one query per tile, transforming every work's geometry and
joining its district) through pgbench with 64 clients (no HTTP at all), alternating, three
runs each; medians and their ratio. Writes target/bench/tile_cold.json.

    python3 bench/tile_cold.py --kvpt target/release/kvpt --db "host=… user=… dbname=bench"
"""

import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve  # noqa: E402
from progress import free_port  # noqa: E402


def install_naive(db):
    """The naive SQL as functions pgbench calls (as serve.install_functions does)."""
    with open(os.path.join(serve.ROOT, "bench", "naive_tile_sites.sql")) as f:
        body = re.sub(r"^--.*$", "", f.read(), flags=re.M)
    for layer in serve.LAYERS:
        sql = (body.replace("$1", "z").replace("$2", "x").replace("$3", "y")
               .replace("$4", f"'{layer}'").replace("$5", "'internal'"))
        serve.psql(db, f"CREATE OR REPLACE FUNCTION bench_{layer}(z integer, x integer, y integer) "
                       f"RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $body$ {sql} $body$")


def main():
    ap = serve.arguments(port=18085)
    args = ap.parse_args()
    free_port(args.port)
    os.makedirs(serve.OUT, exist_ok=True)
    base = f"http://127.0.0.1:{args.port}"
    tiles = [t for t in serve.tile_list(args.db) if t[1] == 14]
    paths = [f"/tiles/{l}/{z}/{x}/{y}.mvt" for (l, z, x, y) in tiles]
    serve.log(f"== cold z14 tiles: {len(tiles)} tiles of six layers over the province, tile cache off, "
              f"{serve.CONNECTIONS} connections, {serve.RUNS} × {serve.DURATION} s runs, alternating with pgbench")
    install_naive(args.db)
    kvpt = serve.start_kvpt(args.kvpt, args.db, args.port, KVPT_TILE_CACHE_MB="0")
    kvpt_runs, pg_runs = [], []
    try:
        serve.sign_in_internal_planner(args.kvpt, args.db, base)
        serve.wrk(base, paths, 10)
        for _ in range(serve.RUNS):
            kvpt_runs.append(serve.wrk(base, paths, serve.DURATION, latency=True))
            serve.log(f"  kvpt, cache off: {kvpt_runs[-1]['rps']:,.0f} tiles/s, p50 {kvpt_runs[-1].get('p50_ms', 0):.2f} ms, "
                      f"{kvpt_runs[-1]['errors']} errors")
            saved = serve.RUNS
            serve.RUNS = 1
            pg_runs.append(serve.pgbench(args.db, tiles)["median_rps"])
            serve.RUNS = saved
    finally:
        kvpt.stop()
    k = statistics.median(r["rps"] for r in kvpt_runs)
    p = statistics.median(pg_runs)
    serve.log(f"-- medians: kvpt {k:,.0f} tiles/s, naive SQL through pgbench {p:,.0f} tiles/s: {k / p:.2f}× (goal ≥ 3×)")
    with open(os.path.join(serve.OUT, "tile_cold.json"), "w") as f:
        json.dump({"tiles": len(tiles), "kvpt": kvpt_runs, "pgbench": pg_runs, "ratio": k / p}, f, indent=1)


if __name__ == "__main__":
    main()
