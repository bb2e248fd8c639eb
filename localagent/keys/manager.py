"""KeyManager: where a key comes from, storing and rotating keys, and the audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from localagent.audit import AuditLog
from localagent.keys.choose import choose_store, file_store, notice_once, secure_keyring
from localagent.keys.stores import KeyringStore, KeyStore, KeyStoreError
from localagent.redact import register_secret

if TYPE_CHECKING:
    from localagent.config.loader import Loaded
    from localagent.config.schema import Settings
    from localagent.config.sections import SecuritySettings

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass
class KeyInfo:
    name: str
    store: str
    masked: str


def mask(secret: str) -> str:
    """``sk-…abcd``: enough to tell keys apart, never enough to use one."""
    if len(secret) < 12:
        return "*" * 8
    return f"{secret[:3]}…{secret[-4:]}"


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise KeyStoreError(f"invalid key name {name!r}: use lowercase letters, digits, "
                            f"'.', '_' or '-' (a provider name such as 'openai')")
    return name


class KeyManager:
    """Explicit flag > environment > config file > secure keyring > encrypted file."""

    def __init__(self, settings: SecuritySettings | None = None, *,
                 audit: AuditLog | None = None) -> None:
        from localagent.config.sections import SecuritySettings

        self.settings = settings or SecuritySettings()
        self.audit = audit if audit is not None else AuditLog(
            enabled=self.settings.enable_audit_log)
        self._store: KeyStore | None = None
        self.reason = ""
        self.notice: str | None = None

    @property
    def store(self) -> KeyStore:
        """The store new keys go to; the first use may set ``notice``."""
        if self._store is None:
            self._store, self.reason = choose_store(self.settings.key_store,
                                                    self.settings.keyring_service)
            self.notice = notice_once(self._store, self.reason)
        return self._store

    def _readable_stores(self) -> list[KeyStore]:
        """Stores consulted on lookup, in order: secure keyring, then the encrypted file."""
        stores: list[KeyStore] = []
        if self.settings.key_store != "file":
            backend, _ = secure_keyring()
            if backend is not None:
                stores.append(KeyringStore(backend, self.settings.keyring_service))
        if self.settings.key_store != "keyring":
            encrypted = file_store()
            if encrypted.path.exists() or not stores:
                stores.append(encrypted)
        return stores

    def lookup(self, name: str) -> tuple[str | None, str]:
        """The stored key for ``name`` and the store it came from (keyring before file)."""
        for store in self._readable_stores():
            value = store.get(name)
            if value is not None:
                register_secret(value)
                return value, store.name
        return None, ""

    def get(self, name: str, *, purpose: str = "read") -> str | None:
        value, store = self.lookup(check_name(name))
        if value is not None:
            self.audit.record("key_use", name=name, store=store, purpose=purpose)
        return value

    def set(self, name: str, value: str, *, event: str = "key_set") -> str:
        """Store a key in the active store; returns the store's name."""
        check_name(name)
        value = value.strip()
        if not value:
            raise KeyStoreError(f"the key for {name!r} is empty")
        register_secret(value)
        store = self.store
        store.set(name, value)
        self.audit.record(event, name=name, store=store.name)
        return store.name

    def rotate(self, name: str, value: str) -> str:
        """Replace an existing key with a new value."""
        if self.lookup(check_name(name))[0] is None:
            raise KeyStoreError(f"no stored key named {name!r} to rotate; use 'keys set'")
        return self.set(name, value, event="key_rotate")

    def rotate_master(self, new_passphrase: str | None = None) -> None:
        """Re-encrypt the encrypted file under a fresh master key."""
        encrypted = file_store()
        if not encrypted.path.exists():
            raise KeyStoreError(f"there is no encrypted key store at {encrypted.path}")
        encrypted.rotate_master(new_passphrase)
        self.audit.record("master_key_rotate", store=encrypted.name)

    def delete(self, name: str) -> bool:
        """Remove a key from every store that has it."""
        check_name(name)
        removed = [store.name for store in self._readable_stores() if store.delete(name)]
        self.audit.record("key_delete", name=name, stores=removed, found=bool(removed))
        return bool(removed)

    def list(self) -> list[KeyInfo]:
        infos: dict[str, KeyInfo] = {}
        for store in self._readable_stores():
            for name in store.names():
                value = store.get(name)
                if name not in infos and value is not None:
                    register_secret(value)
                    infos[name] = KeyInfo(name, store.name, mask(value))
        return sorted(infos.values(), key=lambda info: info.name)

    def resolve(self, name: str, loaded: Loaded | None = None,
                explicit: str | None = None) -> tuple[str | None, str]:
        """The key a provider will use, and where it came from."""
        if explicit:
            register_secret(explicit)
            return explicit, "command-line flag"
        if loaded is not None:
            configured = loaded.settings.providers.get(name)
            if configured is not None and configured.api_key is not None:
                return (configured.api_key.get_secret_value(),
                        loaded.origin(("providers", name, "api_key")))
        value, store = self.lookup(check_name(name))
        if value is not None:
            self.audit.record("key_use", name=name, store=store, purpose="provider")
        return value, store

    def fill(self, settings: Settings) -> Settings:
        """``settings`` with every stored key put where the config has none."""
        from pydantic import SecretStr

        from providers.registry import provider_names
        from providers.settings import ProviderSettings

        known = set(provider_names())
        providers = dict(settings.providers)
        for store in self._readable_stores():  # keyring first: it wins over the file
            for name in store.names():
                current = providers.get(name) or ProviderSettings()
                if name in known and current.api_key is None and (value := store.get(name)):
                    register_secret(value)
                    providers[name] = current.model_copy(update={"api_key": SecretStr(value)})
                    self.audit.record("key_use", name=name, store=store.name,
                                      purpose="provider")
        return settings.model_copy(update={"providers": providers})
