"""Turning `-i KEY=VALUE` arguments, a PROMPT and stdin into request fields (pure logic).

File and stdin access come in as callables so the parsing can be tested directly.
"""

from __future__ import annotations

import json
import math
import mimetypes
from dataclasses import dataclass, field
from typing import Any, Callable

INT_FIELDS = frozenset({"max_new_tokens", "top_k", "num_responses", "seed"})
FLOAT_FIELDS = frozenset(
    {"temperature", "top_p", "repetition_penalty", "presence_penalty", "frequency_penalty"}
)
BOOL_FIELDS = frozenset({"stream"})
TEXT_FIELDS = frozenset({"input", "webhook"})
GENERATION_PARAMETERS = INT_FIELDS | FLOAT_FIELDS | BOOL_FIELDS | {"stop", "response_format", "webhook"}
SHOWN_VALUE = 40  # characters of a bad value quoted in an error message
MAX_STOP_STRINGS = 4
MAX_NUM_RESPONSES = 2
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def shown(raw: str) -> str:
    """A value quoted in an error message: short, so a wrong @file never floods a log."""
    return repr(raw if len(raw) <= SHOWN_VALUE else raw[:SHOWN_VALUE] + "…")


class InputError(ValueError):
    """A `-i` argument, file or stdin that cannot become a request field (exit 2)."""


@dataclass
class FileUpload:
    """A binary value, sent as a multipart file part (deepctl's `@file`)."""

    filename: str
    content: bytes
    content_type: str


@dataclass
class RequestInputs:
    fields: dict[str, Any] = field(default_factory=dict)
    files: dict[str, FileUpload] = field(default_factory=dict)


def split_assignment(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(f"-i {shown(item)}: expected KEY=VALUE")
    return key, value


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def loads_strict(text: str) -> Any:
    """json.loads without NaN/Infinity, which are not JSON and the API cannot take."""
    return json.loads(text, parse_constant=_reject_constant)


def _as_int(key: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise InputError(f"-i {key}: expected an integer, got {shown(raw)}") from None


def _as_float(key: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"-i {key}: expected a number, got {shown(raw)}")
    return value


def _as_bool(key: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InputError(f"-i {key}: expected true or false, got {shown(raw)}")


def _stop_strings(raw: str) -> list[str]:
    """A JSON array of strings is a list; anything else (even `[INST]`) is one stop string."""
    if raw.lstrip().startswith("["):
        try:
            value = loads_strict(raw)
        except ValueError:
            return [raw]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InputError("-i stop: a JSON array must hold only strings")
        return value
    return [raw]


def _response_format(raw: str) -> dict[str, Any]:
    if raw.strip() in ("json", "json_object"):
        return {"type": "json_object"}
    try:
        value = loads_strict(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InputError(f'-i response_format: expected a JSON object such as {{"type": "json_object"}}, got {shown(raw)}')
    return value


def _passthrough(raw: str) -> Any:
    """Unknown keys: a JSON literal becomes that value, anything else stays a string."""
    try:
        return loads_strict(raw)
    except ValueError:
        return raw


def typed_value(key: str, raw: str) -> Any:
    """Convert one raw value by the field's known type."""
    if key in TEXT_FIELDS:
        return raw
    if key in INT_FIELDS:
        return _as_int(key, raw)
    if key in FLOAT_FIELDS:
        return _as_float(key, raw)
    if key in BOOL_FIELDS:
        return _as_bool(key, raw)
    if key == "response_format":
        return _response_format(raw)
    return _passthrough(raw)


def _decode_text(content: bytes) -> str | None:
    if b"\x00" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse_inputs(
    items: list[str],
    read_path: Callable[[str], bytes],
    read_stdin: Callable[[], bytes],
) -> RequestInputs:
    """Parse `-i` arguments. `@path` reads a file and `@-` stdin: text becomes the field's
    value as if typed; binary content (not UTF-8) becomes a multipart file upload."""
    inputs = RequestInputs()
    stdin_used = False
    for item in items:
        key, raw = split_assignment(item)
        if raw.startswith("@") and len(raw) > 1:
            source = raw[1:]
            if source == "-":
                if stdin_used:
                    raise InputError("@- can be used only once: stdin is read a single time")
                stdin_used = True
                content, filename = read_stdin(), "stdin"
            else:
                content, filename = read_path(source), source
            text = _decode_text(content)
            if text is None:
                if key in TEXT_FIELDS or key in INT_FIELDS | FLOAT_FIELDS | BOOL_FIELDS or key in ("stop", "response_format"):
                    raise InputError(f"-i {key}: {filename} is not UTF-8 text")
                content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
                inputs.files[key] = FileUpload(filename, content, content_type)
                inputs.fields.pop(key, None)
                continue
            raw = text if key in TEXT_FIELDS else text.strip()
        if key == "stop":
            inputs.fields.setdefault("stop", []).extend(_stop_strings(raw))
        else:
            inputs.fields[key] = typed_value(key, raw)
        inputs.files.pop(key, None)
    return inputs


def validate_fields(fields: dict[str, Any]) -> None:
    """The limits the API documents, checked before anything is sent."""
    stop = fields.get("stop")
    if stop is not None and len(stop) > MAX_STOP_STRINGS:
        raise InputError(f"-i stop: at most {MAX_STOP_STRINGS} stop strings are allowed, got {len(stop)}")
    num = fields.get("num_responses")
    if num is not None and not 1 <= num <= MAX_NUM_RESPONSES:
        raise InputError(f"-i num_responses: must be between 1 and {MAX_NUM_RESPONSES}, got {num}")
    max_new = fields.get("max_new_tokens")
    if max_new is not None and max_new < 1:
        raise InputError(f"-i max_new_tokens: must be at least 1, got {max_new}")
    prompt = fields.get("input")
    if prompt is not None and not isinstance(prompt, str):
        raise InputError("-i input: must be text")
    if isinstance(prompt, str) and not prompt.strip():
        raise InputError("the input is empty: give a PROMPT, pipe text on stdin, or use -i input=...")


def assemble_prompt(positional: str | None, stdin_text: str | None) -> str | None:
    """The prompt from PROMPT and piped stdin: stdin text, a blank line, then PROMPT."""
    if stdin_text and positional:
        return stdin_text.rstrip("\r\n") + "\n\n" + positional
    return positional if positional else (stdin_text or None)
