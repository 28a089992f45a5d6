"""A job's input lines and the rows of its downloaded files, found by the line's place:
the API returns rows in any order (§10.5), so each file is indexed once (custom_id -> byte
offset) and each row read at its offset when its line's record is written. Memory grows
with the number of lines (about 20 bytes each), never with the size of the answers."""

from __future__ import annotations

import json
import os
import re
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class JobLines:
    """A job's input lines in order (from batch_lines): line numbers and parts in arrays,
    the custom_ids in a list only when they are not all `line-N` (made from the line),
    and the way back from a custom_id to its place in that order. About 20 bytes a line."""

    def __init__(self, rows: Iterable[tuple[int, str, int, int, str | None]]):
        self.numbers, self.parts = array("q"), array("l")
        self.custom_ids: list[str] | None = None  # None: each is line-N
        for line, custom_id, part, _, _ in rows:
            if self.custom_ids is None and custom_id != f"line-{line}":
                self.custom_ids = [f"line-{number}" for number in self.numbers]
            self.numbers.append(line)
            self.parts.append(part)
            if self.custom_ids is not None:
                self.custom_ids.append(custom_id)
        self.by_id: dict[str, int] | None = None
        self.by_line = array("l")
        if self.custom_ids is None:
            self.by_line = array("l", [-1]) * ((self.numbers[-1] + 1) if self.numbers else 0)
            for index, line in enumerate(self.numbers):
                self.by_line[line] = index
        else:
            self.by_id = {custom_id: index for index, custom_id in enumerate(self.custom_ids)}

    def __len__(self) -> int:
        return len(self.numbers)

    def ids(self) -> Iterable[str]:
        return map("line-{}".format, self.numbers) if self.custom_ids is None else self.custom_ids

    def index_of_row(self, raw: bytes) -> int | None:
        """index_of the custom_id of a row (its bytes); for a `line-N` id as the API writes
        it, from N itself."""
        found = LINE_ID.match(raw) if self.by_id is None else None
        if found is None or found.end() > ID_WITHIN:
            custom_id = _custom_id(raw)
            return None if custom_id is None else self.index_of(custom_id)
        line = int(found[1])
        index = self.by_line[line] if line < len(self.by_line) else -1
        return index if index >= 0 else None

    def index_of(self, custom_id: str) -> int | None:
        """The place of the line with this custom_id, None for an id the job never sent."""
        if self.by_id is not None:
            return self.by_id.get(custom_id)
        if not custom_id.startswith("line-"):
            return None
        try:
            line = int(custom_id[5:])
            index = self.by_line[line]
        except (ValueError, IndexError):
            return None
        return index if index >= 0 and custom_id == f"line-{line}" else None  # not line-01, line-1_0


class IndexedRows:
    """Rows of one or more JSONL files, found by their line's place without loading the
    files: the file number, byte offset and length of each line's row, in arrays."""

    def __init__(self, paths: list[Path], lines: JobLines):
        self.files = [path.open("rb") for path in paths]
        self.file_of, self.size_of = array("i", [-1]) * len(lines), array("I", [0]) * len(lines)
        self.offset_of = array("q", [0]) * len(lines)
        for number, file in enumerate(self.files):
            offset = 0
            for raw in file:
                index = lines.index_of_row(raw)
                if index is not None:
                    self.file_of[index], self.offset_of[index], self.size_of[index] = number, offset, len(raw)
                offset += len(raw)

    def raw(self, index: int) -> bytes | None:
        """The bytes of the row of the line at `index`; None when there is none."""
        number = self.file_of[index]
        if number < 0:
            return None
        return os.pread(self.files[number].fileno(), self.size_of[index], self.offset_of[index])

    def get(self, index: int) -> dict | None:
        raw = self.raw(index)
        return None if raw is None else json_of(raw)

    def close(self) -> None:
        for file in self.files:
            file.close()


def json_of(raw: bytes) -> Any:
    """json.loads of a row's bytes, without guessing their encoding for each row: bytes that
    open with `{` and no NUL are what json.loads reads as UTF-8 too."""
    if raw[:1] == b"{" and raw[1:2] != b"\x00":
        return json.loads(raw.decode("utf-8", "surrogatepass"))
    return json.loads(raw)


class MalformedRow(ValueError):
    """A downloaded row that is not what the Batch API writes: that line's record is an
    error saying so, never the whole collection's."""


def decoded_row(data: bytes | None, what: str = "row") -> dict | None:
    """A row of a downloaded file (None: the line has none) as an object whose response,
    error and an answer's body and usage are objects where the Batch API writes them;
    MalformedRow, naming `what` it is, otherwise."""
    if data is None:
        return None
    try:
        value = json_of(data)
    except (ValueError, RecursionError):  # cut short, not UTF-8, nested beyond the parser
        raise MalformedRow(f"the API's {what} for this line is not valid JSON") from None
    response = value.get("response") if isinstance(value, dict) else None
    answer = response.get("body") if isinstance(response, dict) and response.get("status_code") == 200 else {}
    if not (
        isinstance(value, dict)
        and isinstance(response or {}, dict)
        and isinstance(value.get("error") or {}, dict)
        and isinstance(answer or {}, dict)
        and isinstance((answer or {}).get("usage") or {}, dict)
        and isinstance((answer or {}).get("choices") or [], list)
    ):
        raise MalformedRow(f"the API's {what} for this line is not in the Batch API's shape")
    return value


CUSTOM_ID = re.compile(rb'"custom_id"\s*:\s*("(?:[^"\\]|\\.)*")')
ID_WITHIN = 4096  # where a row's custom_id is looked for before decoding the row
LINE_ID = re.compile(rb'\{"id": "[^"\\]*", "custom_id": "line-([1-9][0-9]{0,17})"')  # the first custom_id
ID_KEY, ID_OPENS = b'"custom_id"', b'"custom_id": "'  # how the API writes it


def _custom_id(raw: bytes) -> str | None:
    """The row's custom_id, read without decoding the whole row (the first match is the
    row's own: the API writes it before the response body); a row that does not look like
    one is decoded in full. An id written as the API writes it, with no escapes, is found
    without the regex, where the regex would find it (its first `"custom_id"`)."""
    start = raw.find(ID_KEY, 0, ID_WITHIN)
    if start >= 0 and raw.startswith(ID_OPENS, start):
        end = raw.find(b'"', start + len(ID_OPENS), ID_WITHIN)
        literal = raw[start + len(ID_OPENS) : end] if end >= 0 else b"\\"
        if b"\\" not in literal and (raw.startswith(b'{"id"') or raw.lstrip().startswith(b'{"id"')):
            try:
                return literal.decode("utf-8")
            except ValueError:
                return None
    found = CUSTOM_ID.search(raw, 0, ID_WITHIN)
    try:
        if found and raw.lstrip().startswith(b'{"id"'):
            literal = found.group(1)
            return literal[1:-1].decode("utf-8") if b"\\" not in literal else json.loads(literal)
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    custom_id = value.get("custom_id") if isinstance(value, dict) else None
    return custom_id if isinstance(custom_id, str) else None
