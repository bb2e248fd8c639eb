"""The server's API keys: HMAC-SHA256 digests under a server secret, never the keys.

``server-keys.json`` (0600, in the user data dir) lists each key's id, name, scopes, digest
and revocation time; ``server-secret`` (0600, beside it) holds the HMAC secret. A key is
shown once, when it is created. The file is read again whenever it changes, so a key
revoked with the CLI stops working in a running server within a second (the server looks
at the file at most once a second, off its event loop: ``refresh``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Scope = Literal["chat", "runs", "admin"]
SCOPES: tuple[Scope, ...] = ("chat", "runs", "admin")
PREFIX = "la-"
KEYS_FILE = "server-keys.json"
SECRET_FILE = "server-secret"


class KeyFileError(Exception):
    """The key file or the secret cannot be read or is malformed."""


@dataclass
class ApiKey:
    id: str
    name: str
    scopes: list[str]
    digest: str
    created: str
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def public(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("digest")
        return data


def _write_private(path: Path, data: bytes) -> None:
    """Atomic 0600 write: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


@dataclass
class KeyStore:
    """API keys in ``directory`` (default: the user data dir)."""

    directory: Path
    _keys: dict[str, ApiKey] = field(default_factory=dict, init=False)
    _by_digest: dict[str, ApiKey] = field(default_factory=dict, init=False)
    _stamp: tuple[int, int] | None = field(default=None, init=False)
    _secret: bytes | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @classmethod
    def default(cls) -> KeyStore:
        from localagent.paths import data_dir

        return cls(data_dir())

    @property
    def path(self) -> Path:
        return self.directory / KEYS_FILE

    # -- secret and digests ------------------------------------------------------------------
    def _server_secret(self, create: bool) -> bytes | None:
        if self._secret is None:
            path = self.directory / SECRET_FILE
            try:
                self._secret = bytes.fromhex(path.read_text().strip())
            except FileNotFoundError:
                if not create:
                    return None
                self._secret = secrets.token_bytes(32)
                _write_private(path, self._secret.hex().encode())
            except ValueError:
                raise KeyFileError(f"{path} is not a hex secret; remove it and create the "
                                   "keys again") from None
        return self._secret

    def digest(self, key: str, *, create: bool = False) -> str | None:
        secret = self._server_secret(create)
        if secret is None:
            return None
        return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()

    # -- the file ----------------------------------------------------------------------------
    def _load(self) -> None:
        """(Re)read the file when its size or mtime changed."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._keys, self._by_digest, self._stamp = {}, {}, None
            return
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return
        try:
            rows = json.loads(self.path.read_text())["keys"]
            keys = {row["id"]: ApiKey(**row) for row in rows}
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyFileError(f"{self.path} is not a valid key file: {exc}") from None
        self._keys = keys
        self._by_digest = {k.digest: k for k in keys.values()}
        self._stamp = stamp

    def _save(self) -> None:
        rows = [asdict(k) for k in self._keys.values()]
        _write_private(self.path, json.dumps({"keys": rows}, indent=2).encode())
        self._stamp = None

    def refresh(self) -> None:
        """Read the file (and the secret) again if it changed; blocking, so a server calls
        it in a thread. ``lookup`` and ``loaded`` then answer from memory."""
        with self._lock:
            self._load()
            if self._keys:
                self._server_secret(create=False)

    def lookup(self, presented: str) -> ApiKey | None:
        """The key record for ``presented`` (revoked ones too; the caller decides), from
        what the last ``refresh`` read; None if unknown. Lookup is by HMAC digest, so timing
        says nothing about any stored key."""
        if not presented.startswith(PREFIX) or self._secret is None:
            return None
        digest = hmac.new(self._secret, presented.encode(), hashlib.sha256).hexdigest()
        return self._by_digest.get(digest)

    def loaded(self) -> bool:
        """Any key was ever created, as of the last ``refresh``."""
        return bool(self._by_digest)

    def records(self) -> list[ApiKey]:
        with self._lock:
            self._load()
            return list(self._keys.values())

    def create(self, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
        """A new key: its record and the key itself (the only time anyone sees it)."""
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise ValueError(f"scopes are {', '.join(SCOPES)}; got {bad or 'none'}")
        with self._lock:
            self._load()
            if any(k.name == name and k.active for k in self._keys.values()):
                raise ValueError(f"an active key named {name!r} exists; revoke it first")
            key_id = secrets.token_hex(4)
            plain = f"{PREFIX}{key_id}-{secrets.token_urlsafe(32)}"
            digest = self.digest(plain, create=True)
            assert digest is not None
            record = ApiKey(key_id, name, sorted(set(scopes)), digest,
                            time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            self._keys[key_id] = record
            self._save()
        return record, plain

    def revoke(self, name_or_id: str) -> ApiKey:
        with self._lock:
            self._load()
            found = [k for k in self._keys.values()
                     if k.active and name_or_id in (k.id, k.name)]
            if not found:
                raise ValueError(f"no active key named or with id {name_or_id!r}")
            for key in found:
                key.revoked = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            self._save()
        return found[0]
