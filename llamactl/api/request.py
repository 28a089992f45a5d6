"""What is sent for one inference: where (model, version or deployment, on which API) and
the body. The native API takes the model in the path (`/v1/inference/{MODEL}`); the
OpenAI-compatible chat API in the body (`"model": NAME[:VERSION]` or `deploy_id:ID`)."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any
from urllib.parse import quote, urlencode

from llamactl.env import OPENAI_PATH
from llamactl.plain import field, record


@record
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


NATIVE = "native"
OPENAI = "openai"
APIS = (NATIVE, OPENAI)
CHAT_COMPLETIONS = "/chat/completions"


@record(frozen=True)
class InferenceTarget:
    """A model (optionally pinned to a version) or a deployment id, on the native API or
    the OpenAI-compatible chat API."""

    model: str | None = None
    version: str | None = None
    deploy_id: str | None = None
    api: str = NATIVE

    @property
    def openai(self) -> bool:
        return self.api == OPENAI

    @property
    def openai_model(self) -> str:
        """The body's `model` on the OpenAI API: NAME, NAME:VERSION or deploy_id:ID (§5)."""
        if self.deploy_id:
            return f"deploy_id:{self.deploy_id}"
        return f"{self.model}:{self.version}" if self.version else str(self.model)

    @property
    def path(self) -> str:
        if self.openai:
            return CHAT_COMPLETIONS
        if self.deploy_id:
            return "/v1/inference/deploy/" + quote(self.deploy_id, safe="")
        return "/v1/inference/" + quote(self.model or "", safe="/")

    @property
    def query(self) -> dict[str, str]:
        return {"version": self.version} if self.version and not self.openai else {}

    @property
    def label(self) -> str:
        """How the target is named in messages and the summary line."""
        if self.deploy_id:
            return f"deploy:{self.deploy_id}"
        return f"{self.model}@{self.version}" if self.version else str(self.model)

    def url(self, api_url: str, openai_url: str | None = None) -> str:
        """Where it is posted: the API URL and the native path, or the OpenAI base URL
        (`{api}/v1/openai` unless LLAMACTL_OPENAI_URL replaces it) and /chat/completions."""
        if self.openai:
            return (openai_url or api_url + OPENAI_PATH) + self.path
        query = urlencode(self.query)
        return api_url + self.path + (f"?{query}" if query else "")


def form_text(value: Any) -> str:
    """A field as a multipart text part: lists and objects as JSON, booleans in JSON spelling."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


@record
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

    def body(self) -> dict[str, Any]:
        """The JSON body: the fields, with the model first on the OpenAI API, and a stream
        asking for its usage (DeepInfra's default; OpenAI, vLLM and Ollama need asking)."""
        if not self.target.openai:
            return self.fields
        body = {"model": self.target.openai_model, **self.fields}
        if self.stream and "stream_options" not in body:
            body["stream_options"] = {"include_usage": True}
        return body

    def json_body(self) -> bytes:
        """The body as UTF-8 JSON. A lone surrogate cannot be UTF-8 (llamactl refuses one in
        what the user gives, but an answer can carry one into a chat's next turn): it is
        sent as U+FFFD, as history keeps it."""
        text = json.dumps(self.body(), ensure_ascii=False)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            from llamactl.inference.inputs import well_formed

            return well_formed(text).encode("utf-8")

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

    def curl_command(self, api_url: str, openai_url: str | None = None) -> str:
        """The equivalent curl command; the token stays a shell variable, never its value."""
        parts = ["curl", "-sS", "-N"] if self.stream else ["curl", "-sS"]
        url = self.target.url(api_url, openai_url)
        parts += ["-X", "POST", url, "-H", "Authorization: Bearer $DEEPINFRA_TOKEN"]
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
    import shlex  # only for --dry-run

    if "$DEEPINFRA_TOKEN" in part:
        return '"' + part.replace('"', '\\"') + '"'
    return shlex.quote(part)
