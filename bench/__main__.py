"""``python -m bench [--quick] [--only P1,P5]``: run the benchmarks and print a table."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. P1,P5")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCALAGENT_CACHE_DIR", tempfile.mkdtemp(prefix="la-bench-"))

    from bench.cli_bench import ALL as CLI
    from bench.local_bench import ALL as LOCAL
    from bench.overhead_bench import ALL as OVERHEAD
    from bench.providers_bench import ALL as PROVIDERS
    from bench.providers_bench import Row
    from bench.sandbox_bench import ALL as SANDBOX
    from bench.scale_bench import ALL as SCALE
    from bench.server_bench import ALL as SERVER

    ALL = {**OVERHEAD, **PROVIDERS, **CLI, **LOCAL, **SANDBOX, **SERVER, **SCALE}

    wanted = [key.strip().upper() for key in args.only.split(",") if key.strip()] or list(ALL)
    rows: list[Row] = []
    for key in wanted:
        if key not in ALL:
            print(f"unknown benchmark {key!r}; known: {', '.join(ALL)}", file=sys.stderr)
            return 2
        print(f"running {key} ...", file=sys.stderr, flush=True)
        rows.extend(ALL[key](args.quick))
    headers = ("benchmark", "measured", "baseline (same run)", "result", "goal", "")
    table = [headers] + [(r.name, r.measured, r.baseline, r.result, r.goal,
                          "ok" if r.ok else "MISSED") for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(headers))]
    for index, row in enumerate(table):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
