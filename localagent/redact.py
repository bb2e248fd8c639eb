"""Secret redaction for logs, exceptions, reports and exports.

Every secret the key manager or the configuration knows is registered here; on top of
that, strings shaped like well-known API keys are redacted even when nobody registered them.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "[redacted]"
MIN_SECRET_LENGTH = 8
# Key shapes of the providers we support (OpenAI, Google, Perplexity, Anthropic, GitHub,
# AWS) and bearer headers: redacted even if never registered. Not inside a word, so that
# "task-runner-integration-tests" or "/mnt/disk-backup-volume-2024" stay readable.
_KEY_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])(?:sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}"
    r"|AIza[0-9A-Za-z_\-]{30,}"
    r"|pplx-[A-Za-z0-9]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|(?<=Bearer )[A-Za-z0-9._\-]{16,})"
)


class SecretRegistry:
    """The set of secret values to hide; longest first so overlapping values mask fully."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and len(value) >= MIN_SECRET_LENGTH and value not in self._secrets:
                    self._secrets.add(value)
                    self._pattern = None

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()
            self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._secrets:
                alternatives = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, alternatives)))
            return self._pattern

    def scrub(self, text: str) -> str:
        pattern = self._compiled()
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return _KEY_SHAPES.sub(MASK, text)


REGISTRY = SecretRegistry()


def register_secret(*values: str | None) -> None:
    REGISTRY.add(*values)


def scrub(text: str) -> str:
    """``text`` with every known secret and key-shaped string replaced by ``[redacted]``."""
    return REGISTRY.scrub(text)


def scrub_data(value: Any) -> Any:
    """A copy of a JSON-like structure with every string scrubbed (reports, exports)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(v) for v in value]
    return value


def scrub_exception(exc: BaseException) -> BaseException:
    """Scrub the string arguments of ``exc`` and of its causes, in place; returns ``exc``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(scrub(a) if isinstance(a, str) else a for a in current.args)
        for attr in ("message", "msg", "detail"):
            value = getattr(current, attr, None)
            if isinstance(value, str):
                with contextlib.suppress(AttributeError):
                    setattr(current, attr, scrub(value))
        current = current.__cause__ or current.__context__
    return exc


def format_exception(exc: BaseException) -> str:
    """The traceback text of ``exc``, scrubbed (for ``--debug``)."""
    import traceback

    return scrub("".join(traceback.format_exception(exc)))


class RedactingFilter(logging.Filter):
    """A handler filter: formats the record's message and traceback, then scrubs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub_record(record)
        return True


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep the raw text
        message = str(record.msg)
    record.msg, record.args = scrub(message), None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = format_exception(record.exc_info[1])
        record.exc_info = None


_installed = False


def install_log_redaction(handlers: Iterable[logging.Handler] = ()) -> None:
    """Scrub every log record when it is created, whichever logger or handler it goes to."""
    global _installed
    for handler in handlers:
        handler.addFilter(RedactingFilter())
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
