"""The README's examples are tests: they must not rot.

* the first section gives exactly two commands, and ``.ci/run`` runs them verbatim;
* every ```sql block runs against a synced mirror;
* every ```python block runs (in a directory holding ``assembla.db``);
* every ``mirror ...`` line of a ```bash block parses with the real CLI's options.
"""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
from pathlib import Path

import click
import pytest

from assembla_mirror.cli import cli
from assembla_mirror.demo import DEMO_SEED
from assembla_mirror.simulator import Scale, Simulator, World
from tests.support import run_sync_in_process

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text("utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README) if lang == language]


def first_section() -> str:
    start = README.index("\n## ")
    return README[start : README.index("\n## ", start + 1)]


def test_first_section_gives_exactly_two_commands_that_ci_runs() -> None:
    commands = [body.strip() for lang, body in BLOCK.findall(first_section()) if lang == "bash"]
    assert len(commands) == 2
    install_and_demo, tests = commands
    assert "mirror demo" in install_and_demo
    assert "pytest" in tests
    ci = (REPO / ".ci" / "run").read_text("utf-8")
    assert install_and_demo in ci
    assert tests in ci
    assert os.access(REPO / ".ci" / "run", os.X_OK)


@pytest.fixture(scope="module")
def mirror_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("readme")
    # The demo account: its first space is the original wrapper README's "Big Project".
    world = World.generate(seed=DEMO_SEED, scale=Scale.preset("demo"))
    sim = Simulator(world)  # answering in-process: the examples need a mirror, not a wire
    assert run_sync_in_process(
        sim, directory / "assembla.db", with_comments=True, with_associations=True
    ).ok
    return directory


@pytest.mark.parametrize("sql", blocks("sql"), ids=lambda sql: sql.strip().splitlines()[0][:40])
def test_sql_examples_run(mirror_dir: Path, sql: str) -> None:
    with sqlite3.connect(mirror_dir / "assembla.db") as conn:
        for statement in (part.strip() for part in sql.split(";")):
            if statement:
                conn.execute(statement).fetchall()


def test_the_custom_field_example_finds_tickets(mirror_dir: Path) -> None:
    # An example that returns nothing on the demo teaches nothing: its title and value
    # are ones the demo account has.
    (sql,) = [body for body in blocks("sql") if "ticket_custom_fields AS f" in body]
    with sqlite3.connect(mirror_dir / "assembla.db") as conn:
        found = conn.execute(sql.strip().rstrip(";")).fetchall()
    conn.close()
    assert found


@pytest.mark.parametrize(
    "code", blocks("python"), ids=lambda code: code.strip().splitlines()[0][:40]
)
def test_python_examples_run(
    mirror_dir: Path, code: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(mirror_dir)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})  # noqa: S102
    capsys.readouterr()


def mirror_lines() -> list[str]:
    lines = []
    for body in blocks("bash"):
        for line in body.replace("\\\n", " ").splitlines():
            command = line.split("#", 1)[0].strip()
            for part in re.split(r"&&|\|\||;", command):
                part = part.strip()
                if part.startswith(("mirror ", ".venv/bin/mirror ")):
                    lines.append(part)
    return lines


@pytest.mark.parametrize("line", mirror_lines())
def test_cli_examples_parse(line: str) -> None:
    args = shlex.split(line)[1:]
    command: click.Command = cli
    while isinstance(command, click.Group):
        assert args, f"README names a command group without a command: {line}"
        name = args.pop(0)
        assert name in command.commands, f"unknown command {name!r} in README: {line}"
        command = command.commands[name]
    with command.make_context(command.name or "", args):  # raises on an unknown option
        pass


def test_every_command_is_documented() -> None:
    documented = {" ".join(shlex.split(line)[1:3]) for line in mirror_lines()}
    for name, command in cli.commands.items():
        names = (
            [f"{name} {sub}" for sub in command.commands]
            if isinstance(command, click.Group)
            else [name]
        )
        for full in names:
            assert any(
                d == full or d.startswith(full + " ") or d.split()[0] == full for d in documented
            ), full
