"""What checking results costs (insta_rs.workflow.integrity): on a finished, sealed run, the start-of-run check of the whole
results folder, sealing every result once, verifying every result once as a job reading it does, and what each job
pays to assemble the protocols.

    python bench/integrity.py                                   # the demo's results/demo, config.yaml
    python bench/integrity.py --config .test/config/config.yaml

Medians of ``--repeats`` rounds (the first round also warms the page cache, as a run after the jobs that wrote the
files finds it).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Callable

from insta_rs.workflow.config_check import check_config, load_yaml
from insta_rs.workflow.integrity import check_results, problem, results_below
from insta_rs.workflow.protocols import Protocols
from insta_rs.workflow.seal import fingerprint

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = check_config(load_yaml(args.config), ROOT / "workflow" / "schemas" / "config.schema.yaml",
                          local_files=False)
    protocols = Protocols.of_config(config)
    results = list(results_below(protocols.layout, protocols.layout.root))
    files = [path for result in results for path in ([result] if Path(result).is_file() else
                                                     [p for p in Path(result).rglob("*") if p.is_file()])]
    size = sum(Path(path).stat().st_size for path in files)
    if not results:
        raise SystemExit(f"no results under {protocols.layout.root}: run the workflow with {args.config} first")
    rows = [
        ("start-of-run check of the folder (every run, -n included)",
         median_seconds(lambda: check_results(protocols.layout, act=False), args.repeats)),
        ("sealing every result once (jobs, after writing)",
         median_seconds(lambda: [fingerprint(path) for path in results], args.repeats)),
        ("verifying every result once (jobs, before reading)",
         median_seconds(lambda: [problem(path, protocols) for path in results], args.repeats)),
        ("assembling the protocols (each job, once)",
         median_seconds(lambda: Protocols.of_config(config), args.repeats)),
    ]
    print(f"{protocols.layout.root}: {len(results)} results, {len(files)} files, {size / 1e6:.1f} MB\n")
    print("| check | seconds |\n|---|---:|")
    for what, seconds in rows:
        print(f"| {what} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
