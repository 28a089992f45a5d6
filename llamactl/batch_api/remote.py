"""DeepInfra's Files and Batch API (deepinfra-api.md §10) through llamactl's one client:
the same token, retries, timeouts, proxies, `--debug` trace and error mapping as `infer`.
Uploads and downloads stream: a file is never whole in memory."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from llamactl.errors import RequestFailed
from llamactl.files import PRIVATE

if TYPE_CHECKING:
    from llamactl.api.client import ApiClient
    from llamactl.auth.credentials import ResolvedToken
    from llamactl.env import Environment

CHUNK = 1 << 20  # an upload's reads: the sender asks for 16 KiB, but fewer, bigger sends cost less
Progress = Callable[[int], None]  # told each number of bytes moved


class MultipartFile:
    """A `multipart/form-data` body of text fields and one file, read in chunks as requests
    sends it (requests itself would build the whole body in memory). It has a length, so
    the upload has a Content-Length, and it starts again from the top on each attempt."""

    def __init__(
        self, fields: dict[str, str], name: str, path: Path, filename: str, progress: Progress | None = None
    ):
        self.boundary = "llamactl-" + secrets.token_hex(12)
        head = "".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in fields.items()
        )
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        )
        self.head, self.tail = head.encode("utf-8"), f"\r\n--{self.boundary}--\r\n".encode()
        self.path, self.size = path, path.stat().st_size
        self.progress = progress or (lambda count: None)
        self.file: IO[bytes] | None = None
        self.seek(0)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def seek(self, offset: int, whence: int = 0) -> int:
        """Only a rewind to the start: how a retry sends the body again."""
        if self.file is not None:
            self.file.close()
        self.file, self.stage = self.path.open("rb"), 0
        return 0

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else max(size, CHUNK)
        if self.stage == 0:
            self.stage = 1
            return self.head
        if self.stage == 1:
            assert self.file is not None
            data = self.file.read(size)
            if data:
                self.progress(len(data))
                return data
            self.file.close()
            self.stage = 2
            return self.tail
        return b""

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class BatchApi:
    """One method per endpoint used; each returns the API's JSON object. The client (and
    requests, a tenth of a second to import) is made at the first request: collecting a
    job already collected makes none."""

    def __init__(self, connect: Callable[[], ApiClient]):
        self.connect = connect
        self._client: ApiClient | None = None

    @classmethod
    def connecting(cls, env: Environment, token: ResolvedToken) -> BatchApi:
        def connect() -> ApiClient:
            from llamactl.api.client import ApiClient

            out = env.output
            return ApiClient(env, token, notify=out.info, trace=out.tracer)

        return cls(connect)

    @property
    def client(self) -> ApiClient:
        if self._client is None:
            self._client = self.connect()
        return self._client

    @property
    def base(self) -> str:
        return self.client.api_url + "/v1/openai"

    def close(self) -> None:
        if self._client is not None:
            self._client.session.close()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        from llamactl.api.client import read_json

        return read_json(self.client.send(method, self.base + path, target="the Batch API", **kwargs))

    def upload(self, path: Path, filename: str, progress: Progress | None = None) -> dict:
        """Upload `path` for a batch, named `filename` (a base name: the API sees no local path)."""
        body = MultipartFile({"purpose": "batch"}, "file", path, filename, progress)
        try:
            return self._json("POST", "/files", data=body, headers={"Content-Type": body.content_type})
        finally:
            body.close()

    def create(self, file_id: str, endpoint: str, metadata: dict | None) -> dict:
        body: dict[str, Any] = {"input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h"}
        if metadata:
            body["metadata"] = metadata
        return self._json("POST", "/batches", json=body)

    def retrieve(self, batch_id: str) -> dict:
        return self._json("GET", f"/batches/{batch_id}")

    def cancel(self, batch_id: str) -> dict:
        return self._json("POST", f"/batches/{batch_id}/cancel")

    def file(self, file_id: str) -> dict:
        return self._json("GET", f"/files/{file_id}")

    def download(self, file_id: str, destination: Path, progress: Progress | None = None) -> Path:
        """The file's content into `destination`, resuming a `.part` left by a cut download
        (`Range`); a server that ignores the range sends it all again. Returns the path."""
        if destination.exists():
            return destination
        size = self.file(file_id).get("bytes")
        partial = destination.with_name(destination.name + ".part")
        have = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        if not (have and isinstance(size, int) and have >= size):
            response = self.client.send(
                "GET",
                f"{self.base}/files/{file_id}/content",
                target="the Batch API",
                headers=headers,
                accept="*/*",
            )
            mode = "ab" if have and response.status_code == 206 else "wb"
            with response, partial.open(mode) as out:
                _copy(response, out, progress)
        if isinstance(size, int) and partial.stat().st_size != size:
            raise RequestFailed(
                f"the download was cut before its end: {partial.stat().st_size:,} of {size:,} bytes of {file_id}",
                hint="run the same command again: the download resumes where it stopped",
            )
        os.chmod(partial, PRIVATE)  # the state directory's files are 0600, whatever the umask
        os.replace(partial, destination)
        return destination


def _copy(response, out: IO[bytes], progress: Progress | None) -> None:
    """Copy the body to `out` as it arrives (each socket read as it comes, so a connection
    cut midway keeps every byte that came; the size check then asks for a resume)."""
    import http.client

    import requests

    from llamactl.api.body import iter_body

    try:
        for chunk in iter_body(response.raw):
            out.write(chunk)
            if progress:
                progress(len(chunk))
    except (requests.exceptions.RequestException, http.client.HTTPException, ConnectionError):
        out.flush()
        raise RequestFailed(
            "the download was cut before its end",
            hint="run the same command again: the download resumes where it stopped",
        ) from None
