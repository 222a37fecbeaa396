"""Benchmark licpipe on demo organisations larger than the tests use; prints figures only.

Each size is generated once, then each phase runs `--repeat` times on a fresh copy and the
median is printed with the spread. Machines here are shared, so compare medians and ratios,
not single timings.

    .venv/bin/python scripts/benchmark.py --users 500 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from licpipe.demo import generate


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; return (seconds, peak resident memory of children in MiB)."""
    started = time.perf_counter()
    subprocess.run(
        command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kib / 1024


def _load_only(landing: Path, warehouse: Path) -> float:
    from licpipe import warehouse as wh
    from licpipe.connectors import SOURCE_MODULES
    from licpipe.loading import load_source

    started = time.perf_counter()
    with wh.connect(warehouse) as con:
        for source in SOURCE_MODULES:
            load_source(con, source, landing)
    return time.perf_counter() - started


def _flexlm_throughput(lines: int) -> float:
    """Lines per second for the debug-log parser on a synthetic log of `lines` lines."""
    from licpipe.connectors import flexlm_log

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.log"
        with path.open("w") as handle:
            handle.write(" 0:00:01 (lmgrd) TIMESTAMP 3/30/2024\n")
            for i in range(lines // 2):
                second = i % 86400
                clock = f"{second // 3600:2d}:{second // 60 % 60:02d}:{second % 60:02d}"
                handle.write(f'{clock} (acmed) OUT: "CAD_PRO" user{i % 97}@ws-{i % 31}  \n')
                handle.write(f'{clock} (acmed) IN: "CAD_PRO" user{i % 97}@ws-{i % 31}  \n')
        started = time.perf_counter()
        flexlm_log.parse_file(path)
        return lines / (time.perf_counter() - started)


def _summary(values: list[float]) -> str:
    median = statistics.median(values)
    return (
        f"median {median:7.1f} s  (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--flexlm-lines", type=int, default=500_000)
    args = parser.parse_args()

    licpipe = [sys.executable, "-m", "licpipe.cli"]
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print(
        f"flexlm parser: {_flexlm_throughput(args.flexlm_lines):,.0f} lines/s "
        f"on a {args.flexlm_lines:,}-line log"
    )
    results: dict[int, float] = {}
    for users in args.users:
        root = Path(tempfile.mkdtemp(prefix=f"licpipe-bench-{users}-"))
        started = time.perf_counter()
        manifest = generate(root / "demo", users=users, days=args.days)
        generate_seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (root / "demo" / "landing").rglob("*") if p.is_file())
        print(
            f"\n{users} users x {args.days} days: {manifest['counts'].get('licenses', '?')} "
            f"licences, landing {size / 2**20:.0f} MiB, generated in {generate_seconds:.1f} s"
        )

        loads, fulls, reruns, peaks = [], [], [], []
        for _ in range(args.repeat):
            run_dir = root / "run"
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.mkdir()
            loads.append(_load_only(root / "demo" / "landing", run_dir / "load_only.duckdb"))
            env = {k: v for k, v in os.environ.items() if not k.startswith("LICPIPE_")}
            command = [
                *licpipe,
                "run",
                "--landing",
                str(root / "demo" / "landing"),
                "--warehouse",
                str(run_dir / "warehouse.duckdb"),
                "--as-of",
                manifest["as_of"],
            ]
            seconds, peak = _timed(command, env)
            fulls.append(seconds)
            peaks.append(peak)
            reruns.append(_timed(command, env)[0])
        results[users] = statistics.median(fulls)
        print(f"  load raw only          {_summary(loads)}")
        print(f"  licpipe run, new file  {_summary(fulls)}  peak RSS {max(peaks):.0f} MiB")
        print(f"  licpipe run, re-run    {_summary(reruns)}")
        shutil.rmtree(root, ignore_errors=True)

    if len(results) > 1:
        smallest, largest = min(results), max(results)
        print(
            f"\nscaling: {largest / smallest:.1f}x users took "
            f"{results[largest] / results[smallest]:.2f}x the time of a full run"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
