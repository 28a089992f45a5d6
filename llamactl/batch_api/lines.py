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
from array import array
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from json import decoder
from json.encoder import encode_basestring as ENCODE_STRING  # the C one, as COMPACT uses
from pathlib import Path
from typing import IO, Any

from llamactl.errors import UsageError
from llamactl.inference.inputs import InputError

ENDPOINTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions", "embeddings": "/v1/embeddings"}
FORMATS = ("jsonl", "lines", "openai")
MAX_LINES = 50_000  # one batch's limits (§10.3)
MAX_BYTES = 200 * 1000 * 1000
WRITE_BUFFER = 1 << 20  # a part file is written in 1 MiB writes, not 8 KiB ones
SHOWN_ERRORS = 20  # the first problems named one per line; the count says how many in all
# Native field names a user may carry over from `infer`, and the Batch API body's names.
OPENAI_NAMES = {"max_new_tokens": "max_tokens", "num_responses": "n"}
NEVER_IN_A_BATCH = ("stream", "stream_options")
SCAN_STRING: Callable[[str, int], tuple[str, int]] = decoder.scanstring  # type: ignore[attr-defined]  # C, strict
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
    """What a whole input became: its parts, the input line of every converted line (in
    order), their custom_ids (None: each is `line-N`, made from its line), its model."""

    parts: list[Part]
    numbers: array
    custom_ids: list[str] | None
    model: str

    @property
    def lines(self) -> int:
        return len(self.numbers)


class PromptTemplate:
    """The bytes around the prompt of every line of one conversion, so that a line that is
    only a prompt (the common case, and most of the time of a big submit) is checked and
    written with no dict built or JSON encoded for it: prefix, line number, middle, the
    prompt as a JSON string, suffix. None when the -i defaults alone make a line a reject."""

    PROMPT, NUMBER = "\x00prompt\x00", "\x00number\x00"

    def __init__(self, model: str, head: bytes, middle: bytes, tail: bytes):
        self.model, self.head, self.middle, self.tail = model, head, middle, tail

    @classmethod
    def of(cls, conversion: Conversion) -> PromptTemplate | None:
        if conversion.batch_format == "openai":
            return None
        fields = {**conversion.defaults, "input": cls.PROMPT}
        try:
            body = request_body(fields, conversion)
        except InputError:
            return None
        if not isinstance(body.get("model"), str) or not body["model"]:
            return None
        line = {"custom_id": "line-" + cls.NUMBER, "method": "POST", "url": conversion.endpoint, "body": body}
        text = COMPACT.encode(line) + "\n"
        number, prompt = COMPACT.encode(cls.NUMBER)[1:-1], COMPACT.encode(cls.PROMPT)
        if text.count(number) != 1 or text.count(prompt) != 1:
            return None  # a default holding a placeholder itself: convert line by line
        head, _, rest = text.partition(number)
        middle, _, tail = rest.partition(prompt)
        return cls(body["model"], head.encode("utf-8"), middle.encode("utf-8"), tail.encode("utf-8"))

    def line(self, number: int, raw: bytes, batch_format: str) -> bytes | None:
        """The Batch API line of a prompt line, or None when it is not a bare prompt (a
        JSON object, or anything that is not valid: the full conversion says why)."""
        try:
            text = raw.decode("utf-8")
            if batch_format == "lines":
                prompt = ENCODE_STRING(text).encode("utf-8")
            elif raw[:1] == b'"' and SCAN_STRING(text, 1)[1] == len(text):
                prompt = raw  # a valid JSON string is written as it came: the same text
            else:
                return None
        except ValueError:  # UnicodeDecodeError, JSONDecodeError
            return None
        return b"%s%d%s%s%s" % (self.head, number, self.middle, prompt, self.tail)


def convert(
    stream: Iterable[bytes], conversion: Conversion, directory: Path, keep: Container[int] | None = None
) -> Converted:
    """Check and convert every line (or only the line numbers in `keep`) into part files in
    `directory`; UsageError (exit 2) naming the lines when any line would be rejected."""
    writer = PartWriter(directory)
    numbers = array("q")
    given = conversion.batch_format == "openai"  # custom_ids from the lines, else line-N
    seen: dict[str, int] = {}
    problems: list[str] = []
    models: dict[str, int] = {}
    template = PromptTemplate.of(conversion)
    try:
        for number, raw in enumerate(stream, 1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            raw = raw.rstrip(b"\r\n")
            if (keep is not None and number not in keep) or not raw.strip():
                continue
            data = None
            if template is not None and (not models or template.model in models):
                if data := template.line(number, raw, conversion.batch_format):
                    models.setdefault(template.model, number)
            if data is None:
                try:
                    data = _checked_line(number, raw, conversion, models, seen if given else None)
                except InputError as exc:
                    problems.append(f"line {number}: {exc.describe(prefix='')}")
                    continue
            numbers.append(number)
            if problems:
                continue  # keep checking; nothing more is written once a line is bad
            if len(data) > MAX_BYTES:
                problems.append(f"line {number}: larger than one batch takes ({MAX_BYTES:,} bytes)")
                continue
            writer.write(number, data)
    finally:
        writer.close()
    if problems:
        raise LinesRejected(problems)
    if not numbers:
        raise UsageError("the input has no lines to submit")
    return Converted(writer.parts, numbers, list(seen) if given else None, next(iter(models)))


def _checked_line(
    number: int, raw: bytes, conversion: Conversion, models: dict[str, int], seen: dict[str, int] | None
) -> bytes:
    """One line converted in full (InputError when the API would reject it): its model
    must be the batch's one, and a custom_id it gives (`seen`) its own."""
    line = batch_line(number, raw, conversion)
    model = line["body"].get("model")
    if not isinstance(model, str) or not model:
        raise InputError("no model: give -m MODEL or a body.model")
    models.setdefault(model, number)
    if len(models) > 1:
        first = next(iter(models))
        raise InputError(f"model {model!r}, but line {models[first]} has {first!r}: a batch takes one")
    if seen is not None:
        if line["custom_id"] in seen:
            raise InputError(f"custom_id {line['custom_id']!r} is also line {seen[line['custom_id']]}'s")
        seen[line["custom_id"]] = number
    return (COMPACT.encode(line) + "\n").encode("utf-8")


class PartWriter:
    """Converted lines into part files of at most MAX_LINES lines and MAX_BYTES bytes."""

    def __init__(self, directory: Path):
        self.directory, self.parts = directory, list[Part]()
        self.out: IO[bytes] | None = None

    def write(self, number: int, data: bytes) -> None:
        part = self.parts[-1] if self.parts else None
        if part is None or part.lines >= MAX_LINES or part.size + len(data) > MAX_BYTES:
            self.close()
            part = Part(self.directory / f"part-{len(self.parts) + 1}.jsonl", number)
            self.parts.append(part)
            self.out = part.path.open("wb", buffering=WRITE_BUFFER)
        assert self.out is not None
        self.out.write(data)
        part.last_line, part.lines, part.size = number, part.lines + 1, part.size + len(data)

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None


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
