"""The process environment as data: streams, terminal awareness, API URL, state directories.

Whether each stream is a terminal is decided once here and passed on as data, rather
than re-checked with isatty() throughout the code; tests build an Environment (or pass
its fields) instead of patching sys or spawning a pseudo-terminal.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from llamactl.errors import UsageError
from llamactl.plain import field, record

if TYPE_CHECKING:
    from llamactl.output.sink import Output

DEFAULT_API_URL = "https://api.deepinfra.com"
API_URL_VARIABLES = ("DEEPINFRA_HOST", "DEEPINFRA_BASE_URL")
EXPECTED_API_URL = "give http(s)://host[:port] (--api-url, DEEPINFRA_HOST or DEEPINFRA_BASE_URL)"
OPENAI_PATH = "/v1/openai"  # DeepInfra's OpenAI-compatible API, under the API URL
OPENAI_URL_VARIABLE = "LLAMACTL_OPENAI_URL"  # any OpenAI-compatible server, instead of {api}/v1/openai


def resolve_api_url(flag: str | None, environ: Mapping[str, str]) -> str:
    """`--api-url`, else DEEPINFRA_HOST (deepctl's), else DEEPINFRA_BASE_URL, else production."""
    for candidate in (flag, *(environ.get(name) for name in API_URL_VARIABLES)):
        if candidate:
            return candidate.rstrip("/")
    return DEFAULT_API_URL


PAGER_VARIABLES = ("LLAMACTL_PAGER", "PAGER")
DEFAULT_PAGER = "less -FRX"


def resolve_pager(environ: Mapping[str, str]) -> str:
    """The pager for long output on a terminal, as git and gh choose it: LLAMACTL_PAGER,
    else PAGER, else `less -FRX`. Set but empty, or `cat`, means none ("")."""
    for name in PAGER_VARIABLES:
        if name in environ:
            command = environ[name].strip()
            return "" if command == "cat" else command
    return DEFAULT_PAGER


def refuse_credentials_in(api_url: str) -> str:
    """`api_url`, unless it holds a user name or password (`http://user:pw@host`): those
    would be shown in errors and `--debug` lines, stored in history, and turned by requests
    into Basic auth in place of the token. Refused (exit 2) rather than quietly dropped, so
    nobody believes they are in use."""
    parts = split_api_url(api_url)
    if "@" not in parts.netloc:
        return api_url
    from llamactl.errors import UsageError

    host = parts.netloc.rpartition("@")[2]
    raise UsageError(
        f"the API URL {parts.scheme}://***@{host} has a user name or password in it: "
        "llamactl authenticates with the API token alone",
        hint=f"use {parts.scheme}://{host} (--api-url, DEEPINFRA_HOST or DEEPINFRA_BASE_URL)",
    )


def is_loopback_host(host: str | None) -> bool:
    """True for exactly `localhost` and the literal loopback addresses (127.0.0.0/8, ::1),
    where plain http never leaves the machine. Decided by the literal, never by a prefix:
    `127.0.0.1.attacker.example` is a name anyone can point anywhere."""
    import ipaddress

    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or address).is_loopback


# The characters of an API host kept as they are in a cache file's name (others become _)
FILENAME_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")


def api_host(api_url: str) -> str:
    """The host[:port] part of an API URL: the key under which tokens are stored."""
    try:
        return urlsplit(api_url).netloc or api_url
    except ValueError:  # `http://[::1`: refused, with a message, where the URL is used
        return api_url


def split_api_url(api_url: str) -> SplitResult:
    """The parts of an API URL, or exit 2 for one that cannot be a URL (an unclosed `[`,
    a port that is not a number from 1 to 65535) rather than a crash wherever it is used."""
    try:
        parts = urlsplit(api_url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"invalid API URL {api_url!r}: {exc}", hint=EXPECTED_API_URL) from None
    if port == 0:
        raise UsageError(f"invalid API URL {api_url!r}: port 0", hint=EXPECTED_API_URL)
    return parts


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


