"""``mirror get`` (raw API access, for debugging) and ``mirror auth`` (storing credentials).

Secrets are read from hidden prompts or the environment, never from options
or arguments: a command line ends up in shell history and ``ps`` output.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from assembla_mirror.api.auth import authorization_url, exchange_pin
from assembla_mirror.api.client import AssemblaClient, RawResponse
from assembla_mirror.api.credentials import (
    ENV_VARS,
    GROUPS,
    MASK,
    Credentials,
    config_path,
    load_credentials,
    read_credentials_file,
    save_credentials,
)
from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.cli.base import api_options, cli
from assembla_mirror.errors import AuthError
from assembla_mirror.model.convert import UnreadableItem
from assembla_mirror.pages.jsonlist import JsonList

API_ACCESS_FIELDS = GROUPS[0]  # key pair and tokens: a new login replaces all of them


@cli.command("get")
@click.argument("path")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Query parameter; repeat a key for a list (-p 'users[]=a' -p 'users[]=b').",
)
@click.option("--legacy", is_flag=True, help="Ask the legacy XML host (prints the XML).")
@click.option("--all", "all_pages", is_flag=True, help="Follow pages; print one JSON array.")
@api_options
def get_command(
    path: str,
    params: tuple[str, ...],
    legacy: bool,
    all_pages: bool,
    settings: ClientSettings,
) -> None:
    """Print the JSON of any Assembla API path, pretty-printed.

    PATH may omit the /v1 prefix. Credentials come from the environment or
    `mirror auth`, as for a sync.

    \b
    Examples:
      mirror get user
      mirror get spaces/my-space/tickets -p report=0 --all
      mirror get --legacy user/time_entries/123/time_logs
    """
    if all_pages and legacy:
        raise click.UsageError("--all follows pages of v1 lists; the legacy host is not paged")
    query = parse_params(params)
    with AssemblaClient(settings) as client:
        if all_pages:
            pages = client.iter_decoded(path, query, JsonList.decode)
            echo_pages(page for _number, page, _last in pages if page is not None)
            return
        echo_raw(client.raw_get(path, query, legacy=legacy))


def echo_pages(pages: Iterable[JsonList]) -> None:
    """Every item of ``pages`` as one JSON array, pretty-printed; an element nested too
    deeply to parse is printed as received, with a note."""
    shown = []
    for page in pages:
        for item, text in zip(page.items, page.texts, strict=True):
            if isinstance(item, UnreadableItem):
                click.echo(
                    f"(element {item.record_id!r} is nested too deeply to pretty-print; "
                    "it is shown as received)",
                    err=True,
                )
                shown.append(text)
            else:
                shown.append(json.dumps(item, indent=2, ensure_ascii=False))
    click.echo("[\n" + ",\n".join(textwrap.indent(text, "  ") for text in shown) + "\n]")


def parse_params(params: tuple[str, ...]) -> dict[str, Any]:
    """``("a=1", "b[]=x", "b[]=y")`` -> ``{"a": "1", "b[]": ["x", "y"]}``."""
    query: dict[str, Any] = {}
    for param in params:
        key, sep, value = param.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{param!r} is not KEY=VALUE", param_hint="--param")
        if key in query:
            previous = query[key]
            query[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            query[key] = value
    return query


def echo_raw(raw: RawResponse) -> None:
    """JSON pretty-printed; anything else (XML, text) as received."""
    if not raw.text.strip():
        click.echo(f"(HTTP {raw.status}: no content)", err=True)
        return
    if "json" in raw.content_type:
        try:
            pretty = json.dumps(json.loads(raw.text), indent=2, ensure_ascii=False)
        except ValueError:
            click.echo("(the body is not valid JSON; shown as received)", err=True)
        except RecursionError:  # json recurses once per level of nesting, in C and in Python
            click.echo(
                "(the body is nested too deeply to pretty-print; shown as received)", err=True
            )
        else:
            click.echo(pretty)
            return
    click.echo(raw.text)


@cli.command("auth")
@click.option("--pin", is_flag=True, help="Log in with OAuth (PIN code) instead of an API key.")
@click.option(
    "--legacy-login",
    is_flag=True,
    help="Also store the login and password of the legacy host (needed for time logs).",
)
@click.option("--status", is_flag=True, help="Show where each credential comes from, masked.")
@api_options
def auth_command(pin: bool, legacy_login: bool, status: bool, settings: ClientSettings) -> None:
    """Check Assembla credentials and store them for later runs (file mode 0600).

    By default asks for a personal API key and secret (Assembla profile, "API
    Applications & Sessions"). With --pin, uses an OAuth client
    (ASSEMBLA_CLIENT_ID/ASSEMBLA_CLIENT_SECRET, or asked) and the PIN shown on
    the authorization page; the refresh token is stored so cron runs can keep
    going. Secrets are only ever read from hidden prompts.

    \b
    Examples:
      mirror auth
      mirror auth --pin --legacy-login
      mirror auth --status
    """
    path = config_path()
    if status:
        show_status(path)
        return
    new = pin_login(settings) if pin else key_login(settings)
    values = {**existing_values(path), **new}
    if legacy_login:
        values["username"] = click.prompt("Legacy login (username)").strip()
        values["password"] = click.prompt("Legacy password", hide_input=True)
    written = save_credentials(Credentials.from_values(values), path)
    click.echo(f"Saved credentials to {written} (mode 0600)")
    overriding = [  # environment values that differ from what was just saved win over it
        ENV_VARS[name]
        for name, value in values.items()
        if value and os.environ.get(ENV_VARS[name]) not in (None, "", value)
    ]
    if overriding:
        click.echo(f"Note: {', '.join(overriding)} in the environment take precedence.", err=True)


def key_login(settings: ClientSettings) -> dict[str, str | None]:
    """Ask for an API key pair and check it; the stored tokens it replaces are dropped."""
    key = click.prompt("API key", hide_input=True).strip()
    secret = click.prompt("API secret", hide_input=True).strip()
    verify(settings, Credentials(api_key=key, api_secret=secret))
    return {**dict.fromkeys(API_ACCESS_FIELDS), "api_key": key, "api_secret": secret}


def pin_login(settings: ClientSettings) -> dict[str, str | None]:
    """Run the OAuth PIN flow and check the token; the key pair it replaces is dropped."""
    client_id = os.environ.get("ASSEMBLA_CLIENT_ID") or click.prompt(
        "OAuth client id", hide_input=True
    )
    client_secret = os.environ.get("ASSEMBLA_CLIENT_SECRET") or click.prompt(
        "OAuth client secret", hide_input=True
    )
    click.echo("Open this page, allow access, and copy the PIN it shows:")
    click.echo(f"  {authorization_url(settings.api_url, client_id.strip())}")
    pin = click.prompt("PIN", hide_input=True)
    grant = exchange_pin(
        settings.api_url,
        client_id.strip(),
        client_secret.strip(),
        pin,
        timeout=settings.timeouts.total,
    )
    tokens = {
        "access_token": grant.access_token,
        "refresh_token": grant.refresh_token,
        "client_id": client_id.strip(),
        "client_secret": client_secret.strip(),
    }
    verify(settings, Credentials.from_values(tokens))
    return {**dict.fromkeys(API_ACCESS_FIELDS), **tokens}


def verify(settings: ClientSettings, credentials: Credentials) -> None:
    """Call ``GET /v1/user`` with ``credentials`` and say who they belong to."""
    with AssemblaClient(settings, credentials) as client:
        me = client.whoami()
    click.echo(f"Authenticated as {me.get('login') or me.get('name') or me.get('id')}")


def existing_values(path: Path) -> dict[str, str | None]:
    """What the file holds already (kept unless replaced); an unusable file is replaced."""
    try:
        return dict(read_credentials_file(path))
    except AuthError as exc:
        click.echo(f"Replacing the existing file: {exc}", err=True)
        return {}


def show_status(path: Path) -> None:
    """Print where each credential comes from (env, file, none), with values masked."""
    creds = load_credentials(path=path)
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        click.echo(f"Credentials file: {path} (mode {mode:04o})")
    else:
        click.echo(f"Credentials file: {path} (not created yet; run `mirror auth`)")
    if creds.has_api_key:
        method = "API key and secret"
    elif creds.uses_bearer:
        method = "OAuth token" + (" (refreshable)" if creds.can_refresh else " (cannot refresh)")
    else:
        method = "none: run `mirror auth`"
    click.echo(f"API access: {method}")
    legacy = "yes" if creds.has_legacy_login else "no (time logs are skipped)"
    click.echo(f"Legacy login: {legacy}")
    for name, variable in ENV_VARS.items():
        value = getattr(creds, name)
        shown = "-" if value is None else (value if name == "username" else MASK)
        click.echo(f"  {variable:<24} {creds.origin(name):<5} {shown}")
