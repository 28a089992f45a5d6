"""The process environment as data: streams, terminal awareness, API URL, state directories.

Whether each stream is a terminal is decided once here and passed on as data, rather
than re-checked with isatty() throughout the code; tests build an Environment (or pass
its fields) instead of patching sys or spawning a pseudo-terminal.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from llamactl.output.sink import Output

DEFAULT_API_URL = "https://api.deepinfra.com"
API_URL_VARIABLES = ("DEEPINFRA_HOST", "DEEPINFRA_BASE_URL")


def resolve_api_url(flag: str | None, environ: Mapping[str, str]) -> str:
    """`--api-url`, else DEEPINFRA_HOST (deepctl's), else DEEPINFRA_BASE_URL, else production."""
    for candidate in (flag, *(environ.get(name) for name in API_URL_VARIABLES)):
        if candidate:
            return candidate.rstrip("/")
    return DEFAULT_API_URL


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and the loopback addresses, where plain http cannot leak a token."""
    if not host:
        return False
    host = host.strip("[]").lower()
    return host == "localhost" or host.endswith(".localhost") or host == "::1" or host.startswith("127.")


def api_host(api_url: str) -> str:
    """The host[:port] part of an API URL: the key under which tokens are stored."""
    return urlsplit(api_url).netloc or api_url


def stream_is_terminal(stream: IO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def stdin_can_be_read(stream: IO) -> bool:
    """Read stdin only from a pipe, a socket or a regular file, so a CI job never blocks.

    A terminal or a character device such as /dev/null is never read. A stream without a
    file descriptor (an in-memory test stream) counts as a pipe.
    """
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, ValueError, OSError):
        return True
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


@dataclass
class Environment:
    """Everything a command needs to know about where it runs.

    The terminal facts are fields: left as None they are detected from the streams once,
    here; a test sets them (`Environment(stdout_isatty=True, width=60)`) to render for a
    terminal in-process, as httpie's Environment(**overrides) allows.
    """

    api_url: str = DEFAULT_API_URL
    allow_insecure: bool = False
    debug: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    stdin: IO = field(default_factory=lambda: sys.stdin)
    stdout: IO = field(default_factory=lambda: sys.stdout)
    stderr: IO = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool | None = None
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    no_color: bool | None = None  # NO_COLOR or TERM=dumb: Rich lays out, but without colour
    width: int | None = None  # terminal columns; None lets Rich ask the terminal
    # A spinner while waiting: only on a real terminal's stderr that can erase a line (a test
    # that sets stderr_isatty gets none unless it sets this too).
    spinner: bool | None = None

    def __post_init__(self) -> None:
        if self.stdin_isatty is None:
            self.stdin_isatty = stream_is_terminal(self.stdin)
        if self.stdout_isatty is None:
            self.stdout_isatty = stream_is_terminal(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = stream_is_terminal(self.stderr)
        if self.no_color is None:
            self.no_color = bool(self.environ.get("NO_COLOR")) or self.environ.get("TERM") == "dumb"
        if self.spinner is None:
            self.spinner = (
                bool(self.stderr_isatty)
                and stream_is_terminal(self.stderr)
                and self.environ.get("TERM") != "dumb"
            )

    @cached_property
    def output(self) -> Output:
        """The run's one output sink, built on first use."""
        from llamactl.output.sink import Output

        return Output(self)

    @property
    def api_host(self) -> str:
        return api_host(self.api_url)

    @property
    def state_dir(self) -> Path:
        """LLAMACTL_HOME, else the platform's config directory: config and the token file."""
        return self._platform_dir("user_config_dir")

    @property
    def data_dir(self) -> Path:
        """LLAMACTL_HOME, else the platform's data directory: history."""
        return self._platform_dir("user_data_dir")

    @property
    def cache_dir(self) -> Path:
        """LLAMACTL_HOME, else the platform's cache directory: the model list."""
        return self._platform_dir("user_cache_dir")

    def _platform_dir(self, kind: str) -> Path:
        """LLAMACTL_HOME (from `environ`) wins; otherwise platformdirs decides: XDG on Linux
        (honouring XDG_*_HOME from the process environment), ~/Library on macOS,
        %LOCALAPPDATA% on Windows. Imported only here, so runs that need no directory
        never load it."""
        home = self.environ.get("LLAMACTL_HOME")
        if home:
            return Path(home).expanduser()
        import platformdirs

        return Path(getattr(platformdirs, kind)("llamactl", appauthor=False)).expanduser()

    def stdin_readable(self) -> bool:
        return stdin_can_be_read(self.stdin)


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) as a 0700 directory; tighten it if it already exists."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        path.chmod(0o700)
    return path
