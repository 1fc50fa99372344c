"""The Dockerfile's essentials (no Docker engine or hadolint here: checked by reading it)."""

import re
import tomllib

from deploy_support import ROOT

DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements.lock"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def pins(lines: list[str]) -> dict[str, str]:
    result = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            result[re.sub(r"[-_.]+", "-", name).lower()] = version
    return result


def test_multi_stage_from_a_pinned_slim_python() -> None:
    steps = instructions()
    froms = [args for op, args in steps if op == "FROM"]
    assert len(froms) == 2
    assert froms[0].endswith(" AS build")
    base = next(args for op, args in steps if op == "ARG" and args.startswith("PYTHON_IMAGE="))
    image = base.split("=", 1)[1]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", image)
    assert "latest" not in DOCKERFILE.read_text()
    assert any(op == "COPY" and args.startswith("--from=build ") for op, args in steps)


def test_runs_as_a_numeric_non_root_user_matching_the_deployment() -> None:
    users = [args for op, args in instructions() if op == "USER"]
    assert users == ["10001:10001"]


def test_dependencies_come_pinned_from_the_lock_without_cache() -> None:
    runs = [args for op, args in instructions() if op == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert any("-r requirements.lock" in r for r in installs)
    assert all("--no-cache-dir" in r for r in installs)
    assert any("--no-deps ." in r for r in installs)  # the package adds no unpinned dependency
    lock = pins(LOCK.read_text(encoding="utf-8").splitlines())
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", v) for v in lock.values()), lock
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    direct = pins(project["dependencies"])
    assert {name: lock.get(name) for name in direct} == direct


def test_read_only_root_filesystem_friendly() -> None:
    steps = instructions()
    runtime = steps[[i for i, (op, _) in enumerate(steps) if op == "FROM"][1] :]
    env = " ".join(args for op, args in runtime if op == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # no .pyc written next to the code at runtime
    assert any(op == "RUN" and "compileall" in args for op, args in steps)  # compiled at build instead
    assert ("WORKDIR", "/tmp") in runtime
    assert not any(op == "VOLUME" for op, _ in steps)


def test_entrypoint_is_the_cli_and_context_is_trimmed() -> None:
    steps = instructions()
    assert ("ENTRYPOINT", '["greenshift"]') in steps
    assert ("CMD", '["run"]') in steps
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "tests"} <= set(ignored)
