"""``localagent cache``: stats, clear (all or by age), path."""

from __future__ import annotations

import json
import time
from pathlib import Path

import diskcache
import pytest
from langchain_core.messages import AIMessage
from typer.testing import CliRunner

from localagent.cli.app import app
from localagent.cli.cache_cmd import parse_duration
from providers.cache import ResponseCache, default_cache_dir
from providers.policy import CachePolicy

runner = CliRunner()
TWO_DAYS = 2 * 86400


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def fill(monkeypatch: pytest.MonkeyPatch) -> ResponseCache:
    """Three entries, in this order: one stored two days ago, one written before entries
    had a ``stored_at`` (counts as old), one stored now."""
    cache = ResponseCache(CachePolicy())
    then = time.time() - TWO_DAYS
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: then)
        cache.put_message("old", AIMessage("old answer"))
    with diskcache.Cache(str(cache.directory)) as raw:
        raw.set("legacy", {"message": {"type": "ai", "data": {"content": "legacy"}}})
    cache.put_message("new", AIMessage("new answer"))
    return cache


def test_parse_duration() -> None:
    assert [parse_duration(t) for t in ("30s", "15m", "24h", "7d", "1.5h", " 2D ")] == [
        30, 900, 86400, 604800, 5400, 172800]
    for bad in ("24x", "h", "", "-1h", "7", "1h30m"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


def test_stats_counts_entries_and_ages(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = fill(monkeypatch)
    cache.close()
    code, out, _ = run("--format", "json", "cache", "stats")
    assert code == 0
    data = json.loads(out)
    assert data["directory"] == str(default_cache_dir())
    assert data["entries"] == 3 and data["bytes"] > 0 and data["enabled"] is True
    assert TWO_DAYS <= data["oldest_age_seconds"] < TWO_DAYS + 60
    assert 0 <= data["newest_age_seconds"] < 60

    code, out, _ = run("cache", "stats")
    assert code == 0
    assert "entries    3" in out and "oldest     2d" in out


def test_clear_older_than_removes_only_old_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = fill(monkeypatch)
    code, _, err = run("cache", "clear", "--older-than", "24h")
    assert code == 0
    assert "removed 2 entries" in err
    assert cache.get("old") is None and cache.get("legacy") is None
    entry = cache.get("new")
    assert entry is not None and ResponseCache.decode(entry)[0].content == "new answer"

    code, _, err = run("cache", "clear", "--older-than", "3d")
    assert (code, "removed 0 entries" in err) == (0, True)
    code, _, err = run("cache", "clear")
    assert (code, "removed 1 entry " in err) == (0, True)
    assert cache.stats()["entries"] == 0
    cache.close()


@pytest.mark.parametrize("value", ["24x", "soon", "7"])
def test_bad_duration_exits_2_naming_the_option(monkeypatch: pytest.MonkeyPatch,
                                                value: str) -> None:
    fill(monkeypatch).close()
    code, _, err = run("cache", "clear", "--older-than", value)
    assert code == 2
    assert "--older-than" in err and "not a duration" in err
    assert ResponseCache(CachePolicy()).stats()["entries"] == 3  # nothing was removed


def test_path_and_an_empty_cache_left_uncreated(tmp_path: Path) -> None:
    code, out, _ = run("cache", "path")
    assert (code, out.strip()) == (0, str(tmp_path / "cache" / "responses"))
    code, out, _ = run("--format", "json", "cache", "stats")
    assert json.loads(out)["entries"] == 0
    code, _, err = run("cache", "clear")
    assert code == 0 and "empty" in err
    assert not (tmp_path / "cache" / "responses").exists()


def test_configured_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALAGENT_CACHING__DIRECTORY", str(tmp_path / "elsewhere"))
    code, out, _ = run("cache", "path")
    assert (code, out.strip()) == (0, str(tmp_path / "elsewhere"))
    ResponseCache(CachePolicy(), directory=tmp_path / "elsewhere").put_message(
        "k", AIMessage("a"))
    code, out, _ = run("--format", "json", "cache", "stats")
    assert (code, json.loads(out)["entries"]) == (0, 1)
