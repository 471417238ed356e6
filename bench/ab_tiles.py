#!/usr/bin/env python3
"""Alternating A/B of kvpt builds on the tile list: each build serves on its own port (a
signed-in planner, as in serve.py), then wrk runs 10 s on each in turn, ROUNDS times.
Prints each build's runs and median in req/s. Not part of `make bench`: it is how a change
to the tile path is judged against run-to-run noise (BENCHMARKS.md).

Usage: bench/ab_tiles.py --db "<bench db>" old=/tmp/kvpt-old \
           new=target/release/kvpt [name=binary:ENV=value,...] [--rounds 6]
A build given KVPT_TLS_CERT (and KVPT_TLS_KEY) is measured over HTTPS (wrk, HTTP/1.1).
The tile list is serve.py's (written to target/bench/paths-tiles.txt when missing).
"""

import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import serve  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="libpq key=value string of the loaded database")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("builds", nargs="+", help="name=binary[:ENV=value,...]")
    args = ap.parse_args()
    listed = os.path.join(serve.OUT, "paths-tiles.txt")
    if not os.path.exists(listed):
        os.makedirs(serve.OUT, exist_ok=True)
        with open(listed, "w") as f:
            for (layer, z, x, y) in serve.tile_list(args.db):
                f.write(f"/tiles/{layer}/{z}/{x}/{y}.mvt\n")
    paths = [line.strip() for line in open(listed) if line.strip()]
    servers, bases = [], {}
    try:
        for i, build in enumerate(args.builds):
            name, rest = build.split("=", 1)
            binary, _, envs = rest.partition(":")
            extra = dict(e.split("=", 1) for e in envs.split(",") if e)
            port = 18101 + i
            env = {**os.environ, "DATABASE_URL": args.db, "KVPT_ADDR": f"127.0.0.1:{port}",
                   "RUST_LOG": "warn", **extra}
            servers.append(subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL))
            scheme = "https" if "KVPT_TLS_CERT" in extra else "http"
            base = f"{scheme}://127.0.0.1:{port}"
            serve.wait_for(base + "/healthz")
            serve.sign_in_internal_planner(binary, args.db, base)
            bases[name] = base
        for base in bases.values():
            serve.wrk(base, paths, 8)
        runs = {name: [] for name in bases}
        for _ in range(args.rounds):
            for name, base in bases.items():
                runs[name].append(serve.wrk(base, paths, 10)["rps"])
        for name, rps in runs.items():
            serve.log(name, [round(r) for r in rps], "median", round(statistics.median(rps)))
    finally:
        for server in servers:
            server.terminate()


if __name__ == "__main__":
    main()
