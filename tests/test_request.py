"""An InferenceRequest knows its own encoding (the client only sends it), and a stalled
stream names the client's timeout without anything stored on the response."""

from __future__ import annotations

import json

import pytest

from llamactl.api.request import FileUpload, InferenceRequest, InferenceTarget
from llamactl.errors import StreamIncomplete
from llamactl.inference.outcome import InferenceOutcome
from llamactl.inference.run import Reading, consume_stream

TARGET = InferenceTarget("meta-llama/Llama-2-70b-chat-hf")


def test_a_request_without_files_is_json_with_its_content_type():
    request = InferenceRequest(TARGET, {"input": "héllo", "stop": ["a"], "stream": True})
    encoded = request.encode()
    assert set(encoded) == {"data", "headers"}
    assert json.loads(encoded["data"].decode("utf-8")) == {"input": "héllo", "stop": ["a"], "stream": True}
    assert "héllo".encode() in encoded["data"]  # not \\u escapes
    assert encoded["headers"] == {"Content-Type": "application/json"}
    assert request.accept == "text/event-stream"


def test_a_request_with_a_file_is_form_parts_with_every_field_as_text():
    upload = FileUpload("clip.wav", b"\x00RIFF", "audio/wav")
    request = InferenceRequest(
        TARGET, {"task": "transcribe", "temperature": 0.5, "stop": ["x"], "flag": False}, {"audio": upload}
    )
    encoded = request.encode()
    assert set(encoded) == {"data", "files"}  # requests sets the multipart content type itself
    assert encoded["data"] == {"task": "transcribe", "temperature": "0.5", "stop": '["x"]', "flag": "false"}
    assert encoded["files"] == {"audio": ("clip.wav", b"\x00RIFF", "audio/wav")}
    assert request.accept == "application/json"


class StalledBody:
    """A response body whose next read times out, as urllib3's does after --timeout."""

    headers: dict[str, str] = {}

    def read1(self, size: int, decode_content: bool = False) -> bytes:
        raise TimeoutError("read timed out")


class StalledResponse:
    raw = StalledBody()
    headers: dict[str, str] = {}

    def close(self) -> None:
        pass


class SilentView:
    def on_event(self, event) -> None:
        pass

    def flush(self) -> None:
        pass


@pytest.mark.parametrize(
    "timeout, words", [(2.5, "nothing arrived for 2.5 s"), (None, "nothing arrived for the --timeout")]
)
def test_a_stalled_stream_names_the_timeout_it_is_given(timeout, words):
    outcome = InferenceOutcome(InferenceRequest(TARGET, {"input": "hi", "stream": True}), "http://127.0.0.1")
    with pytest.raises(StreamIncomplete, match=words):
        consume_stream(StalledResponse(), SilentView(), outcome, Reading(timeout))
    assert outcome.streamed and outcome.results == [""]
