"""Where LocalAgent caches files (response cache, assembled model): the one place the cache
directory is resolved, for the provider layer and for ``localagent.paths`` alike."""

from __future__ import annotations

import os
from pathlib import Path

APP = "localagent"
CACHE_ENV = "LOCALAGENT_CACHE_DIR"


def cache_root() -> Path:
    """``~/.cache/localagent`` (the platform's user cache dir) unless ``LOCALAGENT_CACHE_DIR``
    is set."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP))
