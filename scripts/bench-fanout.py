#!/usr/bin/env python3
"""A whole local export run once as a single run and again fanned out over slices, side by side.

Usage: python3 scripts/bench-fanout.py [--posts 10000000] [--keep DIR] [--slices 1,5,8]
                                       [--format csv]

1. Builds `sde` in release mode and imports the generated posts once into DIR/posts-<N> (a
   temporary folder unless --keep names one; kept folders are reused, as scripts/bench-export.py
   keeps them).
2. For each slice count, starts `sde serve` over that data with `--export-rows-per-slice` set so
   a match-all export of every post is cut into that many slices (1: the single run), asks for
   it through the API as the page does (`POST /download-request`, type `direct`), polls
   `/report-status` until it succeeds, downloads the file and counts its rows.
3. Prints, per run: the slices, wall seconds from the request to SUCCEEDED, rows/s, CPU seconds
   the server spent, the server's resident memory before the export and its peak (VmHWM; it
   includes the index's memory-mapped pages the export touched), and the rows in the file, which
   must be every post.

The local stack runs at most 8 slices at once (the state machine's Map MaxConcurrency), on as
many cores as the machine has: on 2 vCPUs expect about 2x, not 8x (the 8x of
`fanout_latency` comes from waiting on a remote cluster, which overlaps; CPU does not).
Each export's file is deleted with its server's data when the run ends (`--keep` keeps only the
index).
"""
import argparse
import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/sde-target"))
SDE = os.path.join(TARGET, "release", "sde")
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, body, token=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", token)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def memory_mib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def import_posts(data_dir, posts):
    marker = os.path.join(data_dir, "imported-record")
    if os.path.exists(marker):
        return
    shutil.rmtree(os.path.join(data_dir, "index"), ignore_errors=True)
    started = time.monotonic()
    subprocess.run([SDE, "import", "--count", str(posts), "--data-dir", data_dir], check=True,
                   stdout=subprocess.DEVNULL)
    open(marker, "w").close()
    print(f"imported {posts} posts: {time.monotonic() - started:.0f} s (setup, untimed)")


def count_rows(url, fmt):
    """Rows in the file at `url`: CSV records as a CSV reader sees them (a post's text may hold
    line breaks), the header not counted; NDJSON lines."""
    with urllib.request.urlopen(url, timeout=600) as response:
        if fmt == "ndjson":
            lines = 0
            while chunk := response.read(1 << 20):
                lines += chunk.count(b"\n")
            return lines
        text = io.TextIOWrapper(response, encoding="utf-8-sig", newline="")
        return sum(1 for _ in csv.reader(text)) - 1


def one_export(index_dir, posts, slices, fmt):
    """Serves a copy-free view of the data (the index is opened read-mostly; files and records go
    to a fresh folder) and runs one export; returns its figures."""
    data_dir = tempfile.mkdtemp(prefix="sde-bench-fanout-")
    os.symlink(os.path.join(index_dir, "index"), os.path.join(data_dir, "index"))
    rows_per_slice = -(-posts // slices) if slices > 1 else posts * 10
    port = free_port()
    log = open(os.path.join(tempfile.gettempdir(), "sde-bench-fanout-serve.log"), "w")
    server = subprocess.Popen(
        [SDE, "serve", "--addr", f"127.0.0.1:{port}", "--seed-posts", "0", "--data-dir", data_dir,
         "--digest-time", "off", "--export-rows-per-slice", str(rows_per_slice)],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                token = call(f"{base}/auth/token", {"email": "bench@example.com"})["idToken"]
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("sde serve did not start; see " + log.name)
        before = memory_mib(server.pid, "VmRSS")
        cpu_before = cpu_seconds(server.pid)
        started = time.monotonic()
        body = {"type": "direct", "format": fmt,
                "searchCriteria": {"type": "posts", "results": 10, "page": 0, "search": []}}
        arn = call(f"{base}/download-request", body, token)["executionArn"]
        while True:
            status = call(f"{base}/report-status", {"executionArn": arn}, token)
            if status["status"] != "RUNNING":
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
        if status["status"] != "SUCCEEDED":
            sys.exit(f"the export ended {status}")
        figures = {
            "slices": slices, "seconds": seconds, "cpu": cpu_seconds(server.pid) - cpu_before,
            "rss_before": before, "peak": memory_mib(server.pid, "VmHWM"),
            "rows": count_rows(status["reportURL"], fmt),
        }
        return figures
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=10_000_000)
    parser.add_argument("--keep", help="keep the imported index in this folder")
    parser.add_argument("--slices", default="1,5,8")
    parser.add_argument("--format", default="csv", choices=["csv", "ndjson"])
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "sde"], cwd=ROOT, check=True)
    root = args.keep or tempfile.mkdtemp(prefix="sde-bench-fanout-posts-")
    index_dir = os.path.join(root, f"posts-{args.posts}")
    os.makedirs(index_dir, exist_ok=True)
    import_posts(index_dir, args.posts)
    print(f"{'slices':>6} {'wall s':>8} {'rows/s':>10} {'server CPU s':>12} "
          f"{'RSS before MiB':>14} {'peak RSS MiB':>12} {'rows in file':>12}")
    try:
        for slices in (int(n) for n in args.slices.split(",")):
            f = one_export(index_dir, args.posts, slices, args.format)
            print(f"{f['slices']:>6} {f['seconds']:>8.1f} {f['rows'] / f['seconds']:>10,.0f} "
                  f"{f['cpu']:>12.1f} {f['rss_before']:>14.0f} {f['peak']:>12.0f} "
                  f"{f['rows']:>12,}{'' if f['rows'] == args.posts else '  ✘ not every post'}",
                  flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
