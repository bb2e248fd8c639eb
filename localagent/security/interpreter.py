"""Which Python a project's commands run: the project's own virtualenv (``.venv`` or
``venv``), else the one the user activated (``$VIRTUAL_ENV``), else whatever ``python`` /
``python3`` is on PATH. Never implicitly LocalAgent's own interpreter: its packages (pytest
plugins that write ``.benchmarks/``...) are not the project's."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

VENV_DIRS = (".venv", "venv")


def _bin(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def project_bin_dirs(root: Path, environ: Mapping[str, str] = os.environ) -> list[str]:
    """The directory to put first on PATH for the project's commands (or none)."""
    for name in VENV_DIRS:
        if _bin(root / name).is_dir():
            return [str(_bin(root / name))]
    active = environ.get("VIRTUAL_ENV")
    if active and _bin(Path(active)).is_dir():
        return [str(_bin(Path(active)))]
    return []


def python_name(root: Path, environ: Mapping[str, str] = os.environ) -> str:
    """``python`` if the project's commands have one, else ``python3`` when they have that
    (Debian has no ``python``)."""
    path = os.pathsep.join([*project_bin_dirs(root, environ), environ.get("PATH", os.defpath)])
    if shutil.which("python", path=path) is None and shutil.which("python3", path=path):
        return "python3"
    return "python"
