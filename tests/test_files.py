"""llamactl/files.py: the one atomic file write, and the three files written through it (the
token file, the model cache and a batch's --output each reach the disk with the mode they
should have); and the one stdin reader."""

from __future__ import annotations

import io
import os
import stat

import pytest

from llamactl import files
from llamactl.files import read_stdin, umask_mode, write_atomically


@pytest.fixture
def synced(monkeypatch):
    """The paths whose temporary file was fsynced before being renamed into place."""
    paths: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    pending: list[int] = []

    def fsync(descriptor: int) -> None:
        pending.append(descriptor)
        real_fsync(descriptor)

    def replace(source, destination) -> None:
        if pending:
            paths.append(os.path.basename(destination))
            pending.clear()
        real_replace(source, destination)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    return paths


def test_the_new_file_has_the_text_and_the_mode_and_no_temporary_file_is_left(tmp_path, synced):
    path = tmp_path / "out.txt"
    write_atomically(path, "héllo\n", 0o640)
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["out.txt"]
    assert synced == ["out.txt"]


def test_the_default_mode_is_private(tmp_path):
    path = tmp_path / "secret"
    path.write_text("old")
    path.chmod(0o644)
    write_atomically(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("old\n")

    def refuse(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OSError):
        write_atomically(path, "new\n")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_umask_mode_is_the_file_mode_or_the_umask_for_a_new_file(tmp_path):
    path = tmp_path / "out.txt"
    old = os.umask(0o027)
    try:
        assert umask_mode(path) == 0o640
    finally:
        os.umask(old)
    path.write_text("x")
    path.chmod(0o604)
    assert umask_mode(path) == 0o604


def test_the_token_file_is_written_through_it(tmp_path, synced):
    from llamactl.auth.token_store import TokenFile

    tokens = TokenFile(tmp_path / "state" / "tokens.json", warn=pytest.fail)
    tokens.set("api.deepinfra.com", "secret-token")
    assert synced == ["tokens.json"]
    assert stat.S_IMODE(tokens.path.stat().st_mode) == 0o600
    assert tokens.get("api.deepinfra.com") == "secret-token"


def test_the_model_cache_is_written_through_it(tmp_path, synced):
    from llamactl.catalogue.cache import ModelCache
    from llamactl.env import Environment

    cache = ModelCache(Environment(environ={"LLAMACTL_HOME": str(tmp_path / "home")}))
    cache.write([{"model_name": "m", "type": "text-generation"}], now=1.0)
    assert synced == [cache.path.name]
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert cache.read().raws == [{"model_name": "m", "type": "text-generation"}]


def test_a_batch_output_is_rewritten_through_it_keeping_its_mode(tmp_path, synced):
    from llamactl.batch.output import FileSink

    path = tmp_path / "out.jsonl"
    path.write_text("")
    path.chmod(0o640)
    sink = FileSink(path)
    sink.write({"line": 2, "status": "ok"})
    sink.finish([{"line": 1, "status": "ok"}, {"line": 2, "status": "ok"}])
    assert synced == ["out.jsonl"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_text().splitlines() == ['{"line":1,"status":"ok"}', '{"line":2,"status":"ok"}']


# stdin, read once as bytes


def test_stdin_is_read_through_its_binary_buffer_byte_for_byte():
    raw = "héllo\r\n".encode() + b"\xff"
    assert read_stdin(io.TextIOWrapper(io.BytesIO(raw), encoding="ascii")) == raw


def test_a_text_stream_without_a_buffer_is_read_as_utf8():
    assert read_stdin(io.StringIO("héllo")) == "héllo".encode()


def test_a_limit_caps_what_is_read_and_an_empty_stdin_is_no_bytes():
    assert read_stdin(io.BytesIO(b"abcdef"), limit=4) == b"abcd"
    assert read_stdin(io.BytesIO(b"")) == b""
