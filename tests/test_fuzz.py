"""Arbitrary bytes at every parser a server or a user feeds: the SSE parser, the JSON answer
reader (plain and content-encoded), error bodies, the batch reader and `-i`. Whatever comes
in, what comes out is a result or one of llamactl's own errors (errors.py), never another
exception. Few examples each and no deadline, so the suite stays quick."""

from __future__ import annotations

import io

import requests
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llamactl.api.client import read_json
from llamactl.api.error_body import error_for_status
from llamactl.api.native_stream import StreamAccumulator, iter_events
from llamactl.api.request import InferenceTarget
from llamactl.batch.input import FORMATS, parse_batch
from llamactl.env import Environment
from llamactl.errors import LlamactlError
from llamactl.inference.inputs import RequestInputs
from llamactl.inference.prepare import InferOptions, prepare_request
from llamactl.inference.run import results_of

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Bytes biased towards what the parsers look for, so that examples get past their first check.
SSE_WORDS = [
    b"data:",
    b"data: ",
    b": ",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"[DONE]",
    b"event: x",
    b"\xe9",
    b"\xf0\x9f",
]
JSON_WORDS = [
    b"{",
    b"}",
    b"[",
    b"]",
    b'"token"',
    b'"text"',
    b'"results"',
    b'"generated_text"',
    b":",
    b",",
    b"null",
]
JSON_WORDS += [
    b"5",
    b'"x"',
    b"true",
    b'"details"',
    b'"error"',
    b'"detail"',
    b"NaN",
    b"1e999",
    b"\\u0000",
    b"\xff",
]
WORDS = st.sampled_from(SSE_WORDS + JSON_WORDS) | st.binary(max_size=12)
HOSTILE = st.lists(WORDS, max_size=40).map(b"".join)


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if data[a:b]]


@FUZZ
@given(data=HOSTILE, cuts=st.lists(st.integers(min_value=0), max_size=6))
def test_the_sse_parser_takes_any_bytes_in_any_pieces(data, cuts):
    accumulator = StreamAccumulator(max_kept=64)
    try:
        for event in iter_events(pieces(data, cuts)):
            accumulator.add(event)
        _ = accumulator.text, accumulator.tokens_in, accumulator.tokens_out, accumulator.cost
    except LlamactlError:
        pass


def answer(body: bytes, encoding: str | None) -> requests.Response:
    """A real requests Response over a real urllib3 one, its body in memory."""
    headers = {"Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    response = requests.Response()
    response.status_code = 200
    response.raw = urllib3.HTTPResponse(
        body=io.BytesIO(body), headers=headers, status=200, preload_content=False, decode_content=False
    )
    response.headers = requests.structures.CaseInsensitiveDict(headers)
    return response


@FUZZ
@given(body=HOSTILE, encoding=st.sampled_from([None, "gzip", "deflate", "br", "identity"]))
def test_the_json_answer_reader_takes_any_body(body, encoding):
    try:
        data = read_json(answer(body, encoding))
        if isinstance(data, dict):
            results_of(data)
    except LlamactlError:
        pass


@FUZZ
@given(
    body=HOSTILE,
    status=st.integers(min_value=300, max_value=599),
    content_type=st.sampled_from(["application/json", "text/html", "text/plain", ""]),
)
def test_an_error_body_always_becomes_one_of_our_errors(body, status, content_type):
    assert isinstance(error_for_status(status, "Reason", body, content_type, "some/model"), LlamactlError)


@FUZZ
@given(data=HOSTILE, batch_format=st.sampled_from(FORMATS))
def test_the_batch_reader_takes_any_file(data, batch_format):
    try:
        lines = parse_batch(data, batch_format, InferenceTarget("some/model"), RequestInputs())
    except LlamactlError:
        return
    assert all((line.request is None) != (line.error is None) for line in lines)


ITEM_WORDS = st.sampled_from(
    ["=", "input", "stop", "max_new_tokens", "temperature", "response_format", "@", "["]
)
ITEM_WORDS |= st.sampled_from(
    ["{", "}", "1e999", "NaN", "true", "-1", "x", '"', "stream", "num_responses", "top_k"]
)
ITEMS = st.lists(st.lists(ITEM_WORDS | st.text(max_size=6), max_size=8).map("".join), max_size=5)


@FUZZ
@given(items=ITEMS)
def test_the_input_parser_takes_any_items(items):
    env = Environment(stdin=io.StringIO(""), stdin_isatty=False, environ={})
    options = InferOptions(model="some/model", inputs=items, prompt="hi", no_stdin=True)
    try:
        prepare_request(options, env, fetch_schema=False)
    except LlamactlError:
        pass
