"""What is sent for one inference: where (model, version or deployment) and the body."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any
from urllib.parse import quote, urlencode


@dataclass
class FileUpload:
    """A binary value, sent as a multipart file part (deepctl's `@file`)."""

    filename: str  # as given after `@` (the curl line reads the file from there)
    content: bytes
    content_type: str

    @property
    def sent_name(self) -> str:
        """The part's filename on the wire: the base name, as curl sends it, never the local
        path (which can name the user and their directories)."""
        return PurePath(self.filename).name or self.filename


@dataclass(frozen=True)
class InferenceTarget:
    """A model (optionally pinned to a version) or a deployment id."""

    model: str | None = None
    version: str | None = None
    deploy_id: str | None = None

    @property
    def path(self) -> str:
        if self.deploy_id:
            return "/v1/inference/deploy/" + quote(self.deploy_id, safe="")
        return "/v1/inference/" + quote(self.model or "", safe="/")

    @property
    def query(self) -> dict[str, str]:
        return {"version": self.version} if self.version else {}

    @property
    def label(self) -> str:
        """How the target is named in messages and the summary line."""
        if self.deploy_id:
            return f"deploy:{self.deploy_id}"
        return f"{self.model}@{self.version}" if self.version else str(self.model)

    def url(self, api_url: str) -> str:
        query = urlencode(self.query)
        return api_url + self.path + (f"?{query}" if query else "")


def form_text(value: Any) -> str:
    """A field as a multipart text part: lists and objects as JSON, booleans in JSON spelling."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


@dataclass
class InferenceRequest:
    target: InferenceTarget
    fields: dict[str, Any]
    files: dict[str, FileUpload] = field(default_factory=dict)

    @property
    def stream(self) -> bool:
        return bool(self.fields.get("stream"))

    @property
    def multipart(self) -> bool:
        return bool(self.files)

    @property
    def accept(self) -> str:
        """The answer asked for: server-sent events when streaming, else one JSON body."""
        return "text/event-stream" if self.stream else "application/json"

    def json_body(self) -> bytes:
        return json.dumps(self.fields, ensure_ascii=False).encode("utf-8")

    def encode(self) -> dict[str, Any]:
        """The body as requests' keyword arguments: form parts when a file is uploaded
        (every field a text part), else the fields as JSON."""
        if self.multipart:
            return {
                "data": {key: form_text(value) for key, value in self.fields.items()},
                "files": {
                    key: (upload.sent_name, upload.content, upload.content_type)
                    for key, upload in self.files.items()
                },
            }
        return {"data": self.json_body(), "headers": {"Content-Type": "application/json"}}

    def curl_command(self, api_url: str) -> str:
        """The equivalent curl command; the token stays a shell variable, never its value."""
        parts = ["curl", "-sS", "-N"] if self.stream else ["curl", "-sS"]
        parts += ["-X", "POST", self.target.url(api_url), "-H", "Authorization: Bearer $DEEPINFRA_TOKEN"]
        if self.multipart:
            for key, value in self.fields.items():
                parts += ["--form-string", f"{key}={form_text(value)}"]
            for key, upload in self.files.items():
                parts += ["-F", f"{key}=@{upload.filename};type={upload.content_type}"]
        else:
            parts += ["-H", "Content-Type: application/json", "-d", self.json_body().decode("utf-8")]
        return " ".join(_quote(part) for part in parts)


def _quote(part: str) -> str:
    """shlex quoting, except that the Authorization header keeps $DEEPINFRA_TOKEN expandable."""
    if "$DEEPINFRA_TOKEN" in part:
        return '"' + part.replace('"', '\\"') + '"'
    return shlex.quote(part)
