"""`batch results` reads a row in the API's usual shape by a grammar of the whole line, not
by json.loads (canonical.py): for any row, in that shape or not, well-formed or hostile,
the record, status, results and history values it gives are the full decoding's, and so
are the history fields and search text of any input line."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from llamactl.batch_api import canonical
from llamactl.batch_api.jobs import Job
from llamactl.batch_api.recorded import history_fields
from llamactl.batch_api.results import RecordWriter

JOB = Job(
    id="batch_job",
    created_at=0.0,
    api_host="h",
    model="m",
    endpoint="/v1/chat/completions",
    input_path=None,
    input_sha256="",
    lines=1,
    parts=1,
    metadata=None,
    status="completed",
    results_recorded=False,
    batches=[{"id": "batch_job"}],
)
HOSTILE = st.text(
    st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()), max_size=30
) | st.sampled_from(["", '"', "\\", "\\u00e9", "\x00", "\x1f", "\u2028", "\ud83e", "\ud83e\udd99", "é"])
NUMBERS = (
    st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, -0.0, 1e-320, 5e-324, 1.7976931348623157e308, 10**30, 3.568e-05])
)
VALUES = st.none() | st.booleans() | NUMBERS | HOSTILE | st.lists(st.integers(), max_size=2) | st.just({})


def answered_row(content, request_id, tokens_in, tokens_out, cost) -> dict:
    """An output row as the API writes it (§10.5), with these values."""
    return {
        "id": "batch_req_1",
        "custom_id": "line-1",
        "response": {
            "status_code": 200,
            "request_id": request_id,
            "endpoint": "/v1/chat/completions",
            "body": {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1796189461,
                "model": "meta-llama/Llama-2-70b-chat-hf",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": content,
                            "name": None,
                            "tool_calls": None,
                        },
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": tokens_in,
                    "completion_tokens": tokens_out,
                    "total_tokens": 53,
                    "estimated_cost": cost,
                },
            },
        },
        "error": None,
    }


def dumped(row: dict, ensure_ascii: bool) -> bytes:
    return (json.dumps(row, ensure_ascii=ensure_ascii) + "\n").encode("utf-8", "surrogatepass")


def mutated(data: bytes, how: tuple[str, int, bytes]) -> bytes:
    """The line cut, with bytes put in, or with bytes taken out at a place."""
    kind, place, extra = how
    place %= len(data) + 1
    if kind == "cut":
        return data[:place]
    if kind == "insert":
        return data[:place] + extra + data[place:]
    return data[:place] + data[place + len(extra) + 1 :]


MUTATIONS = st.none() | st.tuples(
    st.sampled_from(["cut", "insert", "drop"]),
    st.integers(0, 2000),
    st.binary(max_size=3)
    | st.sampled_from([b" ", b'"', b"\\", b",", b"}", b"\xff", b"\x00", b"0", b"-", b"."]),
)


def outcome(fast: bool, raw: bytes | None, error_raw: bytes | None = None):
    """What collect makes of a line's rows: its record text, status, results and history
    values, or the error decoding raised."""
    try:
        return RecordWriter(JOB).line(1, "line-1", 1, raw, error_raw, fast=fast)
    except ValueError as exc:
        return type(exc)


def same(fast, full) -> bool:
    """Equal, and of the same types (1 == 1.0; a cost's NaN is never kept)."""
    return fast == full and repr(fast) == repr(full)


# The values of an answered row (answered_row's), for the tests that make rows of any values.
ROW_VALUES = {
    "content": HOSTILE | VALUES,
    "request_id": HOSTILE | VALUES,
    "tokens": st.tuples(VALUES, VALUES),
    "cost": VALUES,
}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(**ROW_VALUES, ensure_ascii=st.booleans(), mutation=MUTATIONS)
@example(
    content="Voilà 🦙", request_id="R1", tokens=(42, 11), cost=3.568e-05, ensure_ascii=True, mutation=None
)
def test_a_row_read_by_its_shape_gives_what_decoding_it_gives(
    content, request_id, tokens, cost, ensure_ascii, mutation
):
    raw = dumped(answered_row(content, request_id, *tokens, cost), ensure_ascii)
    if mutation is not None:
        raw = mutated(raw, mutation)
    assert same(outcome(True, raw), outcome(False, raw))


@given(content=HOSTILE, request_id=HOSTILE, tokens=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)))
def test_a_row_in_the_usual_shape_is_read_by_its_shape(content, request_id, tokens):
    """Not a vacuous fast path: the usual row, with any texts in it, takes it."""
    raw = dumped(answered_row(content, request_id, *tokens, 3.568e-05), True)
    assert canonical.answer(raw) is not None
    assert outcome(True, raw)[0] == outcome(False, raw)[0]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=HOSTILE,
    request_id=HOSTILE,
    tokens=st.tuples(st.integers(0, 10**18 - 1), st.integers(0, 10**18 - 1)),  # the grammar's 18 digits
    cost=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    ensure_ascii=st.booleans(),
    where=st.tuples(st.integers(1, 10**9), HOSTILE, st.integers(1, 4)),
    ids=st.tuples(HOSTILE, st.lists(st.none() | HOSTILE, min_size=1, max_size=3)),
)
def test_any_answered_row_in_the_usual_shape_takes_the_fast_path_to_what_decoding_gives(
    content, request_id, tokens, cost, ensure_ascii, where, ids
):
    """The property above, where the fast path is really taken: a well-typed answered row
    with any texts, any line, custom_id, part, job id and batch ids, compared whole."""
    (line, custom_id, part), (job_id, batch_ids) = where, ids
    raw = dumped(answered_row(content, request_id, *tokens, cost), ensure_ascii)
    if cost is not None and math.isfinite(cost):  # the usual shape has a cost; NaN is not JSON
        assert canonical.answer(raw) is not None
    writer = RecordWriter(replace(JOB, id=job_id, batches=[{"id": batch_id} for batch_id in batch_ids]))
    fast, full = (writer.line(line, custom_id, part, raw, None, fast=way) for way in (True, False))
    assert same(fast, full)


