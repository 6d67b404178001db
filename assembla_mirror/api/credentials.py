"""Credentials: where they come from, where they are kept, and how they are masked.

Sources, in order (the environment always wins)::

    ASSEMBLA_API_KEY + ASSEMBLA_API_SECRET          personal key pair (X-Api-Key/X-Api-Secret)
    ASSEMBLA_ACCESS_TOKEN [+ ASSEMBLA_REFRESH_TOKEN] OAuth bearer token
    ASSEMBLA_CLIENT_ID + ASSEMBLA_CLIENT_SECRET     OAuth client, needed to refresh a token
    ASSEMBLA_USERNAME + ASSEMBLA_PASSWORD           legacy XML host (time logs)
    then the credentials file written by `mirror auth` (see :func:`config_path`)

Variables come in groups (API access, OAuth client, legacy login). A group the
environment sets at all is taken from the environment as a whole and never
mixed with the file's values, so a token from one session is never paired with
a refresh token from another. Secrets are never read from the command line.

Whitespace around a value (a trailing newline from ``$(cat file)``, a pasted
space) is dropped, wherever it comes from; a value with a control character or
line break inside it is refused, naming the variable or field, never the value.
Passwords keep their spaces, which may belong to them.

The file is JSON with the field names of :class:`Credentials`. It is written
atomically, created with mode 0600 inside a 0700 directory, and refused when
group- or world-readable (another user could have read it). When it is a
symbolic link, the link's target is rewritten and the link kept.

Keeping secrets out of output is also here: :func:`sanitize_url`,
:func:`redact`, and a filter that sanitizes the URLs in httpx's request log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from assembla_mirror.errors import AuthError, ConfigError

#: Fields whose values must never be printed, logged or put in an error message.
SECRET_FIELDS = (
    "api_key",
    "api_secret",
    "access_token",
    "refresh_token",
    "client_secret",
    "password",
)

#: Environment variable of each field.
ENV_VARS = {
    "api_key": "ASSEMBLA_API_KEY",
    "api_secret": "ASSEMBLA_API_SECRET",
    "access_token": "ASSEMBLA_ACCESS_TOKEN",
    "refresh_token": "ASSEMBLA_REFRESH_TOKEN",
    "client_id": "ASSEMBLA_CLIENT_ID",
    "client_secret": "ASSEMBLA_CLIENT_SECRET",
    "username": "ASSEMBLA_USERNAME",
    "password": "ASSEMBLA_PASSWORD",
}

#: Fields taken together from one source (see the module docstring).
GROUPS = (
    ("api_key", "api_secret", "access_token", "refresh_token"),
    ("client_id", "client_secret"),
    ("username", "password"),
)

#: Pairs that make no sense alone: (field, partner).
_PAIRS = (("api_key", "api_secret"), ("client_id", "client_secret"), ("username", "password"))

MASK = "********"


@dataclass(frozen=True)
class Credentials:
    """Everything the client may authenticate with; every field is optional.

    ``origins`` maps a field to ``"env"`` or ``"file"`` and ``file_path`` names
    the file read, so a refreshed token can be written back where it came from.
    Neither takes part in equality. ``repr``/``str`` mask every value but the
    legacy username.
    """

    api_key: str | None = None
    api_secret: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    username: str | None = None
    password: str | None = None
    origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    file_path: Path | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={self._masked(name)}" for name in ENV_VARS if getattr(self, name) is not None
        )
        return f"Credentials({shown})"

    __str__ = __repr__

    def _masked(self, name: str) -> str:
        value = getattr(self, name)
        return repr(value) if name == "username" else MASK

    def secrets(self) -> list[str]:
        """The non-empty secret values (what must never appear in output)."""
        return [value for name in SECRET_FIELDS if (value := getattr(self, name))]

    def origin(self, name: str) -> str:
        """Where field ``name`` came from: ``"env"``, ``"file"``, ``"none"`` (unset), or
        ``"given"`` (set by the caller, not by :func:`load_credentials`)."""
        if getattr(self, name) is None:
            return "none"
        return self.origins.get(name, "given")

    @property
    def has_api_key(self) -> bool:
        """A personal key pair is present (it wins over a bearer token)."""
        return bool(self.api_key and self.api_secret)

    @property
    def uses_bearer(self) -> bool:
        """No key pair, but an OAuth access token (or a refresh token to get one)."""
        return not self.has_api_key and bool(self.access_token or self.can_refresh)

    @property
    def can_refresh(self) -> bool:
        """A refresh token and the OAuth client it belongs to are present."""
        return bool(self.refresh_token and self.client_id and self.client_secret)

    @property
    def has_legacy_login(self) -> bool:
        """Username and password for the legacy XML host are present."""
        return bool(self.username and self.password)

    @classmethod
    def from_values(cls, values: Mapping[str, str | None]) -> Credentials:
        """Credentials from a mapping of field names (other keys are ignored)."""
        given: dict[str, Any] = {name: values.get(name) for name in ENV_VARS}
        return cls(**given)

    def stored_values(self) -> dict[str, str]:
        """The credential fields that are set, as written to the credentials file."""
        return {name: value for name in ENV_VARS if (value := getattr(self, name)) is not None}

    def with_(self, **changes: Any) -> Credentials:
        """Return a copy with ``changes`` applied."""
        return replace(self, **changes)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The credentials file: ``$ASSEMBLA_MIRROR_CONFIG``, else under ``$XDG_CONFIG_HOME``
    (default ``~/.config``) as ``assembla-mirror/credentials.json``."""
    env = os.environ if env is None else env
    if env.get("ASSEMBLA_MIRROR_CONFIG"):
        return Path(env["ASSEMBLA_MIRROR_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "assembla-mirror" / "credentials.json"


def load_credentials(env: Mapping[str, str] | None = None, path: Path | None = None) -> Credentials:
    """Credentials from the environment, then from the credentials file.

    Raises :class:`AuthError` when a pair is half set in the environment, or
    when the file is unsafe (group/world-readable) or not valid JSON.
    """
    env = os.environ if env is None else env
    path = config_path(env) if path is None else path
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    from_file: dict[str, str] | None = None
    for group in GROUPS:
        given = _cleaned(
            {name: env.get(ENV_VARS[name]) for name in group},
            lambda name: f"{ENV_VARS[name]} in the environment",
        )
        if not given:
            if from_file is None:
                from_file = read_credentials_file(path)
            given = _cleaned(
                {name: from_file.get(name) for name in group},
                lambda name: f"{name} in credentials file {path}",
            )
            origin = "file"
        else:
            origin = "env"
        values.update(given)
        origins.update(dict.fromkeys(given, origin))
    _check_pairs(values, origins, path)
    base = Credentials(
        origins=MappingProxyType(origins),
        file_path=path if "file" in origins.values() else None,
    )
    return replace(base, **values)


def clean_value(name: str, value: str, where: str) -> str:
    """``value`` of field ``name`` without surrounding whitespace (a password keeps
    its spaces); ``where`` names it in the :class:`AuthError` refusing a control
    character or line break inside (an HTTP header cannot carry one)."""
    value = value.strip("\t\n\r\v\f") if name == "password" else value.strip()
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise AuthError(
            f"{where} contains a control character or line break; set it to the value alone"
        )
    return value


def _cleaned(values: Mapping[str, str | None], where: Callable[[str], str]) -> dict[str, str]:
    """The set fields of ``values``, cleaned; a value of only whitespace counts as unset."""
    cleaned = {
        name: clean_value(name, value, where(name)) for name, value in values.items() if value
    }
    return {name: value for name, value in cleaned.items() if value}


def _check_pairs(values: Mapping[str, str], origins: Mapping[str, str], path: Path) -> None:
    for first, second in _PAIRS:
        if (first in values) == (second in values):
            continue
        present, missing = (first, second) if first in values else (second, first)
        where = (
            f"{ENV_VARS[present]} is set in the environment"
            if origins[present] == "env"
            else f"{path} has {present}"
        )
        raise AuthError(f"{where} but {ENV_VARS[missing]} is missing: set both, or neither")


def read_credentials_file(path: Path) -> dict[str, str]:
    """The string fields stored in ``path``; ``{}`` when it does not exist.

    Refuses a file other users could read, naming the ``chmod`` that fixes it.
    """
    try:
        handle = path.open("rb")
    except (FileNotFoundError, NotADirectoryError):  # no file can be there
        return {}
    except OSError as exc:
        raise AuthError(f"cannot read credentials file {path}: {exc.strerror}") from None
    with handle:
        mode = os.fstat(handle.fileno()).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AuthError(
                f"credentials file {path} is accessible by other users "
                f"(mode {stat.S_IMODE(mode):04o}); fix it with: chmod 600 {path}"
            )
        raw = handle.read()
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # The content is not echoed: it may hold secrets.
        raise AuthError(
            f"credentials file {path} is not a JSON object; run `mirror auth` to rewrite it"
        )
    return {key: value for key, value in data.items() if key in ENV_VARS and isinstance(value, str)}


def save_credentials(creds: Credentials, path: Path | None = None) -> Path:
    """Write the set fields of ``creds`` to ``path`` (default :func:`config_path`) atomically.

    The file is created with mode 0600 from the start (never widened, never
    chmod-ed after writing); a directory this creates gets mode 0700. A
    symbolic link is written through: its target is replaced, the link kept.
    Returns the path written. Raises :class:`ConfigError` naming the path and
    the reason when the directory or the file cannot be written.
    """
    path = config_path() if path is None else path
    # Replacing the link itself would cut it from the file it points to (kept in
    # a dotfiles repository, say), and leave that file with the stale token.
    target = Path(os.path.realpath(path))
    payload = json.dumps(creds.stored_values(), indent=2, sort_keys=True).encode() + b"\n"
    try:
        _write_atomically(target, payload)
    except OSError as exc:
        shown = f"{path} (a link to {target})" if path.is_symlink() else str(path)
        raise ConfigError(
            f"cannot write credentials file {shown}: {exc.strerror or exc}; "
            "set ASSEMBLA_MIRROR_CONFIG to a file in a writable directory"
        ) from None
    return path


def _write_atomically(path: Path, payload: bytes) -> None:
    directory = path.parent
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
    # mkstemp creates the file with mode 0600 (O_EXCL), so the secret is never
    # visible with wider permissions, not even for an instant.
    fd, temp_name = tempfile.mkstemp(prefix=".credentials-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(directory)


def update_credentials_file(path: Path, **changes: str | None) -> Path:
    """Rewrite ``path`` with ``changes`` applied (``None`` removes a field)."""
    current: dict[str, str | None] = dict(read_credentials_file(path))
    for name, value in changes.items():
        if name not in ENV_VARS:
            raise ValueError(f"unknown credential field {name!r}")
        if value is None:
            current.pop(name, None)
        else:
            current[name] = value
    return save_credentials(Credentials.from_values(current), path)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- keeping secrets out of messages and logs ----------------------------------

#: Query parameters never shown: OAuth grants (pin_code, refresh_token), keys, passwords.
SECRET_PARAM = re.compile(r"token|secret|key|pass|pin|code|auth|signature", re.IGNORECASE)


def sanitize_url(url: str) -> str:
    """``url`` without userinfo and without any query parameter that looks secret."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    query = urlencode(
        [
            (name, value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if not SECRET_PARAM.search(name)
        ]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every occurrence of a secret value replaced by a mask."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class _SanitizeUrls(logging.Filter):
    """Rewrites URL arguments of log records (httpx logs every request URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                sanitize_url(str(arg)) if _looks_like_url(arg) else arg for arg in record.args
            )
        return True


def _looks_like_url(value: object) -> bool:
    return type(value).__name__ == "URL" or (
        isinstance(value, str) and value.startswith(("http://", "https://"))
    )


_URL_FILTER = _SanitizeUrls()


def install_log_filter(logger_name: str = "httpx") -> None:
    """Sanitize the URLs ``logger_name`` logs (idempotent). Token requests carry
    their grant in the query string, and httpx would log it verbatim."""
    logger = logging.getLogger(logger_name)
    if _URL_FILTER not in logger.filters:
        logger.addFilter(_URL_FILTER)
