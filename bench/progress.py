#!/usr/bin/env python3
"""Progress updates and dashboards on a loaded database (issue 4's figures).

- 32 engineers (threads, one keep-alive connection each) send PATCH
  /api/sites/{code}/progress for sites of their own, each update raising the percent by
  one from the version the previous answer gave; reports accepted updates per second,
  latency percentiles, and checks the history and audit rows equal the accepted updates.
- /dashboard (now and as of 31/12/2023) rendered sequentially by a signed-in planner:
  median and p90 of several runs.

Usage: bench/progress.py --kvpt target/release/kvpt --db "<libpq key=value of the bench db>"
"""

import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from serve import arguments  # noqa: E402

PASSWORD = "bench-mật-khẩu-2025"


def psql(db, sql):
    out = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", db, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def free_port(port):
    import socket
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            sys.exit(f"port {port} is taken: stop whatever listens there first")


class Client:
    """One keep-alive connection with a cookie jar of one cookie name per value."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";")[0]
        return response.status, data

    def sign_in(self, username):
        status, page = self.request("GET", "/login")
        csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', page).group(1).decode()
        form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf": csrf, "next": "/"})
        status, _ = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 303, f"sign-in of {username}: {status}"
        status, me = self.request("GET", "/api/me")
        return json.loads(me)["csrf_token"]


def add_user(kvpt, db, username, role, districts=None):
    cmd = [kvpt, "user", "add", username, "--name", username, "--role", role, "--clearance", "secret"]
    if districts:
        cmd += ["--districts", districts]
    subprocess.run(cmd, input=PASSWORD + "\n", text=True, check=True, capture_output=True,
                   env={**os.environ, "DATABASE_URL": db})


def engineer(port, username, sites, deadline, results):
    client = Client(port)
    csrf = client.sign_in(username)
    ok = conflicts = other = 0
    latencies = []
    i = 0
    while time.monotonic() < deadline and i < len(sites):
        site = sites[i]
        if site["pct"] >= 99:
            i += 1
            continue
        body = json.dumps({"version": site["version"], "percent": site["pct"] + 1})
        t0 = time.perf_counter()
        status, data = client.request("PATCH", f"/api/sites/{site['code']}/progress", body,
                                      {"X-CSRF-Token": csrf, "Content-Type": "application/json"})
        latencies.append(time.perf_counter() - t0)
        if status == 200:
            ok += 1
            answer = json.loads(data)["site"]
            site["version"], site["pct"] = answer["version"], answer["percent"]
        elif status == 409:
            conflicts += 1
            site["version"] = json.loads(data)["current"]["version"]
        else:
            other += 1
            print(f"{username}: {status} {data[:200]!r}", file=sys.stderr)
            i += 1
    results.append((ok, conflicts, other, latencies))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main():
    ap = arguments(port=18082)
    ap.add_argument("--engineers", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--dashboard-runs", type=int, default=15)
    ap.add_argument("--wrk", default=shutil.which("wrk"), help="wrk to drive the updates (else Python threads)")
    args = ap.parse_args()
    free_port(args.port)
    sites_total = psql(args.db, "SELECT count(*) FROM site")[0][0]
    # As autovacuum would have by the time planners look: all-visible pages, so the "as of"
    # history lookups are index-only.
    psql(args.db, "VACUUM (ANALYZE) site, progress_history, budget_line, budget_history")
    print(f"== progress updates and dashboards on {sites_total} sites")
    run = time.strftime("%H%M%S")
    districts = ",".join(r[0] for r in psql(args.db, "SELECT abbr FROM admin_unit WHERE level = 'district' ORDER BY abbr"))
    names = [f"bench.e{run}.{n}" for n in range(args.engineers)]
    for name in names:
        add_user(args.kvpt, args.db, name, "engineer", districts)
    planner = f"bench.v{run}"
    add_user(args.kvpt, args.db, planner, "viewer")
    env = {**os.environ, "DATABASE_URL": args.db, "KVPT_ADDR": f"127.0.0.1:{args.port}", "RUST_LOG": "warn"}
    server = subprocess.Popen([args.kvpt, "serve"], env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if Client(args.port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        # Sites under construction with room to grow, shared out without overlap.
        rows = psql(args.db, f"""SELECT code, version, progress_pct FROM site
                                  WHERE status = 'under_construction' AND progress_pct < 60
                                    AND district_id IS NOT NULL
                                  ORDER BY id LIMIT {args.engineers * 200}""")
        sites = [{"code": c, "version": int(v), "pct": int(p)} for c, v, p in rows]
        shares = [sites[i::args.engineers] for i in range(args.engineers)]
        history_before = int(psql(args.db, "SELECT count(*) FROM progress_history")[0][0])
        audit_before = int(psql(args.db, "SELECT count(*) FROM audit_log WHERE action = 'site.progress'")[0][0])
        start = time.monotonic()
        if args.wrk:
            # wrk drives the 32 connections (one per engineer's turn): the load generator
            # then costs little of the two cores kvpt and PostgreSQL share.
            lines = []
            for n, share in zip(names, shares):
                client = Client(args.port)
                csrf = client.sign_in(n)
                cookie = f"kvpt_session={client.cookies['kvpt_session']}"
                lines.append([f"{cookie} {csrf} {s['code']} {s['version']} {s['pct']}" for s in share])
            interleaved = [l for group in zip(*lines) for l in group]
            sites_file = "/tmp/kvpt-bench-progress-sites.txt"
            with open(sites_file, "w") as f:
                f.write("\n".join(interleaved) + "\n")
            out = subprocess.run([args.wrk, "-t2", f"-c{args.engineers}", f"-d{int(args.seconds)}s", "--timeout", "10s",
                                  "-s", os.path.join(os.path.dirname(__file__), "progress.lua"),
                                  f"http://127.0.0.1:{args.port}"],
                                 env={**os.environ, "SITES": sites_file, "THREADS": "2"},
                                 check=True, capture_output=True, text=True).stdout
            elapsed = time.monotonic() - start
            ok, conflicts, other = map(int, re.search(r"accepted (\d+) conflicts (\d+) other (\d+)", out).groups())
            p50, p99 = (float(re.search(rf"latency p{p} ([\d.]+) ms", out).group(1)) for p in (50, 99))
            rate = ok / args.seconds
        else:
            results = []
            deadline = start + args.seconds
            threads = [threading.Thread(target=engineer, args=(args.port, n, s, deadline, results))
                       for n, s in zip(names, shares)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - start
            ok = sum(r[0] for r in results)
            conflicts = sum(r[1] for r in results)
            other = sum(r[2] for r in results)
            latencies = [l for r in results for l in r[3]]
            p50, p99 = pct(latencies, .5) * 1000, pct(latencies, .99) * 1000
            rate = ok / elapsed
        history = int(psql(args.db, "SELECT count(*) FROM progress_history")[0][0]) - history_before
        audit = int(psql(args.db, "SELECT count(*) FROM audit_log WHERE action = 'site.progress'")[0][0]) - audit_before
        if args.wrk:
            # wrk stops with up to one update per connection in flight: those commit too.
            in_flight_ok = ok <= history <= ok + args.engineers
            ok, rate = history, history / args.seconds
        else:
            in_flight_ok = history == ok
        print(f"updates ({'wrk' if args.wrk else 'python threads'}): {ok} accepted in {args.seconds:.0f} s = {rate:.0f}/s "
              f"with {args.engineers} engineers ({conflicts} conflicts, {other} other); latency p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms")
        print(f"history rows +{history}, audit rows +{audit}: "
              f"{'complete' if history == audit and in_flight_ok else 'MISMATCH'}")
        client = Client(args.port)
        client.sign_in(planner)
        # Cold: each run asks with another stale-days threshold, so nothing cached serves it
        # and PostgreSQL computes every figure. Warm: the same page again, served from the
        # cache kvpt keeps per data version.
        for path in ["/dashboard", "/dashboard?as_of=2023-12-31"]:
            sep = "&" if "?" in path else "?"
            for label, variant in [("cold", lambda i: f"{path}{sep}stale={100 + i}"), ("warm", lambda i: path)]:
                client.request("GET", variant(-1))
                times = []
                for i in range(args.dashboard_runs):
                    t0 = time.perf_counter()
                    status, _ = client.request("GET", variant(i))
                    times.append(time.perf_counter() - t0)
                    assert status == 200, status
                print(f"{path} ({label}): median {statistics.median(times) * 1000:.0f} ms, "
                      f"p90 {pct(times, .9) * 1000:.0f} ms ({args.dashboard_runs} runs)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
