"""C1: CLI start-up. ``localagent --help`` and ``--version`` wall time, in a fresh process
each, against ``python -c "import langgraph.graph"`` measured interleaved in the same run."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.providers_bench import Row

HELP_GOAL = 0.20  # seconds
VERSION_GOAL = 0.10


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def c1_startup(quick: bool) -> list[Row]:
    script = str(Path(sys.executable).parent / "localagent")
    commands = {"help": [script, "--help"], "version": [script, "--version"],
                "langgraph": [sys.executable, "-c", "import langgraph.graph"]}
    for argv in commands.values():  # warm the OS file cache and .pyc files
        _wall(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(7 if quick else 21):
        for name, argv in commands.items():
            times[name].append(_wall(argv))
    med = {name: statistics.median(values) for name, values in times.items()}
    base = med["langgraph"]
    return [
        Row("C1 localagent --help", f"{med['help'] * 1e3:.0f} ms",
            f"{base * 1e3:.0f} ms (import langgraph.graph)", f"{med['help'] / base:.2f}x",
            f"<= {HELP_GOAL * 1e3:.0f} ms", med["help"] <= HELP_GOAL),
        Row("C1 localagent --version", f"{med['version'] * 1e3:.0f} ms",
            f"{base * 1e3:.0f} ms (import langgraph.graph)", f"{med['version'] / base:.2f}x",
            f"<= {VERSION_GOAL * 1e3:.0f} ms", med["version"] <= VERSION_GOAL),
    ]


ALL = {"C1": c1_startup}
