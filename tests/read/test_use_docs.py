"""The README's examples for reports, search, Datasette and pandas run as written against a
synced mirror (as ./assembla.db), so the documentation cannot rot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from assembla_mirror.cli import cli
from tests.read.use_mirror import SyncedAccount, rows

README = Path(__file__).resolve().parents[2] / "README.md"
SECTIONS = ("Reports", "Search", "Datasette", "pandas")


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def blocks(language: str) -> list[tuple[str, str]]:
    return [
        (title, block)
        for title in SECTIONS
        for block in re.findall(rf"```{language}\n(.*?)```", section(title), re.S)
    ]


def commands() -> list[tuple[str, str]]:
    """(section, line) of every `mirror ...` line in the sections' shell blocks."""
    found = []
    for title, block in blocks("bash"):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command.startswith("mirror "):
                found.append((title, command))
    return found


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, synced_account: SyncedAccount) -> Path:
    """A directory holding a copy of the shared mirror as ./assembla.db: the README's
    commands run there, and some of them write files beside it."""
    directory = tmp_path_factory.mktemp("docs")
    synced_account.copy_to(directory, "assembla.db")
    return directory


def test_the_sections_have_examples() -> None:
    titles = {title for title, _ in commands()}
    assert titles == {"Reports", "Search", "Datasette"}
    assert {title for title, _ in blocks("python")} == {"Reports", "pandas"}


@pytest.mark.parametrize(("title", "line"), commands())
def test_readme_command_runs(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, title: str, line: str
) -> None:
    monkeypatch.chdir(workdir)
    args = shlex.split(line)[1:]
    if args[0] == "datasette" and "--no-serve" not in args:
        args.append("--no-serve")  # the options are checked; serving is tested elsewhere
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, (title, line, result.output)
    if "csv" in args and args[:2] == ["report", "hours"]:
        assert "hours" in result.stdout.splitlines()[0].split(",")
    if "--chart" in args:
        assert (workdir / args[args.index("--chart") + 1]).is_file()


@pytest.mark.parametrize(("title", "code"), blocks("python"))
def test_readme_python_runs(
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    title: str,
    code: str,
) -> None:
    monkeypatch.chdir(workdir)
    exec(compile(code, f"README.md ({title})", "exec"), {})  # noqa: S102 - our own README
    printed = capsys.readouterr().out
    if "print(" in code:
        spaces = [name for (name,) in rows(workdir / "assembla.db", "SELECT name FROM spaces")]
        users = [name for (name,) in rows(workdir / "assembla.db", "SELECT name FROM users")]
        assert any(name in printed for name in spaces + users), printed
