"""Exit codes and the typed errors that carry them.

Errors are raised where a failure is understood and turned into a one-line message
and an exit code in exactly one place (`llamactl.cli.LlamactlGroup`).
"""

from __future__ import annotations

import errno

from llamactl.redact import scrub


class ExitCode:
    """The exit codes of the command-line contract: plain ints (an IntEnum's class costs
    about 1.4 M instructions to build, on every run; docs/performance.md)."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    AUTH = 3
    API_REJECTED = 4
    REQUEST_FAILED = 5
    LOCAL = 6
    INTERRUPTED = 130
    BROKEN_PIPE = 141
    TERMINATED = 143

    @classmethod
    def values(cls) -> set[int]:
        """Every code, for the checks that the documentation names them all."""
        return {value for name, value in vars(cls).items() if name.isupper()}


class LlamactlError(Exception):
    """An expected failure: shown as `error: <message>` (plus a hint line), no traceback.

    Message and hint are scrubbed of the command's token whenever they are set (the one
    place every failure's words are built, whatever the server echoed: llamactl/redact.py)."""

    exit_code: int = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None):
        message = scrub(message)
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def message(self) -> str:
        return self._message

    @message.setter
    def message(self, text: str) -> None:
        self._message = scrub(text)

    @property
    def hint(self) -> str | None:
        return self._hint

    @hint.setter
    def hint(self, text: str | None) -> None:
        self._hint = scrub(text) if text else text


class UsageError(LlamactlError):
    """Bad flags or input, found before any request is sent."""

    exit_code = ExitCode.USAGE


class AuthError(LlamactlError):
    """No token, or the API answered 401/403."""

    exit_code = ExitCode.AUTH


class ApiRejected(LlamactlError):
    """The API refused the request with another 4xx (unknown model, validation, funding)."""

    exit_code = ExitCode.API_REJECTED

    def __init__(self, message: str, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint)
        self.status = status


class RequestFailed(LlamactlError):
    """The request could not be completed: 5xx/429, timeout, connection or stream failure."""

    exit_code = ExitCode.REQUEST_FAILED

    def __init__(self, message: str, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint)
        self.status = status


class StreamIncomplete(RequestFailed):
    """A stream ended or broke before its final event; the partial text was already shown."""


class LocalFailure(LlamactlError):
    """Something on this machine could not be read or written: the state directory, the
    history database, an output file or stdout (a full or read-only disk, a lock held too
    long, a closed descriptor). Neither a bug nor the API's doing."""

    exit_code = ExitCode.LOCAL


# The errno values that describe the machine, never the code: an OSError carrying one is a
# local failure wherever it was raised.
_LOCAL_ERRNO_HINTS = {
    "ENOSPC": "the disk is full: free some space, or write somewhere else",
    "EDQUOT": "the disk quota is used up: free some space, or write somewhere else",
    "EFBIG": "the file is larger than this file system allows",
    "EROFS": "the file system is read-only: point LLAMACTL_HOME (or the output) somewhere writable",
    "EACCES": "check the permissions of the file and its directory",
    "EPERM": "check the permissions of the file and its directory",
    "EIO": "the device reported an I/O error",
    "ENOTDIR": "a directory was expected there: point LLAMACTL_HOME (or the output) at a directory",
}


def local_errno_hint(exc: OSError) -> str | None:
    """The hint for an OSError whose errno is one of the machine's (full disk, read-only,
    permission denied, I/O error), or None for any other errno."""
    return _LOCAL_ERRNO_HINTS.get(errno.errorcode.get(exc.errno or 0, ""))


def local_failure(what: str, exc: OSError, hint: str | None = None) -> LocalFailure:
    """`cannot <what>: <the system's reason>`, with the errno's hint unless one is given."""
    return LocalFailure(f"cannot {what}: {exc.strerror or exc}", hint=hint or local_errno_hint(exc))


class Interrupted(LlamactlError):
    """The user pressed Ctrl-C (or the process got SIGTERM)."""

    exit_code: int = ExitCode.INTERRUPTED

    def __init__(self, message: str = "interrupted", exit_code: int = ExitCode.INTERRUPTED):
        super().__init__(message)
        self.exit_code = exit_code
