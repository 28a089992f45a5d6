"""An input file turned into Batch API lines (deepinfra-api.md §10.3), checked and split.

Each input line, as for `infer --batch` (a JSON string that is the prompt, or an object of
fields over the `-i` defaults; `lines`: a plain prompt), becomes one `{"custom_id",
"method", "url", "body"}` line whose body is the real-time request of the endpoint. With
`--batch-format openai` the lines already are Batch API lines and are checked as they are.
Everything the API would reject is found here, before anything is uploaded: a malformed
line, a second model, a duplicate `custom_id`, a `url` that is not the batch's endpoint, a
`stream` field (the API accepts it, then fails the row). The input is read once, a line at
a time, and written straight into part files of at most MAX_LINES lines and MAX_BYTES
bytes, so memory stays flat however big the file is.
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from llamactl.errors import UsageError
from llamactl.inference.inputs import InputError

ENDPOINTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions", "embeddings": "/v1/embeddings"}
FORMATS = ("jsonl", "lines", "openai")
MAX_LINES = 50_000  # one batch's limits (§10.3)
MAX_BYTES = 200 * 1000 * 1000
SHOWN_ERRORS = 20  # the first problems named one per line; the count says how many in all
# Native field names a user may carry over from `infer`, and the Batch API body's names.
OPENAI_NAMES = {"max_new_tokens": "max_tokens", "num_responses": "n"}
NEVER_IN_A_BATCH = ("stream", "stream_options")
COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once, used per line


@dataclass
class Conversion:
    """What every line of one submit shares."""

    model: str | None  # -m; with --batch-format openai it may come from the lines
    endpoint: str  # one of ENDPOINTS' values
    batch_format: str = "jsonl"
    defaults: dict[str, Any] = field(default_factory=dict)  # the typed -i fields
    system: str | None = None


@dataclass
class Part:
    """One batch's worth of converted lines, on disk."""

    path: Path
    first_line: int
    last_line: int = 0
    lines: int = 0
    size: int = 0


@dataclass
class Converted:
    """What a whole input became: its parts, the input line of every custom_id, its model."""

    parts: list[Part]
    custom_ids: list[tuple[str, int]]
    model: str
    lines: int


