"""Bearer auth for the server: API keys (``localagent server keys``) or JWTs, scopes, and a
per-key request rate limit. Every failure is audited, never with the token.

Auth is on as soon as a key was ever created or JWT verification is configured; a server
with neither is open (fine on 127.0.0.1; ``localagent server start`` warns when it binds a
public address that way).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import HTTPConnection

from localagent.server.errors import ApiError, forbidden, rate_limited, unauthorized
from localagent.server.keys import PREFIX, KeyStore

if TYPE_CHECKING:
    from localagent.audit import AuditLog
    from localagent.config.sections import JwtSettings, ServerSettings

ScopeName = Literal["chat", "runs", "admin"]
KEY_REFRESH_SECONDS = 1.0
Dependency = Callable[[HTTPConnection], Awaitable["Principal"]]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key (its id), a JWT subject, or anyone (auth off)."""

    id: str
    name: str
    scopes: frozenset[str]
    kind: Literal["key", "jwt", "open"]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


OPEN = Principal("anonymous", "anonymous", frozenset({"admin"}), "open")


class JwtVerifier:
    """HS256 with a shared secret, or the algorithms of the keys in a JWKS file."""

    def __init__(self, config: JwtSettings) -> None:
        import jwt

        self.config = config
        self._jwt = jwt
        self._keys: dict[str, Any] = {}
        if config.jwks_file:
            text = Path(config.jwks_file).expanduser().read_text()
            self._keys = {k.key_id or "": k for k in jwt.PyJWKSet.from_json(text).keys}

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims; raises jwt.PyJWTError (never echoing the token)."""
        jwt = self._jwt
        options = {"require": ["exp"], "verify_aud": self.config.audience is not None}
        if self.config.secret is not None:
            key: Any = self.config.secret.get_secret_value()
            algorithms = ["HS256"]
        else:
            kid = jwt.get_unverified_header(token).get("kid") or ""
            jwk = self._keys.get(kid) or (next(iter(self._keys.values()))
                                          if len(self._keys) == 1 and not kid else None)
            if jwk is None:
                raise jwt.InvalidKeyError("no key in the JWKS file matches the token's kid")
            key, algorithms = jwk.key, [jwk.algorithm_name]
        return dict(jwt.decode(token, key, algorithms=algorithms, audience=self.config.audience,
                               issuer=self.config.issuer, options=options))

    def principal(self, token: str) -> Principal:
        claims = self.claims(token)
        raw = claims.get(self.config.scope_claim) or ""
        scopes = raw.split() if isinstance(raw, str) else [str(s) for s in raw]
        subject = str(claims.get("sub") or "jwt")
        return Principal(f"jwt:{subject}", subject, frozenset(scopes), "jwt")


class RequestLimiter:
    """Per-principal token buckets: ``per_minute`` requests, bursting to the same number."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str) -> float:
        """0 if the request may go ahead, else the seconds until it could."""
        now = time.monotonic()
        with self._lock:
            level, stamp = self._buckets.get(who, (self.capacity, now))
            level = min(self.capacity, level + (now - stamp) * self.rate)
            if level < 1.0:
                self._buckets[who] = (level, now)
                return (1.0 - level) / self.rate
            self._buckets[who] = (level - 1.0, now)
            return 0.0


class Authenticator:
    """Checks a request's credentials against the key store, the JWT settings and a scope."""

    def __init__(self, config: ServerSettings, keys: KeyStore, audit: AuditLog) -> None:
        self.keys = keys
        self.audit = audit
        jwt_config = config.jwt
        self.jwt = JwtVerifier(jwt_config) if (
            jwt_config.secret is not None or jwt_config.jwks_file) else None
        self.limiter = RequestLimiter(config.rate_limit) if config.rate_limit else None
        self._fresh_until = 0.0

    @property
    def required(self) -> bool:
        """Blocking (it may read the key file): for start-up, not for requests."""
        self.keys.refresh()
        return self.jwt is not None or self.keys.loaded()

    async def _refresh(self, force: bool = False) -> None:
        """The key file as of at most a second ago, read off the event loop (``force``: now,
        unless it was read in the last 50 ms, so a key just created works at once)."""
        now = time.monotonic()
        if now >= self._fresh_until or (
                force and now >= self._fresh_until - KEY_REFRESH_SECONDS + 0.05):
            await asyncio.to_thread(self.keys.refresh)
            self._fresh_until = now + KEY_REFRESH_SECONDS

    async def _fail(self, request: HTTPConnection, error: ApiError, reason: str,
                    principal: str | None = None) -> ApiError:
        client = request.client.host if request.client else None
        await asyncio.to_thread(
            self.audit.record, "server_auth_failed", reason=reason, status=error.status,
            method=request.scope.get("method", "WEBSOCKET"), path=request.url.path,
            client=client, principal=principal)
        return error

    async def identify(self, request: HTTPConnection) -> Principal:
        """The caller, from ``Authorization: Bearer ...``; raises 401."""
        await self._refresh()
        if self.jwt is None and not self.keys.loaded():
            return OPEN
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise await self._fail(request, unauthorized(
                "missing API key: send 'Authorization: Bearer <key>' (create one with "
                "'localagent server keys create NAME --scope chat')"), "missing")
        record = self.keys.lookup(token)
        if record is None and token.startswith(PREFIX):
            await self._refresh(force=True)
            record = self.keys.lookup(token)
        if record is not None:
            if not record.active:
                raise await self._fail(request, unauthorized("this API key was revoked"),
                                       "revoked", record.id)
            return Principal(record.id, record.name, frozenset(record.scopes), "key")
        if self.jwt is not None and token.count(".") == 2:
            import jwt

            try:
                return self.jwt.principal(token)
            except jwt.PyJWTError as exc:
                raise await self._fail(request, unauthorized(f"invalid token: {exc}"),
                                 f"jwt: {type(exc).__name__}") from None
        raise await self._fail(request, unauthorized("invalid API key"), "unknown key")

    async def check(self, request: HTTPConnection, scope: str) -> Principal:
        principal = await self.identify(request)
        if not principal.allows(scope):
            raise await self._fail(request, forbidden(
                f"this key has scopes {sorted(principal.scopes)}; {request.url.path} needs "
                f"'{scope}'"), f"scope {scope}", principal.id)
        if self.limiter is not None and principal.kind != "open":
            wait = self.limiter.take(principal.id)
            if wait > 0:
                raise await self._fail(request, rate_limited(
                    f"rate limit of this key exceeded; retry in {wait:.1f}s", wait),
                    "rate limited", principal.id)
        return principal

    def require_scope(self, scope: ScopeName) -> Dependency:
        """A FastAPI dependency: the caller if allowed ``scope``, else 401/403/429."""

        async def dependency(request: HTTPConnection) -> Principal:
            return await self.check(request, scope)

        return dependency


def require_scope(scope: ScopeName) -> Dependency:
    """A FastAPI dependency checking the caller against the app's Authenticator (set by
    ``create_app`` on ``app.state.auth``). Admin keys have every scope."""

    async def dependency(request: HTTPConnection) -> Principal:
        auth: Authenticator = request.app.state.auth
        return await auth.check(request, scope)

    return dependency
