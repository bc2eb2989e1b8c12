#!/usr/bin/env python3
"""Whole local exports from the embedded index: wall time, rows/s and peak RSS per export.

Usage: python3 scripts/bench-export.py [--posts 1000000] [--keep DIR]
Builds `sde` in release mode, imports the generated posts once into a data directory (kept
between runs with --keep), then exports match-all and a selective tag in CSV and NDJSON,
printing one line per export. Peak RSS is the child's ru_maxrss as the kernel reports it.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/sde-target"))
SDE = os.path.join(TARGET, "release", "sde")


def run_measured(args):
    """Runs a command; returns (seconds, peak RSS in MiB, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.monotonic()
    # Each measured command runs in its own child so ru_maxrss belongs to it alone.
    pid = os.fork()
    if pid == 0:
        out = os.open(os.path.join(tempfile.gettempdir(), "sde-bench.out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.execv(args[0], args)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(args)}")
    with open(os.path.join(tempfile.gettempdir(), "sde-bench.out")) as f:
        stdout = f.read()
    del before
    return seconds, usage.ru_maxrss / 1024, stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--keep", help="data directory to reuse between runs")
    args = parser.parse_args()

    env = dict(os.environ, CARGO_TARGET_DIR=TARGET)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "sde"], cwd=ROOT, env=env, check=True)

    data_dir = args.keep or tempfile.mkdtemp(prefix="sde-bench-")
    marker = os.path.join(data_dir, f"imported-{args.posts}")
    if not os.path.exists(marker):
        seconds, rss, _ = run_measured([SDE, "import", "--count", str(args.posts), "--data-dir", data_dir])
        print(f"import {args.posts} posts: {seconds:.1f} s, peak RSS {rss:.0f} MiB")
        open(marker, "w").close()

    out_dir = tempfile.mkdtemp(prefix="sde-bench-out-")
    print(f"{'query':<14}{'format':<8}{'rows':>10}{'MB':>9}{'seconds':>9}{'rows/s':>12}{'peak RSS MiB':>14}")
    for name, query in [("match-all", []), ("#aurora", ["--query", "#aurora"])]:
        for fmt in ["csv", "ndjson"]:
            out = os.path.join(out_dir, f"export.{fmt}")
            cmd = [SDE, "export", *query, "--format", fmt, "--out", out, "--data-dir", data_dir]
            seconds, rss, stdout = run_measured(cmd)
            rows = int(stdout.split()[1])
            size = os.path.getsize(out) / 1e6
            print(f"{name:<14}{fmt:<8}{rows:>10}{size:>9.1f}{seconds:>9.2f}{rows / seconds:>12,.0f}{rss:>14.1f}")
            os.remove(out)


if __name__ == "__main__":
    main()
