"""SSE parsing: framing variants, split writes, final and error events."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from llamactl.api.native_stream import StreamAccumulator, iter_events, parse_event


def token_event(text, special=False, **extra):
    data = {
        "token": {"id": 1, "text": text, "logprob": -0.1, "special": special},
        "generated_text": None,
        "details": None,
    }
    data.update(extra)
    return data


FINAL = token_event(
    "</s>",
    special=True,
    generated_text="Hé 🦙 llama",
    details={"finish_reason": "eos_token", "generated_tokens": 4, "input_tokens": 7, "seed": 1},
)
EVENTS = [token_event("Hé"), token_event(" 🦙"), token_event(" llama"), FINAL]


def sse_bytes(events, newline="\n", space=True, comments=False, done=False):
    out = []
    for event in events:
        if comments:
            out.append(": keep-alive" + newline + newline)
        out.append("data:" + (" " if space else "") + json.dumps(event) + newline + newline)
    if done:
        out.append("data: [DONE]" + newline + newline)
    return "".join(out).encode("utf-8")


def collect(chunks):
    accumulator = StreamAccumulator()
    for event in iter_events(chunks):
        accumulator.add(event)
        if event.final:
            break
    return accumulator


def test_text_and_figures_from_a_complete_stream():
    acc = collect([sse_bytes(EVENTS)])
    assert acc.text == "Hé 🦙 llama"
    assert acc.complete
    assert (acc.tokens_in, acc.tokens_out) == (7, 4)


def test_every_framing_variant_gives_the_same_text():
    for newline in ("\n", "\r\n", "\r"):
        for space in (True, False):
            for comments in (True, False):
                for done in (True, False):
                    acc = collect([sse_bytes(EVENTS, newline, space, comments, done)])
                    assert acc.text == "Hé 🦙 llama", (newline, space, comments, done)
                    assert acc.complete


def test_done_without_a_final_event_is_incomplete():
    acc = collect([sse_bytes(EVENTS[:2], done=True)])
    assert acc.text == "Hé 🦙"
    assert not acc.complete


def test_last_event_without_its_blank_line_still_counts_at_eof():
    raw = sse_bytes(EVENTS).rstrip(b"\n")
    assert collect([raw]).complete


def test_error_events_in_both_shapes():
    lc = parse_event(json.dumps({"error_type": "validation_error", "error_message": "ConnectionError: boom"}))
    tgi = parse_event(json.dumps({"error": "Request failed during generation", "error_type": "generation"}))
    assert lc.error == "ConnectionError: boom"
    assert tgi.error == "Request failed during generation"
    assert parse_event(json.dumps(token_event("x"))).error is None


def test_non_json_data_is_ignored():
    assert parse_event("not-json") is None
    assert parse_event("[1, 2]") is None


def test_final_token_that_is_not_special_is_text():
    final = token_event(
        " end",
        generated_text="a end",
        details={"finish_reason": "length", "generated_tokens": 2, "input_tokens": 1},
    )
    acc = collect([sse_bytes([token_event("a"), final])])
    assert acc.text == "a end"


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_splitting_the_bytes_anywhere_gives_the_same_text(data):
    newline = data.draw(st.sampled_from(["\n", "\r\n", "\r"]))
    raw = sse_bytes(EVENTS, newline=newline, comments=data.draw(st.booleans()))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=12)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    acc = collect(chunks)
    assert acc.text == "Hé 🦙 llama"
    assert acc.complete


def test_every_single_split_point():
    raw = sse_bytes(EVENTS, newline="\r\n")
    for cut in range(len(raw) + 1):
        acc = collect([raw[:cut], raw[cut:]])
        assert acc.text == "Hé 🦙 llama", cut
