"""How `batch results` reads the API's rows: a row's custom_id found without decoding the
row, however the row spells it, and a row's bytes decoded as json.loads decodes them."""

from __future__ import annotations

import json

import pytest

from llamactl.batch_api.rows import _custom_id, json_of

BODY = '"response": {"status_code": 200, "body": {"custom_id": "not this one"}}'


@pytest.mark.parametrize(
    "raw, custom_id",
    [
        (b'{"id": "r1", "custom_id": "line-7", ' + BODY.encode() + b"}\n", "line-7"),  # the API's way
        (b'{"id":"r1","custom_id":"line-7",' + BODY.encode() + b"}\n", "line-7"),  # compact
        (b'{"id": "r1", "custom_id" :  "line-7"}\n', "line-7"),
        (b'{"id": "r1", "custom_id": "a\\"b\\u00e9"}\n', 'a"b\u00e9'),  # escapes
        ('{"id": "r1", "custom_id": "é ü"}\n'.encode(), "é ü"),
        (b'{"id": "r1", "custom_id": "\xff"}\n', None),  # not UTF-8
        (b'{"custom_id": "line-2", "id": "r1"}\n', "line-2"),  # another order: decoded in full
        (b'{"id": "r1", "custom_id": "' + b"x" * 5000 + b'"}\n', "x" * 5000),  # beyond 4096 bytes
        (b'{"id": "r1", "custom_id": 5}\n', None),
        (b"not json\n", None),
    ],
)
def test_a_rows_custom_id_is_found_however_it_is_written(raw, custom_id):
    assert _custom_id(raw) == custom_id


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\xc3\xa9"}',
        '{"a": 1}'.encode("utf-16-le"),
        b'\xef\xbb\xbf{"a": 1}',
        b"[1]",
        b'{"a": "\xed\xa0\x80"}',
    ],
)
def test_a_row_decodes_as_json_loads_decodes_it(raw):
    assert json_of(raw) == json.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": "r1", "custom_id": "line-3", ' + BODY.encode() + b"}\n",  # the API's way
        b'{"id": "r1", "custom_id": "line-3"}',
        b'{"id": "r1", "custom_id": "line-03"}\n',  # not the id of line 3
        b'{"id": "r1", "custom_id": "line-0"}\n',
        b'{"id": "r1", "custom_id": "line-9"}\n',  # a line the job does not have
        b'{"id": "r1", "custom_id": "line-99999999999999999999"}\n',
        b'{"id": "r1", "custom_id": "line-3x"}\n',
        b'{"id": "r1", "custom_id": "line-3\\u0031"}\n',
        b'{"id":"r1","custom_id":"line-3"}\n',  # compact
        b'{"custom_id": "line-3", "id": "r1"}\n',
        b'{"id": "' + b"x" * 5000 + b'", "custom_id": "line-3"}\n',  # beyond 4096 bytes
        b'{"id": "' + b"x" * 4070 + b'", "custom_id": "line-3"}\n',  # across the 4096th byte
        b'{"id": "' + b"x" * 4060 + b'", "custom_id": "line-3"}\n',
        b"not json\n",
    ],
)
def test_a_rows_place_is_the_place_of_its_custom_id(raw):
    from llamactl.batch_api.rows import JobLines

    lines = JobLines([(line, f"line-{line}", 1, 0, None) for line in (1, 2, 3, 5)])
    custom_id = _custom_id(raw)
    assert lines.index_of_row(raw) == (None if custom_id is None else lines.index_of(custom_id))
    assert lines.index_of_row(b'{"id": "r1", "custom_id": "line-3"}\n') == 2
