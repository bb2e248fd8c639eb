"""Where keys live: the OS keyring (only a secure backend) or a Fernet-encrypted file."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Protocol

from localagent.atomic import write_private

PASSPHRASE_ENV = "LOCALAGENT_MASTER_KEY"
PBKDF2_ITERATIONS = 390_000
_INDEX = "__localagent_index__"
_derived: dict[tuple[str, bytes, int], bytes] = {}


class KeyStoreError(Exception):
    """The key store cannot be used (corrupt, undecryptable, unreachable); never "no keys"."""

    exit_code = 2


class KeyStore(Protocol):
    name: str

    @property
    def location(self) -> str: ...

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> bool: ...

    def names(self) -> list[str]: ...


class KeyringStore:
    """A secure OS keyring backend; an index entry remembers the names (keyring cannot list)."""

    name = "keyring"

    def __init__(self, backend: Any, service: str) -> None:
        self.backend, self.service = backend, service

    @property
    def location(self) -> str:
        cls = type(self.backend)
        return f"{cls.__module__}.{cls.__name__} (service {self.service!r})"

    def _call(self, method: str, *args: str) -> Any:
        try:
            return getattr(self.backend, method)(self.service, *args)
        except Exception as exc:
            raise KeyStoreError(f"keyring {self.location}: {method} failed: {exc}") from None

    def get(self, key: str) -> str | None:
        value = self._call("get_password", key)
        return str(value) if value is not None else None

    def names(self) -> list[str]:
        raw = self._call("get_password", _INDEX)
        return sorted(json.loads(raw)) if raw else []

    def set(self, key: str, value: str) -> None:
        self._call("set_password", key, value)
        self._call("set_password", _INDEX, json.dumps(sorted({*self.names(), key})))

    def delete(self, key: str) -> bool:
        existed = self.get(key) is not None
        if existed:
            self._call("delete_password", key)
        self._call("set_password", _INDEX, json.dumps([n for n in self.names() if n != key]))
        return existed


class EncryptedFileStore:
    """All keys in one Fernet token. The master key is a 0600 file next to it, or is
    derived (PBKDF2-SHA256) from ``LOCALAGENT_MASTER_KEY``; the file header says which."""

    name = "encrypted-file"

    def __init__(self, path: Path, master_path: Path) -> None:
        self.path, self.master_path = path, master_path

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    # -- reading ---------------------------------------------------------------------------
    def _header_and_token(self) -> tuple[dict[str, Any], bytes] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyStoreError(f"{self.path}: cannot read the key store: {exc}") from None
        head, sep, token = raw.partition(b"\n")
        try:
            header = json.loads(head)
            if not sep or not isinstance(header, dict) or header.get(
                    "format") != "localagent-keys" or "master" not in header or (
                    header["master"] == "passphrase" and not isinstance(header.get("salt"), str)):
                raise ValueError("missing header")
        except ValueError:
            raise self._corrupt("its header is damaged") from None
        return header, token.strip()

    def _corrupt(self, why: str) -> KeyStoreError:
        fix = (f"restore it from {self.backup_path}" if self.backup_path.exists()
               else "move it away and set your keys again")
        return KeyStoreError(f"{self.path}: the key store cannot be decrypted ({why}); {fix}")

    def _fernet(self, header: dict[str, Any]) -> Any:
        from cryptography.fernet import Fernet, MultiFernet

        if header["master"] == "passphrase":
            passphrase = os.environ.get(PASSPHRASE_ENV)
            if not passphrase:
                raise KeyStoreError(f"{self.path} is encrypted with {PASSPHRASE_ENV}, which is "
                                    f"not set; set it to the passphrase used to create the store")
            return Fernet(_derive(passphrase, base64.b64decode(header["salt"]),
                                  int(header.get("iterations", PBKDF2_ITERATIONS))))
        try:
            lines = self.master_path.read_text().split()
        except FileNotFoundError:
            raise KeyStoreError(f"{self.path}: its master key file {self.master_path} is missing;"
                                f" the store cannot be decrypted without it") from None
        try:
            return MultiFernet([Fernet(line.encode()) for line in lines])
        except ValueError:
            raise KeyStoreError(f"{self.master_path}: the master key file is damaged") from None

    def _read(self) -> dict[str, str]:
        from cryptography.fernet import InvalidToken

        loaded = self._header_and_token()
        if loaded is None:
            return {}
        header, token = loaded
        try:
            data = json.loads(self._fernet(header).decrypt(token))
        except InvalidToken:
            raise self._corrupt("wrong master key, or the file was changed") from None
        except ValueError:
            raise self._corrupt("its content is not valid") from None
        if not isinstance(data, dict):
            raise self._corrupt("its content is not a mapping")
        return {str(k): str(v) for k, v in data.items()}

    # -- writing ---------------------------------------------------------------------------
    def _write(self, data: dict[str, str], *, passphrase: str | None = None,
               master_keys: list[bytes] | None = None) -> None:
        from cryptography.fernet import Fernet

        loaded = self._header_and_token()
        mode = "passphrase" if passphrase or (
            loaded and loaded[0]["master"] == "passphrase") or (
            loaded is None and os.environ.get(PASSPHRASE_ENV)) else "file"
        header: dict[str, Any] = {"format": "localagent-keys", "version": 1, "master": mode}
        if mode == "passphrase":
            salt = os.urandom(16)
            secret = passphrase or os.environ.get(PASSPHRASE_ENV) or ""
            header.update(kdf="pbkdf2-sha256", iterations=PBKDF2_ITERATIONS,
                          salt=base64.b64encode(salt).decode())
            fernet = Fernet(_derive(secret, salt, PBKDF2_ITERATIONS))
        else:
            keys = master_keys or self._master_keys()
            write_private(self.master_path, b"\n".join(keys) + b"\n")
            fernet = Fernet(keys[0])
        token = fernet.encrypt(json.dumps(data, sort_keys=True).encode())
        if self.path.exists():
            shutil.copyfile(self.path, self.backup_path)
            os.chmod(self.backup_path, 0o600)
        write_private(self.path, json.dumps(header).encode() + b"\n" + token + b"\n")

    def _master_keys(self) -> list[bytes]:
        from cryptography.fernet import Fernet

        with contextlib.suppress(FileNotFoundError):
            keys = [line.encode() for line in self.master_path.read_text().split()]
            if keys:
                return keys
        return [Fernet.generate_key()]

    # -- the store interface ---------------------------------------------------------------
    def get(self, key: str) -> str | None:
        return self._read().get(key)

    def names(self) -> list[str]:
        return sorted(self._read())

    def set(self, key: str, value: str) -> None:
        data = self._read()
        data[key] = value
        self._write(data)

    def delete(self, key: str) -> bool:
        data = self._read()
        existed = data.pop(key, None) is not None
        if existed:
            self._write(data)
        return existed

    @property
    def uses_passphrase(self) -> bool:
        loaded = self._header_and_token()
        return bool(loaded and loaded[0]["master"] == "passphrase")

    def rotate_master(self, new_passphrase: str | None = None) -> None:
        """Re-encrypt every key under a new master key. A crash at any point leaves a store
        that one of the master keys on disk still opens."""
        from cryptography.fernet import Fernet

        data = self._read()
        if self.uses_passphrase:
            if not new_passphrase:
                raise KeyStoreError(f"{self.path} is encrypted with {PASSPHRASE_ENV}; give the "
                                    f"new passphrase to rotate it")
            self._write(data, passphrase=new_passphrase)
            self._refresh_backup()
            return
        old = self._master_keys()
        new = Fernet.generate_key()
        write_private(self.master_path, b"\n".join([new, *old]) + b"\n")  # both open it
        self._write(data, master_keys=[new, *old])
        self._refresh_backup()
        write_private(self.master_path, new + b"\n")

    def _refresh_backup(self) -> None:
        """After a rotation the old backup opens only with the old secret: replace it."""
        shutil.copyfile(self.path, self.backup_path)
        os.chmod(self.backup_path, 0o600)


def _derive(passphrase: str, salt: bytes, iterations: int) -> bytes:
    cached = _derived.get((passphrase, salt, iterations))
    if cached is None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

        kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt,
                         iterations=iterations)
        cached = base64.urlsafe_b64encode(kdf.derive(passphrase.encode()))
        _derived[(passphrase, salt, iterations)] = cached
    return cached
