"""The pure parts of `infer --batch`: lines to requests, request hashes, output order,
reading an earlier output back, the shared backoff and the progress lines."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llamactl.api.request import FileUpload, InferenceTarget
from llamactl.batch.failure import lines_text
from llamactl.batch.input import line_fields, numbered_lines, parse_batch, request_hash
from llamactl.batch.output import OrderedOutput, read_previous
from llamactl.batch.pool import SharedBackoff
from llamactl.batch.progress import BatchTally, PlainProgress, progress_line, summary_line
from llamactl.env import Environment
from llamactl.errors import UsageError
from llamactl.inference.inputs import RequestInputs

TARGET = InferenceTarget(model="meta-llama/Llama-2-70b-chat-hf")


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def parse(text: str, batch_format: str = "jsonl", defaults: RequestInputs | None = None):
    return parse_batch(text.encode("utf-8"), batch_format, TARGET, defaults or RequestInputs())


# lines to requests


def test_blank_lines_are_skipped_but_counted():
    assert numbered_lines(b'\xef\xbb\xbf"a"\r\n\n  \n"b"\n') == [(1, b'"a"'), (4, b'"b"')]


def test_a_string_is_the_prompt_and_an_object_is_merged_over_the_defaults():
    defaults = RequestInputs({"max_new_tokens": 20, "temperature": 0.5, "stop": ["</s>"]})
    first, second = parse(
        '"Hello"\n{"input": "Bye", "max_new_tokens": 5, "stop": "END"}\n', defaults=defaults
    )
    assert first.request.fields == {
        "max_new_tokens": 20,
        "temperature": 0.5,
        "stop": ["</s>"],
        "input": "Hello",
    }
    assert second.request.fields == {"max_new_tokens": 5, "temperature": 0.5, "stop": ["END"], "input": "Bye"}


def test_a_batch_line_is_never_streamed():
    (line,) = parse('{"input": "x", "stream": true}')
    assert "stream" not in line.request.fields and not line.request.stream


def test_a_default_input_serves_lines_without_one():
    (line,) = parse('{"temperature": 0.1}', defaults=RequestInputs({"input": "shared"}))
    assert line.request.fields["input"] == "shared"


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON string (the prompt) or an object"),
        ('{"max_new_tokens": "50"}', 'max_new_tokens: expected an integer, got "50"'),
        ('{"input": "x", "max_new_tokens": true}', "max_new_tokens: expected an integer, got true"),
        ('{"input": "x", "temperature": "hot"}', "temperature: expected a number"),
        ('{"input": "x", "stop": [1]}', "stop: expected a string or an array of strings"),
        ('{"input": 5}', "input: expected a string, got 5"),
        ('{"input": "x", "response_format": "json"}', "response_format: expected a JSON object"),
        ('{"max_new_tokens": 5}', "no input"),
        ('{"input": "x", "stop": ["a", "b", "c", "d", "e"]}', "stop: at most 4 stop strings"),
        ('{"input": "x", "num_responses": 3}', "num_responses: must be between 1 and 2"),
        ('{"input": "x", "max_new_tokens": 0}', "max_new_tokens: must be at least 1, got 0"),
        ('{"input": ""}', "the input is empty"),
        ('{"input": "x", "temperature": NaN}', "NaN is not a JSON number"),
    ],
)
def test_a_malformed_line_keeps_its_number_and_why(text, message):
    (good, bad) = parse(f'"fine"\n\n{text}\n')
    assert good.error is None and good.request is not None
    assert (bad.number, bad.request) == (3, None)
    assert message in bad.error
    assert not bad.error.startswith("-i ")


def test_a_line_that_is_not_utf8_is_malformed():
    (line,) = parse_batch(b'"caf\xe9"\n', "jsonl", TARGET, RequestInputs())
    assert line.error == "not UTF-8 text"


@given(st.text().filter(lambda text: "\n" not in text and "\r" not in text and text.strip()))
def test_in_lines_format_a_line_is_the_prompt_exactly(text):
    assert line_fields(text.encode("utf-8"), "lines") == {"input": text}


@given(st.text())
def test_any_json_string_is_the_prompt(text):
    assert line_fields(json.dumps(text).encode("utf-8"), "jsonl") == {"input": text}


def test_lines_format_sends_json_looking_text_as_text():
    (line,) = parse('{"input": 1}', batch_format="lines")
    assert line.request.fields == {"input": '{"input": 1}'}


# request hashes

fields_strategy = st.dictionaries(
    st.sampled_from(["input", "top_k", "seed", "x"]), st.integers() | st.text(), min_size=1
)


@given(fields_strategy)
def test_the_hash_ignores_key_order(fields):
    from llamactl.api.request import InferenceRequest

    reordered = dict(reversed(list(fields.items())))
    assert request_hash(InferenceRequest(TARGET, fields)) == request_hash(InferenceRequest(TARGET, reordered))


def test_the_hash_changes_with_the_fields_the_target_and_uploaded_bytes():
    from llamactl.api.request import InferenceRequest

    base = request_hash(InferenceRequest(TARGET, {"input": "a"}))
    assert request_hash(InferenceRequest(TARGET, {"input": "b"})) != base
    assert request_hash(InferenceRequest(InferenceTarget(model="m", version="2"), {"input": "a"})) != base
    with_file = InferenceRequest(TARGET, {"input": "a"}, {"img": FileUpload("a.png", b"1", "image/png")})
    other_file = InferenceRequest(TARGET, {"input": "a"}, {"img": FileUpload("a.png", b"2", "image/png")})
    assert request_hash(with_file) != request_hash(other_file)


# output order


@given(st.permutations(range(12)), st.sets(st.integers(0, 11)))
def test_records_come_out_in_input_order_whatever_order_they_finish_in(order, nothing_to_write):
    written = []
    output = OrderedOutput(written.append)
    for index in order:
        output.put(index, None if index in nothing_to_write else {"index": index})
    assert [record["index"] for record in written] == [i for i in range(12) if i not in nothing_to_write]


def test_a_record_waits_for_the_ones_before_it():
    written = []
    output = OrderedOutput(written.append)
    output.put(1, {"index": 1})
    assert written == []
    output.put(0, {"index": 0})
    assert written == [{"index": 0}, {"index": 1}]


# an earlier output


def test_the_last_record_of_a_line_wins_and_a_cut_last_line_is_ignored(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text(
        '{"line": 1, "status": "error"}\n{"line": 2, "status": "ok"}\n'
        '{"line": 1, "status": "ok"}\n{"line": 3, "sta'
    )
    assert {number: record["status"] for number, record in read_previous(path).items()} == {1: "ok", 2: "ok"}


def test_a_file_that_is_not_a_batch_output_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text('my notes\n{"line": 1, "status": "ok"}\n')
    with pytest.raises(UsageError, match="not the output of a batch .line 1."):
        read_previous(path)


def test_no_earlier_output_is_nothing_done(tmp_path):
    assert read_previous(tmp_path / "missing.jsonl") == {}


# shared backoff


def test_a_retry_after_holds_new_requests_back_until_it_has_passed():
    clock = FakeClock()
    backoff = SharedBackoff(clock)
    assert backoff.remaining() == 0
    assert backoff.observe(429, 3.0) == 3.0
    clock.now += 1
    assert backoff.remaining() == pytest.approx(2.0)
    clock.now += 2
    assert backoff.remaining() == 0


def test_429s_in_a_row_double_the_pause_and_a_success_resets_it():
    clock = FakeClock()
    backoff = SharedBackoff(clock, base_delay=1.0, max_delay=3.0)
    pauses = []
    for _ in range(4):
        pauses.append(backoff.observe(429, None))
        clock.now += 10  # each pause over before the next 429
    assert pauses == [1.0, 2.0, 3.0, 3.0]
    backoff.observe(200, None)
    assert backoff.observe(429, None) == 1.0


def test_a_pause_already_running_is_extended_without_a_second_notice():
    clock = FakeClock()
    backoff = SharedBackoff(clock)
    assert backoff.observe(429, 2.0) == 2.0
    assert backoff.observe(429, 1.0) is None  # within the running pause
    assert backoff.observe(503, 5.0) is None  # longer: extends it, no new notice
    assert backoff.remaining() == pytest.approx(5.0)


def test_other_failures_do_not_pause_the_batch():
    backoff = SharedBackoff(FakeClock())
    for status in (500, 502, 404, 422):
        assert backoff.observe(status, None) is None
    assert backoff.remaining() == 0


# progress and summary


def test_the_progress_line_counts_rate_and_eta():
    tally = BatchTally(to_send=100, started=0.0, answered=40, in_flight=8, tokens_in=100, tokens_out=300)
    tally.statuses.update({"ok": 38, "error": 2})
    assert progress_line(tally, now=10.0) == (
        "40/100 done, 2 failed, 8 in flight · 400 tokens · cost $0 · 4.0 lines/s · ETA 15s"
    )


def test_plain_progress_prints_a_line_only_every_interval_and_never_with_quiet():
    clock = FakeClock(0.0)
    stderr = io.StringIO()
    env = Environment(stderr=stderr)
    tally = BatchTally(to_send=10, started=0.0)
    progress = PlainProgress(env.output, tally, clock=clock, interval=5.0)
    progress.start()
    clock.now = 4.9
    progress.update()
    assert stderr.getvalue() == ""
    clock.now = 5.0
    progress.update()
    assert stderr.getvalue().startswith("batch: 0/10 done")
    quiet_stderr = io.StringIO()
    quiet_output = Environment(stderr=quiet_stderr).output
    quiet_output.quiet = True
    quiet = PlainProgress(quiet_output, tally, clock=clock, interval=5.0)
    clock.now = 100.0
    quiet.update()
    quiet.info("a notice")
    assert quiet_stderr.getvalue() == ""


def test_the_summary_says_what_happened_to_every_line():
    tally = BatchTally(
        to_send=5, started=0.0, done_before=3, tokens_in=10, tokens_out=20, cost=0.5, cost_estimated=True
    )
    tally.statuses.update({"ok": 3, "invalid": 1, "skipped": 1})
    assert summary_line(tally, "b1", now=2.0) == (
        "batch b1: 8 lines (3 ok, 1 invalid, 1 skipped, 3 done before) · 10 in / 20 out tokens"
        " · cost ~$0.5 · 2.0 s"
    )


def test_lines_text_names_a_few_and_counts_the_rest():
    assert lines_text([7]) == "line 7"
    assert lines_text([9, 3]) == "lines 3, 9"
    assert lines_text(list(range(1, 10))) == "lines 1, 2, 3, 4, 5 and 4 more"