@pytest.mark.parametrize(
    "row",
    [
        {"id": "r", "custom_id": "line-1", "response": None, "error": {"code": "400", "message": "bad"}},
        {"id": "r", "custom_id": "line-1", "response": {"status_code": 500, "body": {"error": "x"}}},
        {**answered_row("a", "R", 1, 2, 0.5), "error": {"code": "batch_expired"}},
    ],
)
def test_rows_not_in_the_usual_shape_are_decoded(row):
    raw = dumped(row, True)
    assert canonical.answer(raw) is None
    assert same(outcome(True, raw), outcome(False, raw))


def test_a_row_with_an_error_row_too_is_decoded():
    raw = dumped(answered_row("a", "R", 1, 2, 0.5), True)
    error = dumped({"id": "r", "custom_id": "line-1", "response": None, "error": {"code": "500"}}, True)
    assert same(outcome(True, raw, error), outcome(False, raw, error))
    assert same(outcome(True, raw, b"not json\n"), outcome(False, raw, b"not json\n"))


NUMBER_LITERALS = [
    "0",
    "042",
    "-0",
    "-5",
    "5",
    "1.0",
    "1e2",
    "1E+2",
    "3.568e-05",
    "1e999",
    "0.1",
    "01.5",
    "1.",
    ".5",
]
NUMBER_LITERALS += [
    "2.0000000000000004",
    "99999999999999999999",
    "true",
    "null",
    '"5"',
    "NaN",
    "-Infinity",
    "1_0",
]


@pytest.mark.parametrize("field", ["prompt_tokens", "completion_tokens", "total_tokens", "estimated_cost"])
def test_a_rows_numbers_are_read_as_json_reads_them(field):
    template = dumped(answered_row("a", "R", 1, 2, 0.5), True)
    for literal in NUMBER_LITERALS:
        start = template.index(f'"{field}": '.encode()) + len(field) + 4
        end = min(template.index(mark, start) for mark in (b",", b"}"))
        raw = template[:start] + literal.encode() + template[end:]
        for _ in range(2):  # costs: the second time from the cache
            assert same(outcome(True, raw), outcome(False, raw)), literal


def input_line(custom_id, role, content, compact=True) -> bytes:
    line = {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "meta-llama/Llama-2-70b-chat-hf", "messages": [{"role": role, "content": content}]},
    }
    separators = (",", ":") if compact else None
    return (json.dumps(line, ensure_ascii=False, separators=separators) + "\n").encode(
        "utf-8", "surrogatepass"
    )


def fields_outcome(read: canonical.RequestReader | None, raw: bytes, custom_id: str):
    try:
        return history_fields(raw, custom_id, read)
    except ValueError as exc:
        return type(exc)


