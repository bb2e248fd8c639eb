"""Where LocalAgent keeps things. Each directory has an environment override."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from providers.storage import cache_root

APP = "localagent"
PROJECT_DIR = ".localagent"
CONFIG_FILE = "config.yaml"


def _dir(env: str, kind: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP))


# Thread ids name a folder (<workspace>/.localagent/runs/<thread id>): a safe charset only.
THREAD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def is_thread_id(value: str) -> bool:
    """Letters, digits, '.', '_' and '-', up to 128, starting with a letter or digit."""
    return bool(THREAD_ID.fullmatch(value)) and ".." not in value


def run_folder_name(thread_id: str) -> str:
    """The folder a thread's reports go in: the id itself when it is safe, else a readable
    slug plus a hash (a thread started through an API may have any id)."""
    if is_thread_id(thread_id):
        return thread_id
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", thread_id).strip("-")[:40] or "thread"
    return f"{slug}-{hashlib.sha256(thread_id.encode()).hexdigest()[:12]}"


def config_dir() -> Path:
    """``~/.config/localagent`` unless ``LOCALAGENT_CONFIG_DIR`` is set."""
    return _dir("LOCALAGENT_CONFIG_DIR", "config")


def data_dir() -> Path:
    """``~/.local/share/localagent`` unless ``LOCALAGENT_DATA_DIR`` is set."""
    return _dir("LOCALAGENT_DATA_DIR", "data")


def cache_dir() -> Path:
    """``~/.cache/localagent`` unless ``LOCALAGENT_CACHE_DIR`` is set."""
    return cache_root()


def user_config_file() -> Path:
    return config_dir() / CONFIG_FILE


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` holding ``.localagent/config.yaml``."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / PROJECT_DIR / CONFIG_FILE).is_file():
            return directory
    return None


def project_config_file(start: Path | None = None) -> Path | None:
    root = find_project_root(start)
    return root / PROJECT_DIR / CONFIG_FILE if root else None


def audit_log_file() -> Path:
    return data_dir() / "audit.jsonl"
