"""A Ctrl-C in the middle of a stream: the text history keeps is the text the view wrote,
token for token, wherever the interrupt lands (inference/run.consume_stream)."""

from __future__ import annotations

import signal

import pytest

from llamactl.env import Environment
from tests.emulator import VALID_TOKEN, Behavior

MODEL = "meta-llama/Llama-2-70b-chat-hf"
TOKENS = ["one", " two", " three", " four", " five"]


class InterruptedView:
    """Writes each token it takes to `written`; on the `at`-th token `how` happens: the
    interrupt lands before that token is written, or a real SIGINT arrives once it is."""

    def __init__(self, at: int, how: str):
        self.at, self.how = at, how
        self.seen = 0
        self.written: list[str] = []

    def on_event(self, event) -> None:
        if not event.text:
            return
        self.seen += 1
        if self.seen == self.at and self.how == "before the write":
            raise KeyboardInterrupt
        self.written.append(event.text)
        if self.seen == self.at and self.how == "signal after the write":
            signal.raise_signal(signal.SIGINT)  # acted on at the next bytecode, mid-pair

    def flush(self) -> None:
        pass

    def on_response(self, data, texts) -> None:
        raise AssertionError("a stream was expected")


@pytest.mark.parametrize("how", ["before the write", "signal after the write"])
@pytest.mark.parametrize("at", [1, 3])
def test_an_interrupted_stream_records_exactly_what_was_written(api, how, at):
    from llamactl.api.client import ApiClient
    from llamactl.api.request import InferenceRequest, InferenceTarget
    from llamactl.auth.credentials import ResolvedToken
    from llamactl.inference.run import run_inference

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    api.behave(Behavior(tokens=TOKENS))
    client = ApiClient(
        Environment(api_url=api.url), ResolvedToken(VALID_TOKEN, "env:DEEPINFRA_TOKEN"), timeout=10
    )
    request = InferenceRequest(InferenceTarget(model=MODEL), {"input": "count", "stream": True})
    view = InterruptedView(at, how)
    recorded = []
    with pytest.raises(KeyboardInterrupt):
        run_inference(client, request, view, record=recorded.append)
    (outcome,) = recorded
    assert outcome.status == "interrupted"
    assert len(view.written) == (at - 1 if how == "before the write" else at)
    assert outcome.results == ["".join(view.written)]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the holder is gone
