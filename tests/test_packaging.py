"""A regular (non-editable) install works: migrations ship in the wheel, the commands run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The project built into a wheel and installed into its own directory."""
    root = tmp_path_factory.mktemp("installed")
    wheels, site = root / "wheels", root / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(REPO)],
        check=True,
    )
    (wheel,) = wheels.glob("assembla_mirror-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "assembla_mirror/migrations/env.py" in names
    assert any(name.startswith("assembla_mirror/migrations/versions/") for name in names)
    # the Datasette plugin's templates, and its entry point (Datasette finds it by that)
    for template in ("row", "table", "query"):
        assert f"assembla_mirror/read/datasette/plugin/templates/{template}.html" in names
    (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as archive:
        declared = archive.read(entry_points).decode()
    assert "[datasette]\nassembla_mirror = assembla_mirror.read.datasette.plugin" in declared
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASSEMBLA_")}
    env["PYTHONPATH"] = str(site)  # ahead of the editable checkout on sys.path
    env["ASSEMBLA_MIRROR_CONFIG"] = str(root / "credentials.json")
    return env


def run(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assembla_mirror", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_installed_copy_is_the_one_imported(installed: dict[str, str], tmp_path: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import assembla_mirror; print(assembla_mirror.__file__)"],
        env=installed,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.startswith(installed["PYTHONPATH"])


def test_migrations_run_from_the_wheel(installed: dict[str, str], tmp_path: Path) -> None:
    result = run(installed, "db", "upgrade", "--db", str(tmp_path / "m.db"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(head)" in result.stdout


def test_simulate_and_get_from_the_installed_package(
    installed: dict[str, str], tmp_path: Path
) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "assembla_mirror", "simulate", "--scale", "tiny"],
        env=installed,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        exports: dict[str, str] = {}
        while "ASSEMBLA_LEGACY_URL" not in exports or "ASSEMBLA_PASSWORD" not in exports:
            line = server.stdout.readline()
            assert line, server.stderr.read() if server.stderr else "simulator exited"
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").strip().partition("=")
                exports[key] = value.strip("'\"")
        env = {**installed, **exports}
        result = run(env, "get", "/v1/spaces", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        spaces = json.loads(result.stdout)
        assert isinstance(spaces, list)
        assert spaces
        assert all(len(space["id"]) == 22 for space in spaces)
    finally:
        server.terminate()
        server.wait(timeout=10)