@record
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
    # the command long output is paged through; "" for none. Left as None it is chosen
    # from the environment when stdout really is a terminal (never for a test's stream)
    pager: str | None = None
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
        if self.pager is None:
            self.pager = resolve_pager(self.environ) if stream_is_terminal(self.stdout) else ""
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
    def custom_openai_url(self) -> str | None:
        """LLAMACTL_OPENAI_URL, when it points the OpenAI API at another server."""
        value = (self.environ.get(OPENAI_URL_VARIABLE) or "").strip().rstrip("/")
        return value or None

    @property
    def openai_url(self) -> str:
        """The OpenAI-compatible API's base: LLAMACTL_OPENAI_URL, else {api}/v1/openai."""
        return self.custom_openai_url or self.api_url + OPENAI_PATH

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

    def host_cache(self, kind: str) -> Path:
        """`<kind>-<api host>.json` in the cache directory: what one API host told us
        (its model list, its models' schemas), kept apart from every other host's. (No
        regular expression: compiling one costs a request's start-up 0.4 M instructions.)"""
        host = "".join(char if char in FILENAME_SAFE else "_" for char in self.api_host)
        return self.cache_dir / f"{kind}-{host}.json"

    def _platform_dir(self, kind: str) -> Path:
        """LLAMACTL_HOME (from `environ`) wins; otherwise platformdirs decides: XDG on Linux
        (honouring XDG_*_HOME from the process environment), ~/Library on macOS,
        %LOCALAPPDATA% on Windows. Imported only here, so runs that need no directory
        never load it."""
        home = self.environ.get("LLAMACTL_HOME")
        if home:
            from llamactl.files import user_path

            return user_path(home)
        import platformdirs

        return Path(getattr(platformdirs, kind)("llamactl", appauthor=False)).expanduser()

    def stdin_readable(self) -> bool:
        return stdin_can_be_read(self.stdin)


def _another_users(info: os.stat_result) -> bool:
    geteuid = getattr(os, "geteuid", None)  # not on Windows, where ownership works otherwise
    return geteuid is not None and info.st_uid != geteuid()


def ensure_private_dir(path: Path) -> Path:
    """Create `path` as a 0700 directory, and each missing parent 0700 too (mkdir's parents
    would follow the umask: 0777 under umask 000); tighten it if it already exists.

    A path that is not a directory, or a directory of another user (a shared /tmp/x someone
    made 0777 first), is refused as an OSError, which every caller already reports: what is
    written there (prompts, tokens) would be theirs to read or replace."""
    missing = []
    folder = path
    while not os.path.lexists(folder) and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process: checked below
            pass
    if stat.S_IMODE(check_own_directory(path).st_mode) != 0o700:
        path.chmod(0o700)
    return path


def check_own_directory(path: Path) -> os.stat_result:
    """`path`'s status if it is a directory of this user's; else an OSError saying why."""
    try:
        info = path.stat()
    except NotADirectoryError:  # a parent is a file
        info = None
    if info is None or not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, f"{path} is not a directory", str(path))
    if _another_users(info):
        raise PermissionError(errno.EPERM, f"{path} belongs to another user (uid {info.st_uid})", str(path))
    return info


def check_directory_path(path: Path) -> None:
    """A reader's check, writing nothing: `path`, if it exists, is this user's directory
    (what is in another's is theirs to plant), and the nearest of its parents that exists
    is a directory (a file in the way means it can never be one)."""
    folder = path
    while not os.path.lexists(folder) and folder.parent != folder:
        folder = folder.parent
    if folder == path:
        check_own_directory(path)
    elif not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{folder} is not a directory", str(path))


def ensure_private_file(path: Path, tighten: bool = True) -> None:
    """Refuse a file (if it exists) that another user could have planted or can read: a
    symbolic link (whatever is written would go where it points), anything but a regular
    file, a file of another user. One of ours that others can read is tightened to 0600
    (unless only read: `tighten=False`, for a read-only disk)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise PermissionError(
            errno.EPERM, f"{path} is a symbolic link, which llamactl does not follow", str(path)
        )
    if not stat.S_ISREG(info.st_mode):
        raise PermissionError(errno.EPERM, f"{path} is not a regular file", str(path))
    if _another_users(info):
        raise PermissionError(errno.EPERM, f"{path} belongs to another user (uid {info.st_uid})", str(path))
    if tighten and stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(0o600)
