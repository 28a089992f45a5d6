"""Bounds on what a server can make llamactl hold: the SSE framer in front of sseclient-py
(a line, an event, the bytes between two usable events), the body decoder (a gzip bomb
inflates one bounded step at a time), the one JSON decoder (nesting), history's share of a
huge answer. The end-to-end rows are in tests/test_faults.py; the times in bench/hostile.py."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sseclient import SSEClient

from llamactl.api.body import READ_SIZE, Inflater
from llamactl.api.json_body import MAX_DEPTH, JsonTooDeep, ResponseNotJson, loads
from llamactl.api.native_stream import iter_events
from llamactl.api.sse_framing import BoundedFramer, StreamUnbounded
from llamactl.inference.outcome import MAX_KEPT_TEXT, kept_text
from tests.emulator import Behavior
from tests.helpers import invoke, run_llamactl

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def framed(chunks, **limits) -> list[bytes]:
    return list(BoundedFramer(**limits).events(chunks))


def datas(chunks) -> list[str]:
    """The data of each event, as sseclient-py parses what the framer hands it."""
    return [event.data for event in SSEClient(BoundedFramer().events(chunks)).events()]


# --- the framer ---------------------------------------------------------------------------


def test_a_line_longer_than_the_bound_arriving_in_many_reads_is_an_error():
    with pytest.raises(StreamUnbounded, match="a line longer than 1 KiB"):
        framed([b"data: "] + [b"x" * 100] * 20, max_unused=1024)


def test_comment_lines_without_an_event_are_bounded_too():
    with pytest.raises(StreamUnbounded, match="1 KiB without an event"):
        framed([b": keep-alive\n" * 10] * 20, max_unused=1024)


def test_unusable_events_count_until_a_usable_one_resets_the_count():
    framer = BoundedFramer(max_unused=1024)
    junk = b"data: junk\n\n" * 50  # 600 bytes
    chunks = iter([junk, b"data: {}\n\n", junk, junk])
    seen = []
    with pytest.raises(StreamUnbounded, match="without an event"):
        for event in framer.events(chunks):
            seen.append(event)
            if event == b"data: {}\n\n":
                framer.used()
    assert b"data: {}\n\n" in seen  # the first 600 junk bytes alone were within the bound


def test_an_event_of_too_many_lines_is_an_error():
    with pytest.raises(StreamUnbounded, match="more than 4 lines"):
        framed([b"data: x\n" * 5 + b"\n"], max_lines=4)


def test_a_cr_ending_one_read_and_a_lf_starting_the_next_are_one_line_end():
    assert datas([b'data: {"a": 1}\r', b'\ndata: {"b": 2}\r\n\r\n']) == ['{"a": 1}\n{"b": 2}']


def test_bytes_that_are_not_utf8_are_replaced():
    assert datas([b'data: "caf\xe9"\n\n']) == ['"caf\ufffd"']


def test_only_data_lines_reach_sseclient():
    raw = b": c\nevent: ping\nid: 5\nretry: 1\nfoo bar\ndatabase: no\ndata:\ndata: x\n\n"
    assert framed([raw]) == [b"data: x\n\n"]


events_strategy = st.lists(
    st.lists(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), min_size=1)
        .map(str.strip)
        .filter(bool),
        min_size=1,
        max_size=3,
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=events_strategy,
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    comments=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
)
def test_the_framer_gives_sseclient_the_events_its_own_framing_would(events, newline, comments, cuts):
    """Any split of a well-formed stream: the same data as sseclient-py reading it whole."""
    text = ""
    for lines in events:
        if comments:
            text += ": keep-alive" + newline + "event: message" + newline
        text += "".join(f"data: {line}{newline}" for line in lines) + newline
    raw = text.encode("utf-8")
    points = sorted({min(cut, len(raw)) for cut in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True) if raw[a:b]]
    expected = [event.data for event in SSEClient(iter([raw])).events()]
    assert datas(chunks) == expected


def test_iter_events_reads_a_stream_with_a_junk_event_before_its_tokens():
    raw = b'data: not-json\n\ndata: {"token": {"text": "hi"}}\n\n'
    assert [event.text for event in iter_events([raw])] == ["hi"]


# --- the body decoder ---------------------------------------------------------------------


def test_a_gzip_bomb_inflates_at_most_one_read_size_per_step():
    bomb = gzip.compress(b"\0" * (20 * READ_SIZE))
    pieces = list(Inflater("gzip").feed(bomb))
    assert all(len(piece) <= READ_SIZE for piece in pieces)
    assert sum(len(piece) for piece in pieces) == 20 * READ_SIZE


def test_gzip_members_one_after_another_are_one_body():
    body = gzip.compress(b"first ") + gzip.compress(b"second")
    assert b"".join(Inflater("gzip").feed(body)) == b"first second"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_with_or_without_its_zlib_header(wbits):
    compressor = zlib.compressobj(wbits=wbits)
    body = compressor.compress(b'{"ok": true}') + compressor.flush()
    assert b"".join(Inflater("deflate").feed(body)) == b'{"ok": true}'


# --- the JSON decoder ---------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_as_deep_as_allowed_is_read():
    assert loads(nested(MAX_DEPTH)) == json.loads(nested(MAX_DEPTH))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_deeper_json_is_refused_without_recursion_error(depth):
    with pytest.raises(JsonTooDeep):
        loads(nested(depth))


def test_json_that_is_not_utf8_is_not_json():
    with pytest.raises(ResponseNotJson):
        loads(b'{"a": "\xe9"}')


# --- history's share of a huge answer -----------------------------------------------------


def test_a_huge_text_is_kept_cut_with_a_line_that_says_so_and_cutting_again_changes_nothing():
    text = "é" * MAX_KEPT_TEXT  # 2 MiB of UTF-8
    kept = kept_text(text)
    assert len(kept.encode("utf-8")) <= MAX_KEPT_TEXT
    assert kept.startswith("é" * 1000) and "is not kept in history" in kept
    assert kept_text(kept) == kept
    assert kept_text("short") == "short"


def test_a_streamed_answer_beyond_what_history_keeps_is_printed_whole_and_kept_cut(api):
    word = "x" * 1023 + " "
    api.behave(Behavior(tokens=[word] * (MAX_KEPT_TEXT // 1024 + 100)))
    result = invoke(["infer", "-m", MODEL, "-q", "hi"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == word * (MAX_KEPT_TEXT // 1024 + 100) + "\n"
    shown = invoke(["history", "list", "--json"])
    [row] = json.loads(shown.stdout)
    [kept] = row["results"]
    assert len(kept.encode("utf-8")) <= MAX_KEPT_TEXT and kept.endswith("bytes, is not kept in history]")


def test_max_time_bounds_a_whole_batch_and_the_lines_not_done_can_be_resumed(emulator, env, tmp_path):
    emulator.behave(Behavior(stall_after=0))  # every answer stalls before its body, for ever
    output = tmp_path / "out.jsonl"
    args = ["infer", "-m", MODEL, "--batch", "-", "--output", str(output), "--max-time", "1"]
    run = run_llamactl(args, env, input=b'"a"\n"b"\n')
    assert run.exit_code == 5, run.stderr
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(record["line"], record["error"]) for record in records] == [
        (1, "--max-time 1 s reached"),
        (2, "--max-time 1 s reached"),
    ]
    emulator.reset()
    again = run_llamactl(args, env, input=b'"a"\n"b"\n')
    assert again.exit_code == 0, again.stderr
    assert [json.loads(line)["status"] for line in output.read_text().splitlines()] == ["ok", "ok"]
