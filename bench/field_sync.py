#!/usr/bin/env python3
"""Issue 20's sync benchmark: a phone's queue of 200 updates and 20 photos (1600 px JPEG,
drawn like site photos) sent after the network returns, with a 2 s cut when half is left,
on loopback (goal ≤ 10 s) and under Chromium's Fast 3G profile (goal ≤ 90 s). Each run
checks in PostgreSQL that every update was applied exactly once and every photo stored once.
Drives bench/field_sync.mjs (Playwright, Debian's Chromium).

    python3 bench/field_sync.py --kvpt target/release/kvpt --db "<libpq key=value>" [--runs 3]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from progress import PASSWORD, Client, add_user, free_port, psql  # noqa: E402
from serve import arguments  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def counts(db, user):
    history, photos = psql(db, f"""SELECT (SELECT count(*) FROM progress_history h JOIN app_user u ON u.id = h.recorded_by
                                            WHERE u.username = '{user}'),
                                           (SELECT count(*) FROM site_photo p JOIN app_user u ON u.id = p.uploaded_by
                                            WHERE u.username = '{user}')""")[0]
    return int(history), int(photos)


def main():
    ap = arguments(port=18086)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--networks", default="loopback,fast3g")
    args = ap.parse_args()
    free_port(args.port)
    env = {**os.environ, "DATABASE_URL": args.db, "KVPT_ADDR": f"127.0.0.1:{args.port}", "RUST_LOG": "warn"}
    server = subprocess.Popen([args.kvpt, "serve"], env=env, stdout=subprocess.DEVNULL)
    results = {}
    try:
        for _ in range(100):
            try:
                if Client(args.port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        print(f"== field sync: {args.updates} queued updates and {args.photos} photos, a 2 s cut at half")
        for network in args.networks.split(","):
            times = []
            for run in range(args.runs):
                # A fresh engineer and sites each run: every update applies (percent up by one).
                user = f"bench.f{time.strftime('%H%M%S')}{run}{network[:2]}"
                add_user(args.kvpt, args.db, user, "engineer", "TBI")
                rows = psql(args.db, f"""SELECT s.code, s.version, s.progress_pct FROM site s
                                           JOIN admin_unit d ON d.id = s.district_id
                                          WHERE d.abbr = 'TBI' AND s.status = 'under_construction'
                                            AND s.progress_pct < 90
                                          ORDER BY random() LIMIT {args.updates // 2}""")
                sites = [{"code": c, "version": int(v), "percent": int(p)} for c, v, p in rows]
                with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                    json.dump(sites, f)
                before = counts(args.db, user)
                out = subprocess.run(["node", os.path.join(HERE, "field_sync.mjs"), f"http://127.0.0.1:{args.port}",
                                      user, PASSWORD, f.name, network, str(args.updates), str(args.photos)],
                                     capture_output=True, text=True)
                os.unlink(f.name)
                report = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}
                if not report.get("ok"):
                    sys.exit(f"{network} run {run + 1} failed: {report or out.stderr[-2000:]}")
                after = counts(args.db, user)
                applied = (after[0] - before[0], after[1] - before[1])
                once = applied == (args.updates, args.photos)
                times.append(report["seconds"])
                print(f"{network} run {run + 1}: {report['seconds']:.1f} s, "
                      f"{report['queued']['photo_bytes'] / 1024 / 1024:.1f} MB of photos, "
                      f"applied {applied[0]} updates and {applied[1]} photos "
                      f"({'exactly once' if once else 'NOT exactly once'})", flush=True)
                if not once:
                    sys.exit("an update or photo was lost or doubled")
            results[network] = statistics.median(times)
            print(f"{network}: median {results[network]:.1f} s over {args.runs} runs")
    finally:
        server.terminate()
        server.wait()
    os.makedirs(os.path.join(os.path.dirname(HERE), "target", "bench"), exist_ok=True)
    with open(os.path.join(os.path.dirname(HERE), "target", "bench", "field_sync.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
