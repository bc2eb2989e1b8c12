#!/usr/bin/env python3
"""Whole local exports from the embedded index, side by side with sqlite3, and /search under load.

Usage: python3 scripts/bench-export.py [--posts 1000000] [--keep DIR] [--repeat 3] [--no-sqlite]
                                       [--no-search]

1. Builds `sde` in release mode and imports the generated posts once into DIR/posts-<N> (a
   temporary folder unless --keep names one; kept folders are reused by later runs).
2. Exports match-all, `#aurora` and `zeppelin` in CSV and NDJSON to a file, printing rows, size,
   wall seconds, rows/s and peak RSS of each export (the child's ru_maxrss from wait4). Each
   export runs --repeat times and the fastest run is printed (sqlite3 likewise), since a shared
   virtual machine only ever makes a run slower; the peak RSS is the largest over the runs.
3. Side by side: the same posts in an sqlite3 FTS5 table (loaded once from `sde import
   --bulk-out`, untimed), exported with the `sqlite3` command line for the same queries (`-csv`,
   and `json_object` lines for NDJSON); prints the wall-time ratio sde/sqlite3 (below 1: sde is
   faster) and, in brackets, the CPU-time ratio, which a busy machine distorts less. Needs the
   sqlite3 shell: `apt-get install -y sqlite3`.
4. Starts `sde serve` on 127.0.0.1 over the same data and runs `wrk` (`apt-get install -y wrk`)
   against POST /search with scripts/bench-search.lua for --search-seconds, printing p50/p99
   latency and requests/s at 1, 2, 4 and 8 connections.

10M posts: `--posts 10000000 --keep ~/sde-bench` (the first import takes several minutes and
about 4 GB; the sqlite database as much again). Exported files go to a temporary folder and are
deleted after each export.
"""
import argparse
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/sde-target"))
SDE = os.path.join(TARGET, "release", "sde")
SEARCH_LUA = os.path.join(ROOT, "scripts", "bench-search.lua")

# (name, sde --query arguments, FTS5 match expression or None for every post)
QUERIES = [
    ("match-all", [], None),
    ("#aurora", ["--query", "#aurora"], "{Content Tags}: aurora"),
    ("zeppelin", ["--query", "zeppelin"], "{Content Tags}: zeppelin"),
]
COLUMNS_SQL = "UserID, DateCreated, Content, Tags"
NDJSON_SQL = ("json_object('UserID', UserID, 'DateCreated', DateCreated, 'Content', Content, "
              "'Tags', json(TagsJson))")


def run_measured(args, stdout_path):
    """Runs a command with stdout into a file; returns (wall seconds, peak RSS in MiB, CPU
    seconds: user + system)."""
    start = time.monotonic()
    # Each measured command runs in its own child so ru_maxrss belongs to it alone.
    pid = os.fork()
    if pid == 0:
        out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.execvp(args[0], args)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(args)}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def import_posts(data_dir, posts):
    # The marker names the index format: a kept folder from before posts were stored as one
    # record (sde-tantivy's `StoredPost`) is imported again.
    marker = os.path.join(data_dir, "imported-record")
    if os.path.exists(marker):
        return
    shutil.rmtree(os.path.join(data_dir, "index"), ignore_errors=True)
    log = os.path.join(tempfile.gettempdir(), "sde-bench-import.out")
    seconds, rss, _ = run_measured(
        [SDE, "import", "--count", str(posts), "--data-dir", data_dir], log)
    print(f"imported {posts} posts into the embedded index: {seconds:.1f} s, peak RSS {rss:.0f} MiB")
    open(marker, "w").close()


