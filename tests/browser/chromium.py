"""Headless Chromium for the browser tests: the rendered DOM of a page (after its
JavaScript ran), screenshots saved as test artifacts, and a small DOM reader built on
the standard library's :mod:`html.parser`.

Every Chromium run gets a fresh profile directory and its own process group, and is
killed (the whole group: Chromium forks renderer and zygote processes) when it
exceeds its timeout or leaves children behind. The flags keep a headless browser
quiet on a machine without a network: without ``--disable-background-networking``
and its companions Chromium keeps retrying Google's services.

Where Chromium is missing the tests skip, saying how to install it, unless
``MIRROR_REQUIRE_BROWSER=1`` (CI) makes them fail instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Set to 1 to make a missing Chromium fail the browser tests rather than skip them.
REQUIRE_ENV = "MIRROR_REQUIRE_BROWSER"
#: Where screenshots go (default: ``<repo>/.artifacts/screenshots``).
ARTIFACTS_ENV = "MIRROR_TEST_ARTIFACTS"
#: A Chromium binary to use instead of the first of :data:`NAMES` on the ``PATH``.
BINARY_ENV = "MIRROR_CHROMIUM"
#: The names Chromium goes by on the ``PATH`` (Debian's package installs ``chromium``).
NAMES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = "install it with: apt-get install chromium"

#: Flags of every run: headless, no sandbox (CI runs as root), and no network of its own.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: Milliseconds of virtual time a page gets to load and run its scripts.
VIRTUAL_TIME_BUDGET_MS = 8000
#: Seconds a Chromium run may take in real time before it is killed.
TIMEOUT = 60.0
#: The screenshots' window, in pixels.
WINDOW_SIZE = (1280, 1600)


def find_chromium() -> str | None:
    """The Chromium binary to run: ``$MIRROR_CHROMIUM``, else the first of :data:`NAMES`
    on the ``PATH``; None when there is none."""
    chosen = os.environ.get(BINARY_ENV)
    if chosen:
        return shutil.which(chosen)
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_required() -> bool:
    """Whether a missing Chromium fails the tests (``MIRROR_REQUIRE_BROWSER=1``)."""
    return os.environ.get(REQUIRE_ENV, "") == "1"


def require_chromium() -> str:
    """The Chromium binary; otherwise skip the test, saying how to install it, or fail
    it when :func:`browser_required`."""
    found = find_chromium()
    if found is not None:
        return found
    chosen = os.environ.get(BINARY_ENV)
    looked = f"{BINARY_ENV}={chosen}" if chosen else ", ".join(NAMES)
    message = f"Chromium is not installed (looked for {looked}); {INSTALL_HINT}"
    if browser_required():
        pytest.fail(f"{message} ({REQUIRE_ENV}=1: the browser tests must run)", pytrace=False)
    pytest.skip(message)


def artifacts_dir() -> Path:
    """Where screenshots are saved (created): ``$MIRROR_TEST_ARTIFACTS``, else
    ``<repo>/.artifacts/screenshots``."""
    chosen = os.environ.get(ARTIFACTS_ENV)
    directory = Path(chosen) if chosen else REPO / ".artifacts" / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class ChromiumError(AssertionError):
    """A Chromium run failed or timed out (an assertion: the test fails with it)."""


def signal_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to ``process``'s group (started with ``start_new_session=True``, it
    leads its own); nothing when the group is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def run_chromium(*args: str, timeout: float = TIMEOUT) -> str:
    """Run Chromium with :data:`FLAGS`, a fresh profile and ``args``; its standard output.

    Raises :class:`ChromiumError` (with Chromium's last words) when it exits with an
    error or runs longer than ``timeout`` seconds; its whole process group is killed
    either way.
    """
    binary = require_chromium()
    with tempfile.TemporaryDirectory(prefix="mirror-chromium-") as profile:
        command = [
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
            *args,
        ]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            signal_group(process)
            out, err = process.communicate()
            raise ChromiumError(
                f"Chromium took over {timeout:g}s: {' '.join(args)}\n{_tail(err)}"
            ) from None
        finally:
            signal_group(process)  # renderers a finished browser left behind
        if process.returncode != 0:
            raise ChromiumError(
                f"Chromium exited with {process.returncode}: {' '.join(args)}\n{_tail(err)}"
            )
    return out.decode("utf-8", "replace")


def _tail(stderr: bytes, lines: int = 20) -> str:
    """The last lines of Chromium's standard error, for a failure message."""
    return "\n".join(stderr.decode("utf-8", "replace").splitlines()[-lines:])


def dump_dom(url: str, *, timeout: float = TIMEOUT) -> str:
    """The DOM of the page at ``url`` as Chromium serializes it after the page's scripts
    ran (``--dump-dom``)."""
    dom = run_chromium("--dump-dom", url, timeout=timeout)
    if "<html" not in dom.lower():
        raise ChromiumError(f"Chromium gave no document for {url}: {dom[:500]!r}")
    return dom


def artifact_name(name: str) -> str:
    """``name`` as a file name: anything but letters, digits, ``.``, ``_`` and ``-``
    becomes ``_`` (test ids hold slashes, brackets and colons)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "page"


def _screenshot_args(name: str, window_size: tuple[int, int]) -> tuple[Path, list[str]]:
    """Where the screenshot called ``name`` goes (any older one removed), and the flags
    saving it there."""
    target = artifacts_dir() / f"{artifact_name(name)}.png"
    target.unlink(missing_ok=True)
    width, height = window_size
    return target, [f"--screenshot={target}", f"--window-size={width},{height}"]


def _check_png(url: str, target: Path) -> Path:
    if not target.is_file() or target.stat().st_size == 0:
        raise ChromiumError(f"Chromium saved no screenshot of {url} at {target}")
    return target


def screenshot(
    url: str,
    name: str,
    *,
    window_size: tuple[int, int] = WINDOW_SIZE,
    timeout: float = TIMEOUT,
) -> Path:
    """Save a PNG of the page at ``url`` as ``<artifacts>/<name>.png`` (see
    :func:`artifacts_dir` and :func:`artifact_name`); its path."""
    target, flags = _screenshot_args(name, window_size)
    run_chromium(*flags, url, timeout=timeout)
    return _check_png(url, target)


def capture(
    url: str,
    name: str,
    *,
    window_size: tuple[int, int] = WINDOW_SIZE,
    timeout: float = TIMEOUT,
) -> tuple[str, Path]:
    """:func:`dump_dom` and :func:`screenshot` of the page at ``url`` in one Chromium run
    (half the time of two): the DOM after its scripts ran, and the PNG's path."""
    target, flags = _screenshot_args(name, window_size)
    dom = run_chromium(*flags, "--dump-dom", url, timeout=timeout)
    if "<html" not in dom.lower():
        raise ChromiumError(f"Chromium gave no document for {url}: {dom[:500]!r}")
    return dom, _check_png(url, target)


# -- reading the DOM --------------------------------------------------------------------------

#: Elements without an end tag.
VOID = frozenset(
    {
        *("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"),
        *("param", "source", "track", "wbr"),
    }
)


@dataclass(eq=False)
class Element:
    """One element of a parsed page: its tag, attributes, children (elements and text)."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        """The element's classes."""
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        """All the text inside the element, whitespace collapsed (script and style
        contents left out)."""
        return " ".join(" ".join(self._texts()).split())

    def _texts(self) -> Iterator[str]:
        for child in self.children:
            if isinstance(child, str):
                yield child
            elif child.tag not in ("script", "style"):
                yield from child._texts()

    def iter(self) -> Iterator[Element]:
        """This element and every element inside it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(
        self, tag: str | None = None, *, class_: str | None = None, id: str | None = None
    ) -> list[Element]:
        """Elements inside (or equal to) this one with the given tag, class and id."""
        return [
            element
            for element in self.iter()
            if (tag is None or element.tag == tag)
            and (class_ is None or class_ in element.classes)
            and (id is None or element.attrs.get("id") == id)
        ]

    def find(
        self, tag: str | None = None, *, class_: str | None = None, id: str | None = None
    ) -> Element | None:
        """The first element :meth:`find_all` would return, or None."""
        found = self.find_all(tag, class_=class_, id=id)
        return found[0] if found else None

    def one(
        self, tag: str | None = None, *, class_: str | None = None, id: str | None = None
    ) -> Element:
        """The first matching element; an assertion error naming what is missing if none."""
        found = self.find(tag, class_=class_, id=id)
        assert found is not None, f"no <{tag or '*'} class={class_!r} id={id!r}> in the page"
        return found


class _TreeBuilder(HTMLParser):
    """Builds :class:`Element` trees; tolerant of end tags that close several elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {key: value or "" for key, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {key: value or "" for key, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    """The document ``html`` as an :class:`Element` tree (its root is ``#document``)."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def render(url: str, *, timeout: float = TIMEOUT) -> Element:
    """The page at ``url`` as Chromium rendered it (:func:`dump_dom`), parsed."""
    return parse(dump_dom(url, timeout=timeout))


@dataclass
class Browser:
    """Opens pages of the served mirror in Chromium for one test, saving a screenshot of
    each under the test's name (see :func:`tests.browser.chromium.screenshot`)."""

    base_url: str
    test_name: str
    #: The screenshots saved so far, in order.
    shots: list[Path] = field(default_factory=list)

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (``/assembla/tickets?_size=5``) on the server."""
        return urljoin(self.base_url + "/", path)

    def open(self, path: str, *, screenshot: bool = True) -> Element:
        """The page at ``path`` as Chromium rendered it (after its scripts ran), parsed;
        a screenshot of it saved as ``<test name>--<path>.png`` (``index`` for ``/``) unless
        told not to."""
        url = self.url(path)
        if not screenshot:
            return render(url)
        dom, png = capture(url, f"{self.test_name}--{path.strip('/') or 'index'}")
        self.shots.append(png)
        return parse(dom)
