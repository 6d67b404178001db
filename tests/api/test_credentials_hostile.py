"""Credentials under hostile conditions: whitespace and control characters around and inside
values, a symlinked credentials file, and a configuration directory that cannot be written."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.api.credentials import (
    Credentials,
    load_credentials,
    read_credentials_file,
    save_credentials,
    update_credentials_file,
)
from assembla_mirror.cli import cli
from assembla_mirror.errors import AuthError, ConfigError
from assembla_mirror.simulator import Simulator

from .simulated import everything_secret, new_world, serving, settings_for


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with serving(new_world()) as running:
        yield running


def write_file(path: Path, data: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path


# -- (a) whitespace around values, control characters inside them ---------------------------


def test_whitespace_around_environment_values_is_dropped_and_the_key_works(
    sim: Simulator, tmp_path: Path
) -> None:
    env = {
        # as from `export ASSEMBLA_API_KEY="$(cat key.txt)"` with a CRLF file, or a paste
        "ASSEMBLA_API_KEY": f"  {sim.credentials.api_key}\r\n",
        "ASSEMBLA_API_SECRET": f"\t{sim.credentials.api_secret} \n",
        "ASSEMBLA_CLIENT_ID": " client-1 ",
        "ASSEMBLA_CLIENT_SECRET": "cs-1\n",
    }
    creds = load_credentials(env, tmp_path / "none.json")
    assert creds.api_key == sim.credentials.api_key
    assert creds.api_secret == sim.credentials.api_secret
    assert (creds.client_id, creds.client_secret) == ("client-1", "cs-1")
    with AssemblaClient(settings_for(sim), creds) as client:  # headers accepted, key valid
        assert client.whoami()


def test_whitespace_around_file_values_is_dropped(tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "credentials.json",
        {"access_token": " a-1\n", "username": "\talice ", "password": " pass word \n"},
    )
    creds = load_credentials({}, path)
    assert creds.access_token == "a-1"
    assert creds.username == "alice"
    assert creds.password == " pass word "  # a space may belong to a password; a newline not


def test_a_value_of_only_whitespace_counts_as_unset(tmp_path: Path) -> None:
    path = write_file(tmp_path / "credentials.json", {"api_key": "k-1", "api_secret": "s-1"})
    creds = load_credentials({"ASSEMBLA_API_KEY": " \n", "ASSEMBLA_API_SECRET": "\t"}, path)
    assert (creds.api_key, creds.origin("api_key")) == ("k-1", "file")


@pytest.mark.parametrize("inside", ["\n", "\r\n", "\x00", "\x1b[2J", "\t", "\x7f", "\x85"])
@pytest.mark.parametrize("variable", ["ASSEMBLA_API_KEY", "ASSEMBLA_ACCESS_TOKEN"])
def test_a_control_character_inside_an_environment_value_is_refused_by_name(
    tmp_path: Path, inside: str, variable: str
) -> None:
    value = f"secret-part-1{inside}X-Injected: secret-part-2"
    env = {variable: value, "ASSEMBLA_API_SECRET": "s-1"}
    with pytest.raises(AuthError) as caught:
        load_credentials(env, tmp_path / "none.json")
    message = str(caught.value)
    assert variable in message
    assert "control character" in message
    assert "secret-part" not in message
    assert "\n" not in message


def test_a_control_character_inside_a_file_value_is_refused_by_name(tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "credentials.json", {"username": "alice", "password": "pw-1\npw-2"}
    )
    with pytest.raises(AuthError) as caught:
        load_credentials({}, path)
    message = str(caught.value)
    assert "password" in message
    assert str(path) in message
    assert "pw-" not in message


# -- (b) a symlinked credentials file ---------------------------------------------------------


def test_a_refreshed_token_is_written_through_a_symlink(tmp_path: Path) -> None:
    real = write_file(
        tmp_path / "dotfiles" / "assembla.json",
        {"access_token": "a-old", "refresh_token": "r-1", "username": "alice"},
    )
    link = tmp_path / "config" / "credentials.json"
    link.parent.mkdir()
    link.symlink_to(real)

    assert update_credentials_file(link, access_token="a-new") == link

    assert link.is_symlink()
    assert link.resolve() == real
    assert read_credentials_file(real) == {
        "access_token": "a-new",
        "refresh_token": "r-1",
        "username": "alice",
    }
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    # The temporary file lived beside the target (so the rename is atomic) and is gone.
    assert sorted(p.name for p in real.parent.iterdir()) == ["assembla.json"]
    assert sorted(p.name for p in link.parent.iterdir()) == ["credentials.json"]


def test_save_through_a_relative_symlink_chain(tmp_path: Path) -> None:
    real = write_file(tmp_path / "store" / "real.json", {"api_key": "k-0", "api_secret": "s-0"})
    middle = tmp_path / "store" / "middle.json"
    middle.symlink_to("real.json")  # relative, and a link to a link
    link = tmp_path / "credentials.json"
    link.symlink_to(os.path.relpath(middle, tmp_path))
    save_credentials(Credentials(api_key="k-1", api_secret="s-1"), link)
    assert link.is_symlink()
    assert middle.is_symlink()
    assert read_credentials_file(real) == {"api_key": "k-1", "api_secret": "s-1"}
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


# -- (c) a configuration directory that cannot be written ----------------------------------


def test_save_under_a_regular_file_names_the_path_and_the_way_out(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("not a directory")
    path = tmp_path / "home" / ".config" / "assembla-mirror" / "credentials.json"
    with pytest.raises(ConfigError) as caught:
        save_credentials(Credentials(api_key="k-1", api_secret="s-1"), path)
    message = str(caught.value)
    assert str(path) in message
    assert "Not a directory" in message
    assert "ASSEMBLA_MIRROR_CONFIG" in message
    assert "k-1" not in message


def auth_in(sim: Simulator, monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, str]:
    """``mirror auth`` with the key pair typed at the prompts and the given environment."""
    monkeypatch.delenv("ASSEMBLA_MIRROR_CONFIG")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    creds = sim.credentials
    result = CliRunner().invoke(
        cli,
        ["auth", "--api-url", sim.api_url, "--rate-limit", "off"],
        input=f"{creds.api_key}\n{creds.api_secret}\n",
    )
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    for secret in everything_secret(sim):
        assert secret not in result.output
    return result.exit_code, result.output


def test_auth_with_home_under_a_regular_file(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.write_text("a file where HOME should be")
    status, output = auth_in(sim, monkeypatch, HOME=str(home))
    assert status == 2, output
    (error,) = [line for line in output.splitlines() if line.startswith("Error:")]
    assert str(home / ".config" / "assembla-mirror" / "credentials.json") in error
    assert "Not a directory" in error
    assert "ASSEMBLA_MIRROR_CONFIG" in error


def test_auth_with_a_read_only_config_directory(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chmod does not stop root; sysfs refuses new directories to everyone.
    config_home = Path("/sys/assembla-mirror-test")
    try:
        config_home.mkdir()
    except OSError as exc:
        reason = exc.strerror
    else:
        config_home.rmdir()
        pytest.skip("/sys accepts new directories here")
    status, output = auth_in(sim, monkeypatch, XDG_CONFIG_HOME=str(config_home))
    assert status == 2, output
    (error,) = [line for line in output.splitlines() if line.startswith("Error:")]
    assert str(config_home / "assembla-mirror" / "credentials.json") in error
    assert str(reason) in error
    assert "ASSEMBLA_MIRROR_CONFIG" in error


def test_a_link_to_an_unwritable_place_names_both(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    link = tmp_path / "credentials.json"
    link.symlink_to(tmp_path / "file" / "credentials.json")
    with pytest.raises(ConfigError) as caught:
        save_credentials(Credentials(api_key="k-1", api_secret="s-1"), link)
    assert f"{link} (a link to {tmp_path / 'file' / 'credentials.json'})" in str(caught.value)
