"""Turning `-i KEY=VALUE` arguments, a PROMPT and stdin into request fields (pure logic).

File and stdin access come in as callables so the parsing can be tested directly.
"""

from __future__ import annotations

import json
import math
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llamactl.api.request import FileUpload

SHOWN_VALUE = 40  # characters of a bad value quoted in an error message
MAX_STOP_STRINGS = 4
MAX_NUM_RESPONSES = 2
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def shown(raw: str) -> str:
    """A value quoted in an error message: short, so a wrong @file never floods a log."""
    return repr(raw if len(raw) <= SHOWN_VALUE else raw[:SHOWN_VALUE] + "…")


class InputError(ValueError):
    """A `-i` argument, file, stdin or batch line that cannot become a request field (exit 2).

    `field` is the request field at fault, when there is one: a flag's message names it
    after `-i`, a batch line's alone."""

    def __init__(self, problem: str, field: str | None = None):
        super().__init__(problem)
        self.problem = problem
        self.field = field

    def describe(self, prefix: str = "-i ") -> str:
        return f"{prefix}{self.field}: {self.problem}" if self.field else self.problem

    def __str__(self) -> str:
        return self.describe()


class WrongType(ValueError):
    """A FieldType's reader refusing a text; its message, if any, says why better than
    `expected …, got …` would."""


@dataclass(frozen=True)
class FieldType:
    """How a known field's value is read from `-i` text and checked as a batch's JSON value,
    so the two agree on every type."""

    expected: str  # as messages name it: "expected an integer, got …"
    from_text: Callable[[str], Any]  # raises WrongType
    accepts: Callable[[Any], bool]  # whether a JSON value is one
    from_json: Callable[[Any], Any] = lambda value: value
    verbatim: bool = False  # an @file's text is kept as it is, not stripped
    repeatable: bool = False  # each -i adds to a list instead of replacing it


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_stop(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(item, str) for item in value)
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # built once: a batch decodes every line


def loads_strict(text: str) -> Any:
    """json.loads without NaN/Infinity, which are not JSON and the API cannot take."""
    return _STRICT_DECODER.decode(text)


def _int_text(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise WrongType() from None


def _number_text(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise WrongType()
    return value


def _bool_text(raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise WrongType()


def _stop_text(raw: str) -> list[str]:
    """A JSON array of strings is a list; anything else (even `[INST]`) is one stop string."""
    if raw.lstrip().startswith("["):
        try:
            value = loads_strict(raw)
        except ValueError:
            return [raw]
        if not isinstance(value, list) or not _is_stop(value):
            raise WrongType("a JSON array must hold only strings")
        return value
    return [raw]


def _response_format_text(raw: str) -> dict[str, Any]:
    if raw.strip() in ("json", "json_object"):
        return {"type": "json_object"}
    try:
        value = loads_strict(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise WrongType()
    return value


INTEGER = FieldType("an integer", _int_text, _is_int)
NUMBER = FieldType("a number", _number_text, _is_number)
BOOLEAN = FieldType("true or false", _bool_text, lambda value: isinstance(value, bool))
TEXT = FieldType("a string", lambda raw: raw, lambda value: isinstance(value, str), verbatim=True)
FIELD_TYPES: dict[str, FieldType] = {
    **dict.fromkeys(("max_new_tokens", "top_k", "num_responses", "seed"), INTEGER),
    **dict.fromkeys(
        ("temperature", "top_p", "repetition_penalty", "presence_penalty", "frequency_penalty"), NUMBER
    ),
    "stream": BOOLEAN,
    "input": TEXT,
    "webhook": TEXT,
    "stop": FieldType(
        "a string or an array of strings",
        _stop_text,
        _is_stop,
        from_json=lambda value: [value] if isinstance(value, str) else value,
        repeatable=True,
    ),
    "response_format": FieldType(
        'a JSON object such as {"type": "json_object"}',
        _response_format_text,
        lambda value: isinstance(value, dict),
    ),
}
GENERATION_PARAMETERS = frozenset(FIELD_TYPES) - {"input"}


@dataclass
class RequestInputs:
    fields: dict[str, Any] = field(default_factory=dict)
    files: dict[str, FileUpload] = field(default_factory=dict)


def split_assignment(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(f"-i {shown(item)}: expected KEY=VALUE")
    if not key.isprintable():  # a field name is a word: a newline or escape in it is a slip
        raise InputError(f"-i {shown(item)}: the field name has a control character in it")
    return key, value


def _passthrough(raw: str) -> Any:
    """Unknown keys: a JSON literal becomes that value, anything else stays a string."""
    try:
        return loads_strict(raw)
    except ValueError:
        return raw


def typed_value(key: str, raw: str) -> Any:
    """Convert one raw `-i` value by the field's known type."""
    kind = FIELD_TYPES.get(key)
    if kind is None:
        return _passthrough(raw)
    try:
        return kind.from_text(raw)
    except WrongType as exc:
        raise InputError(str(exc) or f"expected {kind.expected}, got {shown(raw)}", field=key) from None


def json_value(key: str, value: Any) -> Any:
    """A JSON value (a batch line's) for a known field, checked against the type `-i` gives it."""
    kind = FIELD_TYPES.get(key)
    if kind is None:
        return value
    if not kind.accepts(value):
        raise InputError(f"expected {kind.expected}, got {json.dumps(value, ensure_ascii=False)}", field=key)
    return kind.from_json(value)


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
        if key == "input" and ("input" in inputs.fields or "input" in inputs.files):
            raise InputError("the input is given twice: give -i input=... once")
        kind = FIELD_TYPES.get(key)
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
                if kind is not None:
                    raise InputError(f"{filename} is not UTF-8 text", field=key)
                content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
                inputs.files[key] = FileUpload(filename, content, content_type)
                inputs.fields.pop(key, None)
                continue
            raw = text if kind is not None and kind.verbatim else text.strip()
        if kind is not None and kind.repeatable:
            inputs.fields.setdefault(key, []).extend(typed_value(key, raw))
        else:
            inputs.fields[key] = typed_value(key, raw)
        inputs.files.pop(key, None)
    return inputs


def validate_fields(fields: dict[str, Any]) -> None:
    """The limits the API documents, checked before anything is sent."""
    stop = fields.get("stop")
    if stop is not None and len(stop) > MAX_STOP_STRINGS:
        raise InputError(
            f"at most {MAX_STOP_STRINGS} stop strings are allowed, got {len(stop)}", field="stop"
        )
    num = fields.get("num_responses")
    if num is not None and not 1 <= num <= MAX_NUM_RESPONSES:
        raise InputError(f"must be between 1 and {MAX_NUM_RESPONSES}, got {num}", field="num_responses")
    max_new = fields.get("max_new_tokens")
    if max_new is not None and max_new < 1:
        raise InputError(f"must be at least 1, got {max_new}", field="max_new_tokens")
    prompt = fields.get("input")
    if prompt is not None and not isinstance(prompt, str):
        raise InputError("must be text", field="input")
    if isinstance(prompt, str) and not prompt.strip():
        raise InputError("the input is empty: give a PROMPT, pipe text on stdin, or use -i input=...")


def assemble_prompt(positional: str | None, stdin_text: str | None) -> str | None:
    """The prompt from PROMPT and piped stdin: stdin text, a blank line, then PROMPT."""
    if stdin_text and positional:
        return stdin_text.rstrip("\r\n") + "\n\n" + positional
    return positional if positional else (stdin_text or None)
