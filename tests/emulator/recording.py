"""What the emulator records of each request: the request as sent, and what the API reads
out of it (parsed JSON, coerced multipart fields).  Recorded before any reply."""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any


class Headers(dict):
    """Request headers; keys are stored lower-cased and every lookup ignores case."""

    def __init__(self, pairs=()):
        super().__init__()
        for name, value in pairs:
            name = name.lower()
            self[name] = f"{self[name]}, {value}" if name in self else value

    def __getitem__(self, name):
        return super().__getitem__(name.lower())

    def __setitem__(self, name, value):
        super().__setitem__(name.lower(), value)

    def __contains__(self, name):
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name, default=None):
        return super().get(name.lower(), default)


@dataclass(frozen=True)
class FormField:
    """One multipart part exactly as sent: text parts and files alike."""

    name: str
    filename: str | None  # None when the part has no filename (a text field)
    content_type: str | None  # the part's own Content-Type header, None when it sent none
    data: bytes


@dataclass
class RecordedRequest:
    method: str
    path: str  # percent-decoded, without the query string
    query: dict  # name -> last value
    headers: Headers
    body: bytes  # the body as sent (de-chunked when sent chunked)
    json: Any = None  # parsed JSON body, or None
    form: dict | None = None  # coerced multipart text fields, or None when not multipart
    files: dict = field(default_factory=dict)  # name -> (filename, content_type, bytes)
    # As sent, before any interpretation:
    target: str = ""  # the request target: percent-encoded path and query string
    raw_headers: list[tuple[str, str]] = field(default_factory=list)  # names as cased, in order, repeats kept
    fields: list[FormField] | None = None  # every multipart part in order, or None when not multipart
    body_error: str | None = None  # why the body could not be parsed (answered with a 422)

    @property
    def raw_query(self) -> str:
        return urllib.parse.urlsplit(self.target).query

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        """Every query parameter in order, repeats kept (percent-decoded)."""
        return urllib.parse.parse_qsl(self.raw_query, keep_blank_values=True)


def record(method: str, target: str, header_pairs: list[tuple[str, str]], body: bytes) -> RecordedRequest:
    """A RecordedRequest of what arrived, with the body parsed the way the API reads it."""
    split = urllib.parse.urlsplit(target)
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
    headers = Headers(header_pairs)
    request = RecordedRequest(
        method,
        urllib.parse.unquote(split.path),
        query,
        headers,
        body,
        target=target,
        raw_headers=list(header_pairs),
    )
    content_type = headers.get("content-type", "")
    try:
        if content_type.lower().startswith("multipart/form-data"):
            request.fields = multipart_fields(content_type, body)
            request.form, request.files = coerce_fields(request.fields)
        elif body and ("json" in content_type.lower() or not content_type):
            request.json = json.loads(body)
    except ValueError as exc:
        request.body_error = str(exc)
    return request


# --- multipart ---------------------------------------------------------------------------

# Fields the API types as strings: never coerced to numbers/bools.
_STRING_FIELDS = frozenset({"input", "prompt", "text", "webhook", "model"})
_FLOAT = re.compile(r"-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")


def coerce_form_value(name: str, text: str):
    """A form string as the API's schema would read it: ints, floats, bools, JSON lists/objects."""
    if name in _STRING_FIELDS:
        return text
    stripped = text.strip()
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if re.fullmatch(r"-?\d+", stripped):
        return int(stripped)
    if _FLOAT.fullmatch(stripped):
        return float(stripped)
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return text


def multipart_fields(content_type: str, body: bytes) -> list[FormField]:
    """Every named part of a multipart/form-data body, in order, its bytes untouched."""
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        filename = part.get_param("filename", header="content-disposition")
        content_type = next((value for key, value in part.raw_items() if key.lower() == "content-type"), None)
        fields.append(
            FormField(
                str(name),
                None if filename is None else str(filename),
                content_type,
                part.get_payload(decode=True) or b"",
            )
        )
    return fields


def coerce_fields(fields: list[FormField]) -> tuple[dict, dict]:
    """(coerced text fields, files) as the API reads them; repeated fields become lists."""
    form: dict = {}
    files: dict = {}
    for part in fields:
        if part.filename is not None:
            files[part.name] = (part.filename, _content_type(part), part.data)
            continue
        value = coerce_form_value(part.name, part.data.decode("utf-8", "replace"))
        if part.name in form:
            previous = form[part.name] if isinstance(form[part.name], list) else [form[part.name]]
            value = previous + (value if isinstance(value, list) else [value])
        form[part.name] = value
    return form, files


def parse_multipart(content_type: str, body: bytes) -> tuple[dict, dict]:
    """(coerced text fields, files) of a multipart/form-data body."""
    return coerce_fields(multipart_fields(content_type, body))


def _content_type(part: FormField) -> str:
    """The part's media type without parameters, text/plain when it sent none (as email reads it)."""
    if not part.content_type:
        return "text/plain"
    return part.content_type.split(";", 1)[0].strip().lower()
