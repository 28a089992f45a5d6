"""deepctl's `-o PATH=TARGET`: write parts of the JSON response to stdout or files.

PATH is dot-separated (`results.0.generated_text`; empty = the whole response). TARGET
`-` or `*.json` gets JSON; a `data:` URL string is decoded into the file (`{EXT}` from its
MIME type); `{IDX}` in TARGET expands an array, one file per item. Beyond deepctl, a
plain string may be written to any other file as text, and `{IDX}` may also stand in PATH
(`results.{IDX}.generated_text=answer{IDX}.txt`) to pick one field of every item.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llamactl.errors import UsageError
from llamactl.plain import record


@record(frozen=True)
class Selector:
    path: str
    target: str


def parse_selector(text: str) -> Selector:
    path, sep, target = text.partition("=")
    if not sep:
        path, target = "", text
    if not target:
        raise UsageError(f"-o {text!r}: expected PATH=TARGET (TARGET is - or a file name)")
    return Selector(path.strip(), target)


def check_target(selector: Selector) -> None:
    """Before anything is sent: a file target must be in a directory that exists."""
    if selector.target == "-":
        return
    folder = Path(selector.target.replace("{IDX}", "0").replace("{EXT}", "bin")).parent
    if not folder.is_dir():
        raise UsageError(f"-o {selector.target}: the directory {folder} does not exist")


# The shape of a text-generation response (deepinfra-api.md §1.4): what -o can select from
# one before it is sent. An array stands for `results`, whose length is num_responses.
TEXT_GENERATION_RESPONSE: dict[str, Any] = {
    "request_id": "string",
    "inference_status": {key: "number" for key in ("runtime_ms", "cost", "tokens_input", "tokens_generated")}
    | {"status": "string"},
    "results": [{"generated_text": "string"}],
    "num_tokens": "number",
    "num_input_tokens": "number",
}


# A chat completion (§5.2); the array is `choices`, whose length is `n`.
CHAT_COMPLETION_RESPONSE: dict[str, Any] = {
    "id": "string",
    "object": "string",
    "created": "number",
    "model": "string",
    "choices": [
        {
            "index": "number",
            "message": {"role": "string", "content": "string"},
            "finish_reason": "string",
        }
    ],
    "usage": {
        key: "number" for key in ("prompt_tokens", "completion_tokens", "total_tokens", "estimated_cost")
    },
}


@record(frozen=True)
class ResponseShape:
    """What -o can select from one API's text answer, before it is sent."""

    shape: dict[str, Any]
    noun: str  # "a text-generation response"
    more: str  # the -i that asks for more results
    text_path: str  # where the text is, for the hint


TEXT_GENERATION = ResponseShape(
    TEXT_GENERATION_RESPONSE, "a text-generation response", "-i num_responses=2", "results.0.generated_text"
)
CHAT_COMPLETION = ResponseShape(
    CHAT_COMPLETION_RESPONSE, "a chat completion", "-i n=2", "choices.0.message.content"
)


def _shape_at(shape: Any, steps: list[str], path: str, results: int, kind: ResponseShape) -> Any:
    for step in steps:
        if isinstance(shape, list) and step.isdigit():
            if int(step) >= results:
                from llamactl.output.format import count_text

                raise UsageError(
                    f"-o {path}: the response will have {count_text(results, 'result')}, so no index {step}",
                    hint=f"ask for more with {kind.more}" if results < 2 else None,
                )
            shape = shape[0]
        elif isinstance(shape, dict) and step in shape:
            shape = shape[step]
        else:
            where = f"has {', '.join(shape)}" if isinstance(shape, dict) else "has no fields there"
            raise UsageError(f"-o {path}: {kind.noun} has no {step!r} (it {where})")
    return shape


def check_text_generation_selector(
    selector: Selector, results: int, response: ResponseShape = TEXT_GENERATION
) -> None:
    """Before sending a text-generation request (or a chat completion, `response`): the path
    exists in its response, and the target can take what is there (an object, array or
    number needs - or a .json file)."""
    prefix, idx, suffix = selector.path.partition("{IDX}")
    steps = [part for part in prefix.split(".") if part]
    shape = _shape_at(response.shape, steps, selector.path, results, response)
    if idx:
        if not isinstance(shape, list):
            raise UsageError(
                f"-o {selector.path}: {{IDX}} needs an array at {prefix.rstrip('.') or 'the top'}"
            )
        shape = _shape_at(
            shape[0], [part for part in suffix.split(".") if part], selector.path, results, response
        )
    if isinstance(shape, list) and ("{IDX}" in selector.target or results == 1):
        shape = shape[0]  # one file per item, or a one-item array written as its item
    if shape != "string" and not _accepts_json(selector.target):
        kind = {True: "an object"}.get(
            isinstance(shape, dict), "an array" if isinstance(shape, list) else "a number"
        )
        what = f"{selector.path or 'the whole response'} is {kind}"
        raise UsageError(
            f"-o {selector.path}={selector.target}: {what}, which only - or a .json file can take",
            hint=f"the text is -o {response.text_path}={selector.target}",
        )


def select(value: Any, path: str) -> Any:
    """Follow a dotted path through objects and arrays."""
    for step in (part for part in path.split(".") if part) if path else ():
        if isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            raise UsageError(f"-o {path}: the response has no {step!r} there")
    return value


def apply_selector(response: Any, selector: Selector, write_stdout: Callable[[str], None]) -> None:
    prefix, sep, suffix = selector.path.partition("{IDX}")
    if not sep:
        write_selected(select(response, selector.path), selector.target, write_stdout)
        return
    items = select(response, prefix.rstrip("."))
    if not isinstance(items, list):
        raise UsageError(f"-o {selector.path}: {{IDX}} needs an array at {prefix.rstrip('.') or 'the top'}")
    for index, item in enumerate(items):
        target = selector.target.replace("{IDX}", str(index))
        write_selected(select(item, suffix.lstrip(".")), target, write_stdout)


def _accepts_json(target: str) -> bool:
    return target == "-" or target.endswith(".json")


def _decode_data_url(text: str) -> tuple[str, bytes] | None:
    if not text.startswith("data:") or ";base64," not in text[:200]:
        return None
    header, _, payload = text.partition(";base64,")
    try:
        return header[5:], base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


def _write_file(target: str, data: bytes) -> None:
    try:
        Path(target).write_bytes(data)
    except OSError as exc:  # after the answer arrived: this machine's failure, not a usage error
        from llamactl.errors import local_failure

        raise local_failure(f"write -o {target}", exc) from None


def write_selected(value: Any, target: str, write_stdout: Callable[[str], None]) -> None:
    if isinstance(value, list) and "{IDX}" in target:
        for index, item in enumerate(value):
            write_selected(item, target.replace("{IDX}", str(index)), write_stdout)
        return
    if isinstance(value, list) and len(value) == 1 and not _accepts_json(target):
        write_selected(value[0], target, write_stdout)
        return
    if isinstance(value, str):
        decoded = _decode_data_url(value)
        if decoded is not None:
            mime, data = decoded
            extension = (mimetypes.guess_extension(mime) or ".bin").lstrip(".")
            _write_file(target.replace("{EXT}", extension), data)
            return
        if not _accepts_json(target):
            _write_file(target, value.encode("utf-8"))
            return
    if _accepts_json(target):
        text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
        if target == "-":
            write_stdout(text)
        else:
            _write_file(target, text.encode("utf-8"))
        return
    raise UsageError(f"-o: cannot write a {type(value).__name__} to {target} (use - or a .json file)")
