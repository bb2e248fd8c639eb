"""S1: what the OS sandbox adds to a command. ``pytest -q`` on a copy of examples/todo-app
(and ``true``, the bare cost) through ``SecurityPolicy.run``, without a sandbox, in bwrap
and in Landlock, interleaved in the same run; the result is the median of the paired
differences (each round runs every mode once), which cancels the machine's drift.

pytest runs with plugin autoloading off: the example needs no plugin, and the ones in
LocalAgent's own environment (LangSmith...) add ~2 s of imports whose noise would hide the
few milliseconds being measured."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.providers_bench import Row

ADDED_GOAL = 0.050  # seconds added per command
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "todo-app"


def s1_sandbox(quick: bool) -> list[Row]:
    from localagent.config.sections import SecuritySettings
    from localagent.security import SecurityPolicy
    from localagent.security.sandbox import make

    work = Path(tempfile.mkdtemp(prefix="la-bench-sandbox-"))
    try:
        workspace = work / "todo-app"
        shutil.copytree(EXAMPLE, workspace)
        modes = ["off"] + [name for name in ("bwrap", "landlock")
                           if make(name).available() is None]
        policies = {mode: SecurityPolicy(workspace, SecuritySettings(
            sandbox=mode, allowed_env=["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]))
            for mode in modes}
        rows: list[Row] = []
        for label, command in (("pytest -q", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest "
                                             "-q"), ("true", "true")):
            times: dict[str, list[float]] = {mode: [] for mode in modes}
            for mode in modes:  # warm the file cache and bytecode
                policies[mode].run(command, approved=True)
            for _ in range(7 if quick else 25):
                for mode in modes:  # wall time: the workspace scans count too
                    started = time.perf_counter()
                    policies[mode].run(command, approved=True)
                    times[mode].append(time.perf_counter() - started)
            base = statistics.median(times["off"])
            for mode in modes[1:]:
                added = statistics.median(t - b for t, b in zip(times[mode], times["off"],
                                                                strict=True))
                rows.append(Row(f"S1 {label} in {mode}",
                                f"{statistics.median(times[mode]) * 1e3:.0f} ms",
                                f"{base * 1e3:.0f} ms (no sandbox)",
                                f"{(base + added) / base:.2f}x, {added * 1e3:+.0f} ms",
                                f"<= +{ADDED_GOAL * 1e3:.0f} ms", added <= ADDED_GOAL))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


ALL = {"S1": s1_sandbox}
