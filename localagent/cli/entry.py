"""The ``localagent`` script. ``localagent --version`` answers before the command-line
library and the subcommands load; everything else goes to :mod:`localagent.cli.app`."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from localagent import __version__

        sys.stdout.write(f"localagent {__version__}\n")
        return
    from localagent.cli.app import main as run

    run(argv)
