"""The README's commands and example are what CI and users run."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    shell = blocks("sh")
    assert len(shell) >= 2
    assert "adcore simulate" in shell[0] and "--report" in shell[0]
    test_command = shell[1].strip()
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_embedding_example_runs_as_written() -> None:
    (example,) = blocks("python")
    assert len(example.strip().splitlines()) <= 25
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[0] == "a1 a1 1.0"
    assert lines[-1] == "1000"
    assert any("auction" in line for line in lines)