def build_sqlite(data_dir, posts):
    """Loads the same generated posts into an FTS5 table; returns the database path."""
    db = os.path.join(data_dir, "posts.sqlite")
    marker = db + ".complete"
    if os.path.exists(marker):
        return db
    if os.path.exists(db):
        os.remove(db)
    started = time.monotonic()
    fifo = os.path.join(tempfile.mkdtemp(prefix="sde-bench-fifo-"), "bulk.ndjson")
    os.mkfifo(fifo)
    # sde writes the `_bulk` NDJSON into the FIFO while this process reads it: nothing on disk.
    writer = subprocess.Popen([SDE, "import", "--count", str(posts), "--bulk-out", fifo],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("CREATE VIRTUAL TABLE posts USING fts5(uuid UNINDEXED, UserID UNINDEXED, "
                 "DateCreated UNINDEXED, Content, Tags, TagsJson UNINDEXED)")

    def rows(lines):
        for action in lines:
            source = json.loads(next(lines))
            tags = source.get("Tags", [])
            yield (json.loads(action)["index"]["_id"], source["UserID"], source["DateCreated"],
                   source["Content"], " ".join(tags), json.dumps(tags, ensure_ascii=False))

    with open(fifo, encoding="utf-8") as f:
        conn.executemany("INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?)", rows(iter(f)))
    conn.commit()
    conn.execute("INSERT INTO posts(posts) VALUES ('optimize')")
    conn.commit()
    conn.close()
    if writer.wait() != 0:
        sys.exit("sde import --bulk-out failed")
    shutil.rmtree(os.path.dirname(fifo))
    open(marker, "w").close()
    print(f"loaded {posts} posts into sqlite3 FTS5 (untimed setup): {time.monotonic() - started:.0f} s")
    return db


def sqlite_count(db, match):
    conn = sqlite3.connect(db)
    if match is None:
        (n,) = conn.execute("SELECT count(*) FROM posts").fetchone()
    else:
        (n,) = conn.execute("SELECT count(*) FROM posts WHERE posts MATCH ?", (match,)).fetchone()
    conn.close()
    return n


def sqlite_command(db, fmt, match):
    where = "" if match is None else f" WHERE posts MATCH '{match}'"
    if fmt == "csv":
        return ["sqlite3", "-batch", "-csv", "-header", db, f"SELECT {COLUMNS_SQL} FROM posts{where}"]
    return ["sqlite3", "-batch", "-list", "-noheader", db, f"SELECT {NDJSON_SQL} FROM posts{where}"]


def best_of(repeat, cmd, stdout):
    """Runs `cmd` `repeat` times: the fastest wall time with its CPU time, and the largest RSS."""
    runs = [run_measured(cmd, stdout) for _ in range(repeat)]
    seconds, _, cpu = min(runs)
    return seconds, max(rss for _, rss, _ in runs), cpu


def run_exports(data_dir, db, repeat):
    out_dir = tempfile.mkdtemp(prefix="sde-bench-out-")
    stdout = os.path.join(out_dir, "stdout")
    header = (f"{'query':<11}{'format':<8}{'rows':>10}{'MB':>8}{'sde s':>8}{'cpu s':>7}{'rows/s':>12}"
              f"{'RSS MiB':>9}")
    if db:
        header += f"{'sqlite3 s':>11}{'cpu s':>7}{'RSS MiB':>9}{'sde/sqlite3':>13}{'(cpu)':>7}"
    print(header)
    for name, query, match in QUERIES:
        expected = sqlite_count(db, match) if db else None
        for fmt in ["csv", "ndjson"]:
            out = os.path.join(out_dir, f"export.{fmt}")
            cmd = [SDE, "export", *query, "--format", fmt, "--out", out, "--data-dir", data_dir]
            seconds, rss, cpu = best_of(repeat, cmd, stdout)
            with open(stdout) as f:
                rows = int(f.read().split()[1])
            size = os.path.getsize(out) / 1e6
            os.remove(out)
            line = (f"{name:<11}{fmt:<8}{rows:>10}{size:>8.1f}{seconds:>8.2f}{cpu:>7.2f}"
                    f"{rows / seconds:>12,.0f}{rss:>9.1f}")
            if db:
                lite_seconds, lite_rss, lite_cpu = best_of(repeat, sqlite_command(db, fmt, match), out)
                os.remove(out)
                line += (f"{lite_seconds:>11.2f}{lite_cpu:>7.2f}{lite_rss:>9.1f}"
                         f"{seconds / lite_seconds:>13.2f}{cpu / max(lite_cpu, 0.01):>7.2f}")
                if expected != rows:
                    line += f"  (sqlite3 matched {expected} rows)"
            print(line, flush=True)
    shutil.rmtree(out_dir)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_json(url, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def run_search_load(data_dir, seconds):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(tempfile.gettempdir(), "sde-bench-serve.log"), "w")
    server = subprocess.Popen(
        [SDE, "serve", "--addr", f"127.0.0.1:{port}", "--seed-posts", "0", "--data-dir", data_dir],
        stdout=log, stderr=log)
    try:
        token = None
        for _ in range(300):
            try:
                token = post_json(f"{base}/auth/token", {"email": "bench@example.com"})["idToken"]
                break
            except OSError:
                time.sleep(0.1)
        if token is None:
            sys.exit("sde serve did not start; see " + log.name)
        for terms in [["zeppelin"], ["#aurora"]]:
            body = {"type": "posts", "results": 10, "page": 0, "search": [{"value": t} for t in terms]}
            total = post_json(f"{base}/search", body, token)["TotalResults"]
            print(f"/search {' '.join(terms)}: {total} results")
        print(f"{'connections':<13}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
        for connections in [1, 2, 4, 8]:
            # The script reads the token from the environment and rotates over a few searches.
            result = subprocess.run(
                ["wrk", "-t", "1" if connections == 1 else "2", "-c", str(connections),
                 "-d", f"{seconds}s", "--latency", "-s", SEARCH_LUA, f"{base}/search"],
                env=dict(os.environ, SDE_TOKEN=token), capture_output=True, text=True, check=True)
            out = result.stdout
            percentile = lambda p: to_ms(re.search(rf"^\s+{p}%\s+(\S+)", out, re.M).group(1))
            rps = float(re.search(r"Requests/sec:\s+(\S+)", out).group(1))
            bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(f"{connections:<13}{rps:>12,.0f}{percentile(50):>9.2f}{percentile(99):>9.2f}"
                  f"{int(bad.group(1)) if bad else 0:>9}")
    finally:
        server.terminate()
        server.wait()
        log.close()


def to_ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--keep", help="folder to keep the imported data in between runs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per export; the fastest is shown")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the sqlite3 comparison")
    parser.add_argument("--no-search", action="store_true", help="skip the /search load test")
    parser.add_argument("--search-seconds", type=int, default=20)
    args = parser.parse_args()

    env = dict(os.environ, CARGO_TARGET_DIR=TARGET)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "sde"], cwd=ROOT, env=env, check=True)
    with open("/proc/loadavg") as f:
        print(f"{os.cpu_count()} CPUs, load average {' '.join(f.read().split()[:3])}")

    root = args.keep or tempfile.mkdtemp(prefix="sde-bench-")
    data_dir = os.path.join(root, f"posts-{args.posts}")
    os.makedirs(data_dir, exist_ok=True)
    import_posts(data_dir, args.posts)
    db = None
    if not args.no_sqlite:
        if shutil.which("sqlite3"):
            db = build_sqlite(data_dir, args.posts)
        else:
            print("sqlite3 not found: `apt-get install -y sqlite3` for the side-by-side figures")
    run_exports(data_dir, db, max(1, args.repeat))
    if not args.no_search:
        if shutil.which("wrk"):
            run_search_load(data_dir, args.search_seconds)
        else:
            print("wrk not found: `apt-get install -y wrk` for the /search load figures")
    if not args.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
