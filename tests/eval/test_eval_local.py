"""CI smoke: one starter task on the embedded model (Gemma 3 270M, llama.cpp in-process)
completes and is scored. Whether it passes is not asserted: this model cannot do real work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.providers.test_local_model import gguf

__all__ = ["gguf"]  # the fixture
pytestmark = pytest.mark.slow  # the real embedded model
ROOT = Path(__file__).resolve().parents[2]


def test_one_starter_task_on_the_embedded_model_is_scored(gguf: str, tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    env = {**os.environ, "LOCALAGENT_PROVIDERS__LOCAL__MODEL_PATH": gguf,
           "LOCALAGENT_WORKFLOW__MAX_ITERATIONS": "0",
           "LOCALAGENT_WORKFLOW__MAX_PARALLEL_AGENTS": "1",
           "LOCALAGENT_WORKFLOW__AGENT_STEP_LIMIT": "3",
           # the harness is under test, not the review phases: up to validation
           "LOCALAGENT_WORKFLOW__PHASES": "[0, 1, 2, 3, 4, 5, 6]"}
    script = Path(sys.executable).parent / "localagent"
    done = subprocess.run(
        [str(script), "--format", "json", "--provider", "local", "eval",
         str(ROOT / "examples" / "eval"), "--tasks", "off-by-one", "--baseline", "direct",
         "--output", str(output)],
        capture_output=True, text=True, env=env, timeout=1500, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]  # 0: every attempt was scored
    summary = json.loads(done.stdout)["summary"]
    assert summary["workflow"]["scored"] == 1 and summary["direct"]["scored"] == 1
    records = json.loads(output.read_text())["results"]
    assert {r["mode"] for r in records} == {"workflow", "direct"}
    for record in records:
        assert record["outcome"] in ("passed", "failed")
        if record["outcome"] == "failed":  # a failure says where and why
            assert record["phase"] and record["reason"]
        # a call cut off by the provider's deadline (a slow, loaded machine) counts no call
        assert record["model_calls"] >= 1 or record["status"] == "providers_failed"
    direct = next(r for r in records if r["mode"] == "direct")
    assert direct["model_calls"] == 1
