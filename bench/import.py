#!/usr/bin/env python3
"""Import benchmark (issue 5): a GeoPackage of every work (100 000 in `make bench`),
exported by kvpt, imported with full validation into an empty database (every row
checked and inserted, with history and audit), and checked again as a dry run against the
database it came from (every row matched by code and found unchanged). Target: under 60 s.

    python3 bench/import.py --kvpt target/release/kvpt --db "host=… dbname=bench"
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from serve import arguments, log, psql  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = 3


def timed(cmd, env):
    """Wall seconds and peak RSS (KiB) of `cmd`, with its output."""
    start = time.monotonic()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    peak = int(out.stderr.strip().splitlines()[-1]) if out.stderr.strip() else 0
    return wall, peak, out


def main():
    parser = arguments()
    args = parser.parse_args()
    sites = int(psql(args.db, "SELECT count(*) FROM site").strip())
    if not psql(args.db, "SELECT 1 FROM export_profile WHERE name = 'qk7'").strip():
        psql(args.db, open(os.path.join(ROOT, "sql", "demo", "profiles.sql")).read())
    work = tempfile.mkdtemp(prefix="kvpt-bench-import-")
    gpkg = os.path.join(work, "works.gpkg")
    env = dict(os.environ, DATABASE_URL=args.db, RUST_LOG="warn")
    subprocess.run([args.kvpt, "export", "--profile", "qk7", "-o", gpkg], env=env, check=True,
                   capture_output=True)
    log(f"== import of a GeoPackage of {sites} works ({os.path.getsize(gpkg) // (1 << 20)} MiB), "
        f"{RUNS} runs each")
    empty_db = re.sub(r"dbname=\S+", "dbname=bench_import", args.db)
    admin_db = re.sub(r"dbname=\S+", "dbname=postgres", args.db)
    inserts, checks = [], []
    for run in range(1, RUNS + 1):
        psql(admin_db, "DROP DATABASE IF EXISTS bench_import WITH (FORCE)")
        psql(admin_db, "CREATE DATABASE bench_import")
        subprocess.run([args.kvpt, "geodata", "load"], env=dict(env, DATABASE_URL=empty_db),
                       check=True, capture_output=True)
        wall, peak, out = timed([args.kvpt, "import", gpkg, "--lang", "en"], dict(env, DATABASE_URL=empty_db))
        total = [line for line in out.stdout.splitlines() if line.startswith("total:")]
        if out.returncode != 0 or not total or "COMMITTED" not in total[0]:
            sys.exit(f"import failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
        inserts.append(wall)
        log(f"run {run}: into an empty database {wall:.1f} s wall, {peak // 1024} MiB peak RSS; {total[0]}")
        wall, peak, out = timed([args.kvpt, "import", gpkg, "--dry-run", "--lang", "en"], env)
        total = [line for line in out.stdout.splitlines() if line.startswith("total:")]
        if out.returncode != 0:
            sys.exit(f"dry run failed: {out.stdout[-2000:]}")
        checks.append(wall)
        log(f"run {run}: dry run against its own database {wall:.1f} s wall, {peak // 1024} MiB peak RSS; {total[0]}")
    psql(admin_db, "DROP DATABASE IF EXISTS bench_import WITH (FORCE)")
    median = statistics.median(inserts)
    log(f"import median {median:.1f} s (target < 60 s: {60 / median:.1f}× under), "
        f"dry-run median {statistics.median(checks):.1f} s")


if __name__ == "__main__":
    main()
