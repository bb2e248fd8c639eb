"""Choosing the key store: a real OS keyring, or else the encrypted file (and saying why)."""

from __future__ import annotations

import json
from typing import Any

from localagent.atomic import write_private
from localagent.keys.stores import EncryptedFileStore, KeyringStore, KeyStore, KeyStoreError

# Backends that keep secrets in the clear (or nowhere): never "secure".
_INSECURE_MODULES = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null",
                     "keyring.backends.chainer")


def secure_keyring() -> tuple[Any | None, str]:
    """The OS keyring backend if it is a secure one, else None and the reason."""
    try:
        import keyring
        from keyring.errors import NoKeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None, "the keyring package is not installed"
    try:
        backend = keyring.get_keyring()
    except NoKeyringError as exc:
        return None, f"no OS keyring backend ({exc})"
    candidates = getattr(backend, "backends", None)
    if candidates:  # a chainer: secrets go to its highest-priority backend
        backend = max(candidates, key=lambda b: getattr(b, "priority", 0))
    module = type(backend).__module__
    label = f"{module}.{type(backend).__name__}"
    if module.startswith(_INSECURE_MODULES):
        return None, f"the OS keyring backend is {label}, which is not secure"
    if getattr(backend, "priority", 1) <= 0:
        return None, f"the OS keyring backend {label} is not usable here"
    try:
        backend.get_password("localagent-probe", "probe")
    except Exception as exc:
        return None, f"the OS keyring backend {label} does not work: {exc}"
    return backend, f"secure OS keyring {label}"


def file_store() -> EncryptedFileStore:
    from localagent.paths import data_dir

    return EncryptedFileStore(data_dir() / "keys.enc", data_dir() / "master.key")


def choose_store(mode: str, service: str) -> tuple[KeyStore, str]:
    """The active store for ``security.key_store`` (auto | keyring | file), and why."""
    if mode == "file":
        return file_store(), "security.key_store is 'file'"
    backend, why = secure_keyring()
    if backend is not None:
        return KeyringStore(backend, service), why
    if mode == "keyring":
        raise KeyStoreError(f"security.key_store is 'keyring' but {why}; use 'auto' or 'file'")
    return file_store(), f"no secure OS keyring: {why}; using the encrypted file"


def notice_once(store: KeyStore, reason: str) -> str | None:
    """A one-line notice the first time a store is used (or when it changes), else None."""
    from localagent.paths import data_dir

    marker = data_dir() / "key-store.json"
    state = {"store": store.name, "location": store.location}
    try:
        if json.loads(marker.read_text()) == state:
            return None
    except (OSError, ValueError):
        pass
    write_private(marker, json.dumps(state))
    return f"keys are kept in the {store.name} store at {store.location} ({reason})"