def numbered_lines(stream: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, bytes) of every line that is not blank, one at a time."""
    for number, raw in enumerate(stream, 1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        raw = raw.rstrip(b"\r\n")
        if raw.strip():
            yield number, raw


def convert(
    stream: Iterable[bytes], conversion: Conversion, directory: Path, keep: Container[int] | None = None
) -> Converted:
    """Check and convert every line (or only the line numbers in `keep`) into part files in
    `directory`; UsageError (exit 2) naming the lines when any line would be rejected."""
    seen: dict[str, int] = {}
    problems: list[str] = []
    models: dict[str, int] = {}
    parts: list[Part] = []
    out: IO[bytes] | None = None
    try:
        for number, raw in numbered_lines(stream):
            if keep is not None and number not in keep:
                continue
            try:
                line = batch_line(number, raw, conversion)
                model = line["body"].get("model")
                if not isinstance(model, str) or not model:
                    raise InputError("no model: give -m MODEL or a body.model")
                models.setdefault(model, number)
                if len(models) > 1:
                    first = next(iter(models))
                    raise InputError(
                        f"model {model!r}, but line {models[first]} has {first!r}: a batch takes one"
                    )
                if line["custom_id"] in seen:
                    raise InputError(
                        f"custom_id {line['custom_id']!r} is also line {seen[line['custom_id']]}'s"
                    )
            except InputError as exc:
                problems.append(f"line {number}: {exc.describe(prefix='')}")
                continue
            seen[line["custom_id"]] = number
            if problems:
                continue  # keep checking; nothing more is written once a line is bad
            data = (COMPACT.encode(line) + "\n").encode("utf-8")
            if len(data) > MAX_BYTES:
                problems.append(f"line {number}: larger than one batch takes ({MAX_BYTES:,} bytes)")
                continue
            if not parts or parts[-1].lines >= MAX_LINES or parts[-1].size + len(data) > MAX_BYTES:
                if out is not None:
                    out.close()
                parts.append(Part(directory / f"part-{len(parts) + 1}.jsonl", number))
                out = parts[-1].path.open("wb")
            part = parts[-1]
            assert out is not None
            out.write(data)
            part.last_line, part.lines, part.size = number, part.lines + 1, part.size + len(data)
    finally:
        if out is not None:
            out.close()
    if problems:
        raise LinesRejected(problems)
    if not seen:
        raise UsageError("the input has no lines to submit")
    return Converted(parts, list(seen.items()), next(iter(models)), len(seen))


class LinesRejected(UsageError):
    """Lines the API would reject (exit 2); `problems` names each, `line N: why`."""

    def __init__(self, problems: list[str]):
        count = f"{len(problems)} line{'s' if len(problems) != 1 else ''}"
        super().__init__(
            f"{count} the Batch API would reject; nothing was uploaded", hint="fix them and submit again"
        )
        self.problems = problems


def batch_line(number: int, raw: bytes, conversion: Conversion) -> dict[str, Any]:
    """One input line as a Batch API line (InputError when the API would reject it)."""
    if conversion.batch_format == "openai":
        return _checked_openai_line(_json_line(raw), conversion)
    from llamactl.batch.input import line_fields

    fields = {**conversion.defaults, **line_fields(raw, conversion.batch_format)}
    if "input" not in fields:
        raise InputError('no input: give the prompt as a JSON string or as {"input": ...}')
    return {
        "custom_id": f"line-{number}",
        "method": "POST",
        "url": conversion.endpoint,
        "body": request_body(fields, conversion),
    }


def request_body(fields: dict[str, Any], conversion: Conversion) -> dict[str, Any]:
    """The endpoint's real-time request for `infer`-style fields (`input` is the prompt)."""
    fields = dict(fields)
    prompt = fields.pop("input")
    for name in NEVER_IN_A_BATCH:
        if name in fields:
            raise InputError(f"{name}: a batch is never streamed; drop this field")
    body: dict[str, Any] = {"model": fields.pop("model", conversion.model)}
    if conversion.endpoint == ENDPOINTS["chat"]:
        system = [{"role": "system", "content": conversion.system}] if conversion.system else []
        body["messages"] = [*system, {"role": "user", "content": prompt}]
    elif conversion.endpoint == ENDPOINTS["completions"]:
        body["prompt"] = prompt
    else:
        body["input"] = prompt
    for name, value in fields.items():
        body[OPENAI_NAMES.get(name, name)] = value
    return body


def _json_line(raw: bytes) -> Any:
    from llamactl.inference.inputs import loads_strict

    try:
        return loads_strict(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except (ValueError, RecursionError):
        raise InputError("not valid JSON") from None


def _checked_openai_line(line: Any, conversion: Conversion) -> dict[str, Any]:
    """A line already in the Batch API's format, checked as the API would (§10.3)."""
    if not isinstance(line, dict):
        raise InputError('expected a Batch API line: {"custom_id", "method", "url", "body"}')
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise InputError("custom_id: expected a non-empty string")
    if line.get("method", "POST") != "POST":
        raise InputError(f"method: expected POST, got {line.get('method')!r}")
    url = line.get("url", conversion.endpoint)
    if url != conversion.endpoint:
        raise InputError(f"url {url!r} is not the batch's endpoint {conversion.endpoint} (see --endpoint)")
    body = line.get("body")
    if not isinstance(body, dict):
        raise InputError("body: expected a JSON object (the real-time request)")
    for name in NEVER_IN_A_BATCH:
        if name in body:
            raise InputError(f"body.{name}: a batch is never streamed; drop this field")
    if conversion.model is not None and body.setdefault("model", conversion.model) != conversion.model:
        raise InputError(f"body.model {body['model']!r} is not -m {conversion.model}")
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}
