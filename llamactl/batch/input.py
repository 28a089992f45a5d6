"""The lines of an `infer --batch` file turned into checked requests (pure logic).

A line is a JSON string (the prompt) or a JSON object of request fields, merged over the
`-i` defaults; with `--batch-format lines` each line is one plain prompt. Blank lines are
skipped. A line that cannot become a request keeps its error instead, so it is reported
with its number while the other lines still run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from llamactl.api.request import InferenceRequest, InferenceTarget
from llamactl.inference.inputs import InputError, RequestInputs, json_value, loads_strict
from llamactl.inference.prepare import InferOptions, checked_request, has_other_inputs
from llamactl.plain import replace

FORMATS = ("jsonl", "lines")
NEVER_STREAM = InferOptions(stream=False)  # a batch collects whole answers


@dataclass
class BatchLine:
    """One non-blank input line: its request, or why it has none."""

    number: int  # 1-based, counting blank lines too, as an editor shows it
    request: InferenceRequest | None = None
    error: str | None = None

    @cached_property
    def request_hash(self) -> str | None:
        return request_hash(self.request) if self.request else None


def numbered_lines(data: bytes) -> list[tuple[int, bytes]]:
    """(line number, bytes) of every line that is not blank; a UTF-8 BOM is dropped."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    return [(number, raw.rstrip(b"\r")) for number, raw in enumerate(data.split(b"\n"), 1) if raw.strip()]


def line_fields(raw: bytes, batch_format: str) -> dict[str, Any]:
    """The request fields one line asks for."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text") from None
    if batch_format == "lines":
        return {"input": text}
    try:
        value = loads_strict(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:  # UnusableJson: NaN, Infinity, 1e999, nesting too deep
        raise InputError(f"not usable as JSON ({exc})") from None
    if isinstance(value, str):
        return {"input": value}
    if not isinstance(value, dict):
        raise InputError("expected a JSON string (the prompt) or an object of request fields")
    return {key: json_value(key, item) for key, item in value.items()}


def line_request(
    target: InferenceTarget,
    defaults: RequestInputs,
    fields: dict[str, Any],
    options: InferOptions = NEVER_STREAM,
) -> InferenceRequest:
    """The line's fields over the `-i` defaults: limits checked, never streamed. A line
    needs an input as `infer` does: `input`, or another kind of model's own fields
    (`inputs` for embeddings, an image model's `prompt`, a file)."""
    merged = {**defaults.fields, **fields}
    files = {name: upload for name, upload in defaults.files.items() if name not in fields}
    inputs = RequestInputs(merged, files)
    if "input" not in merged and "input" not in files and not has_other_inputs(inputs):
        raise InputError('no input: give the prompt as a JSON string or as {"input": ...}')
    return checked_request(target, options, inputs)


def parse_batch(
    data: bytes,
    batch_format: str,
    target: InferenceTarget,
    defaults: RequestInputs,
    chat_options: InferOptions | None = None,
) -> list[BatchLine]:
    """Every line as a request or an error. `chat_options` carries --chat/--system."""
    options = (
        replace(NEVER_STREAM, chat=chat_options.chat, system=chat_options.system)
        if chat_options
        else NEVER_STREAM
    )
    lines = []
    for number, raw in numbered_lines(data):
        try:
            lines.append(
                BatchLine(
                    number, request=line_request(target, defaults, line_fields(raw, batch_format), options)
                )
            )
        except InputError as exc:
            lines.append(BatchLine(number, error=exc.describe(prefix="")))
    return lines


def request_hash(request: InferenceRequest) -> str:
    """sha256 of what is sent (target, fields, uploaded bytes) as canonical JSON: a resumed
    batch skips a line only if its request is unchanged."""
    target = request.target
    canonical = {
        "target": {"model": target.model, "version": target.version, "deploy_id": target.deploy_id},
        "fields": request.fields,
        "files": {name: hashlib.sha256(upload.content).hexdigest() for name, upload in request.files.items()},
    }
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
