"""Turning `-i KEY=VALUE` arguments, a PROMPT and stdin into request fields (pure logic).

File and stdin access come in as callables so the parsing can be tested directly.
"""

from __future__ import annotations

import json
import math
import mimetypes
from collections.abc import Callable
from typing import Any

from llamactl.api.request import FileUpload
from llamactl.plain import field, record

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


def not_utf8(text: str) -> str | None:
    """Why a command-line text cannot be sent, or None: bytes that are not UTF-8 reach
    Python as lone surrogates (`\\xff` as `\\udcff`), which no request, database or
    terminal can take."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = ord(text[exc.start])
        byte = f"byte 0x{char - 0xDC00:02x}" if 0xDC80 <= char <= 0xDCFF else f"character U+{char:04X}"
        return f"not UTF-8 text ({byte} at position {exc.start})"
    return None


def well_formed(value: Any) -> Any:
    """`value` (text, or lists, tuples and dicts of it) with each lone surrogate as U+FFFD,
    the replacement character. A lone surrogate (an answer's `\\ud800` escape) is no
    character: neither UTF-8 JSON nor history's database can hold it (docs/history.md)."""
    import re

    if isinstance(value, str):
        return re.sub("[\ud800-\udfff]", "\ufffd", value)
    if isinstance(value, dict):
        return {well_formed(key): well_formed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(well_formed(item) for item in value)
    return value


def check_utf8_fields(fields: dict[str, Any]) -> None:
    """Every key and text among the fields is UTF-8 (nested lists and objects included)."""

    def problem(value: Any) -> str | None:
        if isinstance(value, str):
            return not_utf8(value)
        items = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        )
        for key, item in items:
            found = (not_utf8(key) if isinstance(key, str) else None) or problem(item)
            if found:
                return found
        return None

    for key, value in fields.items():
        found = not_utf8(key) or problem(value)
        if found:
            raise InputError(found, field=key.encode("utf-8", "backslashreplace").decode("utf-8"))


class WrongType(ValueError):
    """A FieldType's reader refusing a text; its message, if any, says why better than
    `expected …, got …` would."""


@record(frozen=True)
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


class UnusableJson(ValueError):
    """Valid JSON that cannot be sent: a number too large for a float (`1e999`, which would
    go out as `Infinity`), or nesting too deep to parse. Unlike text that is not JSON at all
    (`NaN` is not), it is never taken as a plain string instead: exit 2."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnusableJson(f"{shown(text)} is too large for a JSON number")
    return value


# Built once: a batch decodes every line with it.
_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def loads_strict(text: str) -> Any:
    """json.loads without NaN/Infinity (literal or `1e999`), which are not JSON and the API
    cannot take; nesting too deep for the parser is UnusableJson, never a RecursionError."""
    try:
        return _STRICT_DECODER.decode(text)
    except RecursionError:
        raise UnusableJson("it is nested too deeply") from None


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


def _json_text(raw: str, accepts: Callable[[Any], bool]) -> Any:
    """A JSON value that `accepts` takes, else WrongType."""
    try:
        value = loads_strict(raw)
    except ValueError:
        raise WrongType() from None
    if not accepts(value):
        raise WrongType()
    return value


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _object_text(raw: str) -> dict[str, Any]:
    return _json_text(raw, _is_object)


def _response_format_text(raw: str) -> dict[str, Any]:
    if raw.strip() in ("json", "json_object"):
        return {"type": "json_object"}
    return _object_text(raw)


def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("role"), str) for item in value
    )


def _messages_text(raw: str) -> list[dict[str, Any]]:
    return _json_text(raw, _is_messages)


INTEGER = FieldType("an integer", _int_text, _is_int)
NUMBER = FieldType("a number", _number_text, _is_number)
BOOLEAN = FieldType("true or false", _bool_text, lambda value: isinstance(value, bool))
TEXT = FieldType("a string", lambda raw: raw, lambda value: isinstance(value, str), verbatim=True)
STOP = FieldType(
    "a string or an array of strings",
    _stop_text,
    _is_stop,
    from_json=lambda value: [value] if isinstance(value, str) else value,
    repeatable=True,
)
RESPONSE_FORMAT = FieldType(
    'a JSON object such as {"type": "json_object"}',
    _response_format_text,
    _is_object,
)
# The native API's text-generation fields (deepinfra-api.md §1.3).
FIELD_TYPES: dict[str, FieldType] = {
    **dict.fromkeys(("max_new_tokens", "top_k", "num_responses", "seed"), INTEGER),
    **dict.fromkeys(
        ("temperature", "top_p", "repetition_penalty", "presence_penalty", "frequency_penalty"), NUMBER
    ),
    "stream": BOOLEAN,
    "input": TEXT,
    "webhook": TEXT,
    "stop": STOP,
    "response_format": RESPONSE_FORMAT,
}
GENERATION_PARAMETERS = frozenset(FIELD_TYPES) - {"input"}
# The OpenAI-compatible chat API's (§5.1); `input` is the prompt, sent as the last user message.
OPENAI_FIELD_TYPES: dict[str, FieldType] = {
    **dict.fromkeys(("max_tokens", "n", "top_k", "seed"), INTEGER),
    **dict.fromkeys(
        ("temperature", "top_p", "min_p", "repetition_penalty", "presence_penalty", "frequency_penalty"),
        NUMBER,
    ),
    **dict.fromkeys(("stream", "logprobs"), BOOLEAN),
    **dict.fromkeys(("input", "user"), TEXT),
    "stop": STOP,
    "response_format": RESPONSE_FORMAT,
    "messages": FieldType(
        'a JSON array of messages such as [{"role": "user", "content": "Hi"}]', _messages_text, _is_messages
    ),
    "stream_options": FieldType('a JSON object such as {"include_usage": true}', _object_text, _is_object),
}
MAX_OPENAI_CHOICES = 4  # `n` (§5.1)


def field_types(api: str) -> dict[str, FieldType]:
    """The typed fields of an API: `native` or `openai`."""
    return OPENAI_FIELD_TYPES if api == "openai" else FIELD_TYPES


@record
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
    except UnusableJson:
        raise
    except ValueError:
        return raw


def typed_value(key: str, raw: str, types: dict[str, FieldType] = FIELD_TYPES) -> Any:
    """Convert one raw `-i` value by the field's known type (of `types`, one API's)."""
    kind = types.get(key)
    try:
        if kind is None:
            return _passthrough(raw)
        try:
            return kind.from_text(raw)
        except WrongType as exc:
            raise InputError(str(exc) or f"expected {kind.expected}, got {shown(raw)}", field=key) from None
    except UnusableJson as exc:
        raise InputError(f"not usable as JSON: {exc}", field=key) from None


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
    types: dict[str, FieldType] = FIELD_TYPES,
) -> RequestInputs:
    """Parse `-i` arguments, typed by `types` (the API's fields). `@path` reads a file and
    `@-` stdin: text becomes the field's value as if typed; binary content (not UTF-8)
    becomes a multipart file upload."""
    inputs = RequestInputs()
    stdin_used = False
    for item in items:
        key, raw = split_assignment(item)
        if key == "input" and ("input" in inputs.fields or "input" in inputs.files):
            raise InputError("the input is given twice: give -i input=... once")
        kind = types.get(key)
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
            inputs.fields.setdefault(key, []).extend(typed_value(key, raw, types))
        else:
            inputs.fields[key] = typed_value(key, raw, types)
        inputs.files.pop(key, None)
    return inputs


def validate_fields(fields: dict[str, Any], api: str = "native") -> None:
    """The limits the API documents, checked before anything is sent."""
    check_utf8_fields(fields)
    stop = fields.get("stop")
    if stop is not None and len(stop) > MAX_STOP_STRINGS:
        raise InputError(
            f"at most {MAX_STOP_STRINGS} stop strings are allowed, got {len(stop)}", field="stop"
        )
    choices, most = ("n", MAX_OPENAI_CHOICES) if api == "openai" else ("num_responses", MAX_NUM_RESPONSES)
    num = fields.get(choices)
    if isinstance(num, int) and not 1 <= num <= most:
        raise InputError(f"must be between 1 and {most}, got {num}", field=choices)
    limit = "max_tokens" if api == "openai" else "max_new_tokens"
    max_new = fields.get(limit)
    if isinstance(max_new, int) and max_new < 1:
        raise InputError(f"must be at least 1, got {max_new}", field=limit)
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
