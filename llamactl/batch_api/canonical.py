"""The rows of a big collection read without json.loads: an answered output row and an input
line in the shape the API and llamactl write them (the same keys in the same order, one
choice, one message) match a grammar of the whole line, and only their few values are
decoded. A line the grammar matches is valid JSON with just those values; any other line
(another shape, odd spacing, a value of another type) gives None, and is read in full.
Decoding 50,000 rows as dicts was most of a collection's time; tests check that both ways
give the same record for any line."""

from __future__ import annotations

import re
from collections.abc import Callable
from json import decoder
from json.encoder import encode_basestring
from typing import Any

scanstring: Callable[[str, int], tuple[str, int]] = decoder.scanstring  # type: ignore[attr-defined]  # C, strict

STRING = r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"'
INT = r"-?(?:0|[1-9][0-9]{0,17})"  # up to 18 digits: a 64-bit integer, far from int()'s limits
NUMBER = INT + r"(?:\.[0-9]{1,40})?(?:[eE][-+]?[0-9]{1,3})?"
VALUES = {"S": STRING, "I": INT, "N": NUMBER}


def grammar(shape: str) -> re.Pattern[str]:
    """A whole-line pattern from a line's shape, spaced as it is written, with S (a string),
    I (an integer) and N (a number) for values and (?P<name>S) for a value to keep. The
    spacing is the writer's own: allowing JSON's whitespace around every token took more
    time than json.loads itself."""
    pattern = []
    for part in re.split(r"(\(\?P<\w+>[SIN]\)|(?<=[ \[:])[SIN](?=[,}\]]))", shape):
        kept = re.fullmatch(r"\(\?P<(\w+)>([SIN])\)", part)
        if kept:
            pattern.append(f"(?P<{kept[1]}>{VALUES[kept[2]]})")
        else:
            pattern.append(VALUES.get(part) or re.escape(part))
    return re.compile("".join(pattern) + r"\n?")


# An answered chat row, as the API writes it (§10.5: Python's json.dumps spacing).
ANSWER = grammar(
    '{"id": S, "custom_id": S, "response": {"status_code": 200, "request_id": (?P<request_id>S),'
    ' "endpoint": S, "body": {"id": S, "object": S, "created": I, "model": S, "choices": [{"index": 0,'
    ' "message": {"role": S, "content": (?P<content>S), "name": null, "tool_calls": null},'
    ' "finish_reason": S}], "usage": {"prompt_tokens": (?P<tokens_in>I), "completion_tokens":'
    ' (?P<tokens_out>I), "total_tokens": I, "estimated_cost": (?P<cost>N)}}}, "error": null}'
)
# A chat line with one message, as `batch submit` writes a prompt (compact).
REQUEST = grammar(
    '{"custom_id":(?P<custom_id>S),"method":S,"url":S,'
    '"body":{"model":S,"messages":[{"role":(?P<role>S),"content":(?P<content>S)}]}}'
)


def text_of(raw: bytes) -> str | None:
    """A row's bytes as json_of decodes them, when it would decode them so (None: not so)."""
    if raw[:2] != b'{"':
        return None
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None


def string(found: re.Match[str], name: str) -> str:
    """A matched string's value: its text when it has no escapes, else as JSON decodes it."""
    literal = found[name]
    if "\\" not in literal:
        return literal[1:-1]
    return scanstring(found.string, found.start(name) + 1)[0]


def cost_of(value: Any) -> float | None:
    """A row's `usage.estimated_cost`, without float noise as history keeps costs."""
    from llamactl.output.format import round_cost

    return round_cost(float(value)) if isinstance(value, (int, float)) else None  # NaN, < 0: unknown


COSTS: dict[str, float | None] = {}  # cost_of by the literal: a job's rows share a few costs
COSTS_KEPT = 4096


def answer(raw: bytes) -> tuple[str, tuple[None, int, int, float | None, str]] | None:
    """An answered row's text and (error, tokens_in, tokens_out, cost, request_id), as
    record_for reads them from the decoded row; None when the row is not in the API's
    usual shape."""
    text = text_of(raw)
    found = ANSWER.fullmatch(text) if text is not None else None
    if found is None:
        return None
    tokens_in, tokens_out, literal = found.group("tokens_in", "tokens_out", "cost")
    try:
        cost = COSTS[literal]
    except KeyError:
        if len(COSTS) >= COSTS_KEPT:
            COSTS.clear()
        number = float(literal) if "." in literal or "e" in literal or "E" in literal else int(literal)
        cost = COSTS[literal] = cost_of(number)
    said, request_id = string(found, "content"), string(found, "request_id")
    return said, (None, int(tokens_in), int(tokens_out), cost, request_id)


class RequestReader:
    """The history fields (as JSON text) and search text of a job's one-message chat lines,
    as recorded.fields_of and search_input make them; None for any other line or id. A
    line the grammar matched is kept as a template: `batch submit` writes every prompt
    from one, so a later line that is its text but for the custom_id and the prompt (both
    valid JSON strings) matches the grammar as well, and is read by comparing, not
    matching."""

    def __init__(self) -> None:
        self.middle: str | None = None  # from after the custom_id to the prompt
        self.tail, self.role = "", ""

    def __call__(self, raw: bytes, custom_id: str) -> tuple[str, str] | None:
        text = text_of(raw)
        if text is None:
            return None
        head = '{"custom_id":' + encode_basestring(custom_id)
        if self.middle is not None and text.startswith(head) and text.startswith(self.middle, len(head)):
            start = len(head) + len(self.middle)
            try:
                prompt, end = scanstring(text, start + 1) if text.startswith('"', start) else (None, 0)
            except ValueError:  # not a valid string: the grammar would not match either
                prompt = None
            if prompt is not None and text[end:] == self.tail:
                return fields(prompt, self.role)
        found = REQUEST.fullmatch(text)
        if found is None or string(found, "custom_id") != custom_id:
            return None
        self.middle = text[found.end("custom_id") : found.start("content")]
        self.tail, self.role = text[found.end("content") :], encode_basestring(string(found, "role"))
        return fields(string(found, "content"), self.role)


def fields(prompt: str, role: str) -> tuple[str, str]:
    """A one-message chat line's history fields and search text, from its prompt and the
    JSON of its role."""
    content = encode_basestring(prompt)
    search = f"{prompt}\n\n{prompt}" if prompt else ""  # search_input: the input, then the message
    return f'{{"input": {content}, "messages": [{{"role": {role}, "content": {content}}}]}}', search