@settings(max_examples=300)
@given(
    custom_id=st.sampled_from(["line-1", "line-2", 'line-"1']) | HOSTILE,
    role=HOSTILE | VALUES,
    content=HOSTILE | VALUES,
    compact=st.booleans(),
    mutation=MUTATIONS,
)
@example(custom_id="line-1", role="user", content="", compact=True, mutation=None)
def test_an_input_line_read_by_its_shape_gives_the_decoded_fields(
    custom_id, role, content, compact, mutation
):
    raw = input_line(custom_id, role, content, compact)
    if mutation is not None:
        raw = mutated(raw, mutation)
    decoded = fields_outcome(None, raw, "line-1")
    assert same(fields_outcome(canonical.RequestReader(), raw, "line-1"), decoded)  # by the grammar
    for template in (input_line("line-7", "user", "a prompt"), input_line("line-7", role, "x", compact)):
        read = canonical.RequestReader()
        fields_outcome(read, template, "line-7")  # read by the grammar: kept as the template
        assert same(fields_outcome(read, raw, "line-1"), decoded)  # by comparing, where it can


@given(content=HOSTILE)
def test_a_prompt_line_as_submit_writes_it_is_read_by_its_shape(content):
    raw = input_line("line-1", "user", content)
    read = canonical.RequestReader()
    assert read(raw, "line-1") is not None and read.middle is not None
    assert read(raw, "line-2") is None
    later = input_line("line-3", "user", content + "é")
    assert read(later, "line-3") == history_fields(later, "line-3", None)


def test_the_grammar_takes_only_whole_valid_lines():
    raw = dumped(answered_row("a", "R", 1, 2, 0.5), True)
    assert canonical.answer(raw) is not None
    assert canonical.answer(raw[:-2] + b"}}\n") is None  # a brace too many
    assert canonical.answer(raw.replace(b'"a"', b'"a\\x"')) is None  # not a JSON escape
    assert canonical.answer(raw.replace(b'"a"', b'"\x01"')) is None  # a raw control character
    assert not math.isnan(canonical.answer(raw)[1][3])


@pytest.mark.parametrize(
    "old, new",
    [
        (b'"a prompt"}]}}\n', b'"a prompt"}]}}x\n'),  # a tail that is not the template's
        (b'"a prompt"}]}}\n', b'"a prompt"}]} }\n'),
        (b'"a prompt"}]}}\n', b'"a prompt"}],"n":1}}\n'),
        (b'"a prompt"}]}}\n', b'"a prompt"}]}}'),  # no newline: still the grammar's
        (b'"a prompt"', b'1a prompt"'),  # a prompt that is not a string
        (b'"a prompt"', b'"a \x01prompt"'),
        (b'"a prompt"', b'"a \\x prompt"'),
        (b'"a prompt"', b'"a \\u00e9 prompt"'),
        (b'"a prompt"', b'"a prompt'),
        (b'"line-1"', b'"line\\u002d1"'),  # the same id, written otherwise
        (b'"user"', b'"system"'),  # another role than the template's
    ],
)
def test_a_line_unlike_the_template_is_read_as_decoding_reads_it(old, new):
    read = canonical.RequestReader()
    assert read(input_line("line-7", "user", "the template"), "line-7") is not None
    raw = input_line("line-1", "user", "a prompt").replace(old, new)
    assert raw != input_line("line-1", "user", "a prompt")
    assert same(fields_outcome(read, raw, "line-1"), fields_outcome(None, raw, "line-1"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(**ROW_VALUES, response=st.none() | st.just("row") | VALUES, mutation=MUTATIONS)
@example(content="x", request_id="R1", tokens=(1, 1), cost=0.1, response="row", mutation=("cut", 200, b""))
@example(content="x", request_id="R1", tokens=(1, 1), cost=0.1, response=[1], mutation=None)
def test_any_row_is_its_lines_record_with_values_history_can_keep(
    content, request_id, tokens, cost, response, mutation
):
    """Cut short, of another shape or with values of other types, a row gives its line a
    record (an error one, saying why, when the row is not the API's), never an exception."""
    row = answered_row(content, request_id, *tokens, cost)
    if response != "row":
        row["response"] = response
    raw = mutated(dumped(row, ensure_ascii=False), mutation) if mutation else dumped(row, False)
    text, status, results, (error, tokens_in, tokens_out, row_cost, row_request) = RecordWriter(JOB).line(
        1, "line-1", 1, raw, None, fast=False
    )
    record = json.loads(text)
    assert (record["status"], record["results"], record["error"]) == (status, results, error)
    assert status in ("ok", "error", "not_run") and all(isinstance(text, str) for text in results)
    assert all(
        value is None or (type(value) is int and abs(value) < 2**63) for value in (tokens_in, tokens_out)
    )
    assert row_cost is None or type(row_cost) is float
    assert row_request is None or type(row_request) is str
    assert (error is None) == (status == "ok") and (error is None or type(error) is str)
