"""The file input and output several layers share: stdin read as bytes, and the one
atomic replacement of a file a reader may open at any moment (the token file, the model
cache, a batch's --output)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

PRIVATE = 0o600


def read_stdin(stream: IO, limit: int = -1) -> bytes:
    """All of `stream` (at most `limit` bytes) as bytes, through its binary buffer when it
    has one: a prompt, an @- upload, a batch or a token piped in arrive byte for byte."""
    data = (getattr(stream, "buffer", None) or stream).read(limit) or b""
    return data.encode("utf-8") if isinstance(data, str) else data


def user_path(text: str) -> Path:
    """A path a user typed, `~` and `~user` expanded as a shell would; a `~name` with no such
    user stays as typed (Path.expanduser raises instead), to be reported as a missing file."""
    try:
        return Path(text).expanduser()
    except RuntimeError:
        return Path(text)


def umask_mode(path: Path) -> int:
    """The mode `path` has, or the one the umask gives a new file (as a shell `>` would)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: Path, text: str, mode: int = PRIVATE) -> None:
    """Write a temporary file beside `path`, flush it to disk, give it `mode` and rename it
    over `path`: a reader, or a crash, sees the old file or the new one, never half of one."""
    with atomic_writer(path, mode) as file:
        file.write(text)


def write_named_file(path: Path, text: str) -> None:
    """named_file_writer for a whole text (chat's /save)."""
    with named_file_writer(path) as file:
        file.write(text)


@contextmanager
def named_file_writer(path: Path) -> Iterator[IO[str]]:
    """Write a file the user named (chat's /save, `batch results --output`) where a shell's
    `>` would: through a symlink to its target (the link stays a link); into a device or a
    named pipe as it is (so /dev/full is a full disk, and as root /dev/null is never
    replaced by a file of the output); a regular file (or a new one) replaced atomically,
    with the mode it has or the umask's."""
    import stat

    target = Path(os.path.realpath(path))
    try:
        kind = os.stat(target).st_mode
    except OSError:
        kind = stat.S_IFREG  # a new file (or an error the write itself will report)
    if stat.S_ISREG(kind) or stat.S_ISDIR(kind):  # a directory: replacing it fails (EISDIR)
        with atomic_writer(target, umask_mode(target)) as file:
            yield file
        return
    with open(target, "w", encoding="utf-8") as file:
        yield file


@contextmanager
def atomic_writer(path: Path, mode: int = PRIVATE) -> Iterator[IO[str]]:
    """write_atomically for text written a piece at a time (never whole in memory): the
    file appears at `path` only when the block ends without an exception."""
    import tempfile

    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
