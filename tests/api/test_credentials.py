"""Credentials: sources and their order, file safety, masking, URL sanitizing."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from assembla_mirror.api.credentials import (
    Credentials,
    config_path,
    install_log_filter,
    load_credentials,
    read_credentials_file,
    redact,
    sanitize_url,
    save_credentials,
    update_credentials_file,
)
from assembla_mirror.errors import AuthError

ALL = Credentials(
    api_key="k-111",
    api_secret="s-222",
    access_token="a-333",
    refresh_token="r-444",
    client_id="c-555",
    client_secret="cs-666",
    username="alice",
    password="p-777",
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_file(path: Path, data: dict[str, str], file_mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    path.chmod(file_mode)
    return path


def test_repr_and_str_mask_every_secret() -> None:
    for text in (repr(ALL), str(ALL), f"{ALL}"):
        assert "alice" in text
        for secret in [*ALL.secrets(), "c-555"]:
            assert secret not in text


def test_secrets_lists_the_non_empty_secret_values() -> None:
    assert sorted(ALL.secrets()) == sorted(["k-111", "s-222", "a-333", "r-444", "cs-666", "p-777"])
    assert Credentials(username="bob", api_key="").secrets() == []


def test_config_path_order(tmp_path: Path) -> None:
    assert config_path({"ASSEMBLA_MIRROR_CONFIG": str(tmp_path / "c.json")}) == tmp_path / "c.json"
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "assembla-mirror" / "credentials.json"
    )
    assert config_path({}) == Path.home() / ".config" / "assembla-mirror" / "credentials.json"


def test_environment_first_then_the_file_for_what_it_did_not_give(tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "creds.json",
        {"api_key": "file-key", "api_secret": "file-secret", "username": "fu", "password": "fp"},
    )
    env = {"ASSEMBLA_API_KEY": "env-key", "ASSEMBLA_API_SECRET": "env-secret"}
    creds = load_credentials(env, path)
    assert (creds.api_key, creds.api_secret) == ("env-key", "env-secret")
    assert (creds.username, creds.password) == ("fu", "fp")
    assert creds.origin("api_key") == "env"
    assert creds.origin("username") == "file"
    assert creds.origin("access_token") == "none"
    assert creds.file_path == path


def test_a_group_set_in_the_environment_is_never_mixed_with_the_file(tmp_path: Path) -> None:
    path = write_file(tmp_path / "c.json", {"access_token": "old", "refresh_token": "file-r"})
    creds = load_credentials({"ASSEMBLA_ACCESS_TOKEN": "env-a"}, path)
    assert creds.access_token == "env-a"
    assert creds.refresh_token is None  # not paired with another session's refresh token
    assert creds.file_path is None


def test_token_from_the_environment(tmp_path: Path) -> None:
    env = {
        "ASSEMBLA_ACCESS_TOKEN": "a",
        "ASSEMBLA_REFRESH_TOKEN": "r",
        "ASSEMBLA_CLIENT_ID": "c",
        "ASSEMBLA_CLIENT_SECRET": "cs",
    }
    creds = load_credentials(env, tmp_path / "missing.json")
    assert creds.uses_bearer
    assert creds.can_refresh
    assert not creds.has_api_key


def test_half_a_pair_is_an_error_naming_the_missing_variable(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="ASSEMBLA_API_SECRET is missing"):
        load_credentials({"ASSEMBLA_API_KEY": "k"}, tmp_path / "none.json")
    with pytest.raises(AuthError, match="ASSEMBLA_USERNAME is missing"):
        load_credentials({"ASSEMBLA_PASSWORD": "p"}, tmp_path / "none.json")


def test_missing_file_and_empty_environment_give_empty_credentials(tmp_path: Path) -> None:
    creds = load_credentials({}, tmp_path / "none.json")
    assert creds == Credentials()


def test_default_environment_and_path_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSEMBLA_API_KEY", "k")
    monkeypatch.setenv("ASSEMBLA_API_SECRET", "s")
    assert load_credentials().api_key == "k"


@pytest.mark.parametrize("file_mode", [0o640, 0o604, 0o660, 0o644])
def test_a_file_other_users_can_read_is_refused_with_the_chmod_fix(
    tmp_path: Path, file_mode: int
) -> None:
    path = write_file(
        tmp_path / "creds.json", {"api_key": "k-111", "api_secret": "s-222"}, file_mode
    )
    with pytest.raises(AuthError) as caught:
        load_credentials({}, path)
    message = str(caught.value)
    assert f"chmod 600 {path}" in message
    assert "k-111" not in message
    assert "s-222" not in message


def test_an_unreadable_json_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text('{"api_key": "k-111", broken')
    path.chmod(0o600)
    with pytest.raises(AuthError, match="not a JSON object") as caught:
        load_credentials({}, path)
    assert "k-111" not in str(caught.value)


def test_save_creates_a_0600_file_in_a_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "credentials.json"
    assert save_credentials(ALL, path) == path
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert load_credentials({}, path) == ALL
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_save_never_widens_permissions_even_with_a_lax_umask(tmp_path: Path) -> None:
    old = os.umask(0o000)
    try:
        path = save_credentials(ALL, tmp_path / "c" / "credentials.json")
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_save_replaces_an_existing_file_atomically(tmp_path: Path) -> None:
    path = save_credentials(ALL, tmp_path / "credentials.json")
    inode = path.stat().st_ino
    save_credentials(Credentials(api_key="k2", api_secret="s2"), path)
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert read_credentials_file(path) == {"api_key": "k2", "api_secret": "s2"}
    assert mode(path) == 0o600


def test_update_changes_and_removes_fields(tmp_path: Path) -> None:
    path = save_credentials(ALL, tmp_path / "credentials.json")
    update_credentials_file(path, access_token="a-new", api_key=None)
    stored = read_credentials_file(path)
    assert stored["access_token"] == "a-new"
    assert "api_key" not in stored
    assert stored["username"] == "alice"


def test_sanitize_url_drops_userinfo_and_secret_parameters() -> None:
    url = (
        "https://user:pw@api.example.test:8443/token?grant_type=refresh_token"
        "&refresh_token=r-444&pin_code=123&api_key=k&page=2&X-Api-Secret=s"
    )
    clean = sanitize_url(url)
    assert clean == "https://api.example.test:8443/token?grant_type=refresh_token&page=2"


def test_redact_masks_known_secrets() -> None:
    assert redact("bad token a-333 for r-444", ALL.secrets()) == "bad token ******** for ********"


def test_httpx_request_log_is_sanitized(caplog: pytest.LogCaptureFixture) -> None:
    install_log_filter("httpx")
    install_log_filter("httpx")  # idempotent
    logger = logging.getLogger("httpx")
    assert len([f for f in logger.filters if type(f).__name__ == "_SanitizeUrls"]) == 1
    with caplog.at_level(logging.INFO, logger="httpx"):
        logger.info("HTTP Request: %s %s", "POST", "https://h.test/token?refresh_token=r-444")
    assert "r-444" not in caplog.text
    assert "https://h.test/token" in caplog.text
