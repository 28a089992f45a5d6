"""Tests of the DeepInfra emulator itself, over raw sockets and `requests`.

If these pass, the llamactl tests can trust that the emulator speaks deepinfra-api.md and
injects exactly the faults it claims to.  One test (test_llamactl_reads_both_serialisations)
checks that llamactl's stream reader takes both JSON forms the emulator can write.
"""

from __future__ import annotations

import gzip
import http.server
import json
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sseclient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.emulator import VALID_TOKEN, Behavior, Emulator, catalogue, textgen
from tests.emulator.recording import FormField, parse_multipart

REPO = Path(__file__).resolve().parent.parent
LLAMA = catalogue.LLAMA_70B
AUTH = {"Authorization": f"Bearer {VALID_TOKEN}"}
HANG_GUARD = 10  # seconds: only for waits that would otherwise last for ever; no test waits it out
# "[INST] Tell me a joke please now [/INST]": 8 words -> 9 input tokens; the reply echoes 5 words.
PROMPT = "[INST] Tell me a joke please now [/INST]"
REPLY = "Hello! You said: Tell me a joke please. Voilà, café 🦙"
REPLY_TOKENS = [
    "Hello!",
    " You",
    " said:",
    " Tell",
    " me",
    " a",
    " joke",
    " please.",
    " Voilà,",
    " café",
    " 🦙",
]


class Session(requests.Session):
    """requests with a default timeout, and never through an environment proxy."""

    def __init__(self):
        super().__init__()
        self.trust_env = False

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", 5)
        return super().request(*args, **kwargs)


@pytest.fixture
def http_client():
    with Session() as session:
        yield session


def infer(emulator, http_client, payload, model=LLAMA, **kwargs):
    kwargs.setdefault("headers", AUTH)
    return http_client.post(f"{emulator.url}/v1/inference/{model}", json=payload, **kwargs)


# --- raw HTTP helpers ----------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict  # lower-cased names
    body: bytes  # de-chunked when chunked
    chunks: list[bytes] | None  # chunk payloads when chunked
    complete: bool  # a terminating zero-length chunk arrived (always True when not chunked)


def request_bytes(path: str, payload: dict, headers: dict | None = None) -> bytes:
    body = json.dumps(payload).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    lines += [f"{k}: {v}" for k, v in (AUTH if headers is None else headers).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def dechunk(raw: bytes) -> tuple[bytes, list[bytes], bool]:
    chunks = []
    while raw:
        size_line, sep, rest = raw.partition(b"\r\n")
        if not sep:
            break
        size = int(size_line, 16)
        if size == 0:
            return b"".join(chunks), chunks, True
        if len(rest) < size + 2:
            break
        chunks.append(rest[:size])
        raw = rest[size + 2 :]
    return b"".join(chunks), chunks, False


def parse_response(data: bytes) -> RawResponse:
    head, _, raw = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body, chunks, complete = dechunk(raw)
        return RawResponse(int(status_line.split()[1]), headers, body, chunks, complete)
    return RawResponse(int(status_line.split()[1]), headers, raw, None, True)


def raw_post(
    emulator, payload: dict, path: str = f"/v1/inference/{LLAMA}", headers: dict | None = None
) -> RawResponse:
    """POST with `Connection: close` and read until the server closes the connection."""
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(request_bytes(path, payload, headers))
        data = b""
        while part := sock.recv(65536):
            data += part
    return parse_response(data)


class OpenStream:
    """A raw streaming request whose bytes a test reads a bit at a time."""

    def __init__(self, emulator, payload: dict):
        self.sock = socket.create_connection((emulator.host, emulator.port), timeout=5)
        self.sock.sendall(request_bytes(f"/v1/inference/{LLAMA}", payload))
        self.data = b""
        self.eof = False

    def token_events(self) -> int:
        return self.data.count(b'"token": ')

    def read_until(self, predicate, timeout: float) -> bool:
        """Read until predicate(self) holds (True) or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.eof:
                return predicate(self)
            self.sock.settimeout(remaining)
            try:
                part = self.sock.recv(65536)
            except TimeoutError:
                return predicate(self)
            self.eof = not part
            self.data += part
        return True

    def close(self, reset: bool = False) -> None:
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def data_lines(body: bytes, newline: bytes = b"\n") -> list[str]:
    """The `data:` payloads of an SSE body, in order."""
    out = []
    for block in body.split(newline * 2):
        for line in block.split(newline):
            if line.startswith(b"data:"):
                out.append(line[5:].decode("utf-8").removeprefix(" "))
    return out


def stream_payloads(body: bytes, newline: bytes = b"\n") -> list[dict]:
    return [json.loads(d) for d in data_lines(body, newline) if d not in ("[DONE]", "not-json")]


# --- native non-streaming --------------------------------------------------------------------


def test_non_stream_response_has_documented_shape_and_cost(emulator, http_client):
    response = infer(emulator, http_client, {"input": PROMPT})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"request_id", "inference_status", "results", "num_tokens", "num_input_tokens"}
    assert re.fullmatch(r"[A-Za-z0-9]{24}", body["request_id"])
    assert body["results"] == [{"generated_text": REPLY}]
    assert body["num_input_tokens"] == 9
    assert body["num_tokens"] == len(REPLY_TOKENS) + 1  # + the </s> token
    status = body["inference_status"]
    assert status["status"] == "succeeded"
    assert status["tokens_input"] == 9 and status["tokens_generated"] == 12
    assert isinstance(status["runtime_ms"], int) and status["runtime_ms"] > 0
    assert status["cost"] == 9 * 0.000064 / 100 + 12 * 0.00008 / 100
    assert "é".encode() in response.content and "🦙".encode() in response.content  # raw UTF-8


def test_request_ids_differ_between_requests(emulator, http_client):
    first = infer(emulator, http_client, {"input": "a"}).json()["request_id"]
    second = infer(emulator, http_client, {"input": "a"}).json()["request_id"]
    assert first != second


def test_reply_is_deterministic_function_of_input(emulator, http_client):
    one = infer(emulator, http_client, {"input": "alpha beta"}).json()["results"][0]["generated_text"]
    two = infer(emulator, http_client, {"input": "alpha beta"}).json()["results"][0]["generated_text"]
    other = infer(emulator, http_client, {"input": "gamma"}).json()["results"][0]["generated_text"]
    assert one == two == "Hello! You said: alpha beta. Voilà, café 🦙"
    assert other == "Hello! You said: gamma. Voilà, café 🦙"


def test_max_new_tokens_truncates_with_finish_reason_length(emulator):
    response = raw_post(emulator, {"input": PROMPT, "max_new_tokens": 3, "stream": True})
    events = stream_payloads(response.body)
    assert [e["token"]["text"] for e in events] == ["Hello!", " You", " said:"]
    assert events[-1]["details"]["finish_reason"] == "length"
    assert events[-1]["generated_text"] == "Hello! You said:"
    assert events[-1]["details"]["generated_tokens"] == 3


def test_stop_sequence_ends_generation(emulator, http_client):
    body = infer(emulator, http_client, {"input": PROMPT, "stop": ["joke"]}).json()
    assert body["results"][0]["generated_text"] == "Hello! You said: Tell me a joke"
    assert body["num_tokens"] == 7
    events = stream_payloads(raw_post(emulator, {"input": PROMPT, "stop": ["joke"], "stream": True}).body)
    assert events[-1]["details"]["finish_reason"] == "stop_sequence"
    assert (events[-1]["token"]["text"], events[-1]["token"]["special"]) == (" joke", False)


def test_behavior_reply_and_tokens_replace_the_text(emulator, http_client):
    emulator.queue(Behavior(reply="Exactly this."), Behavior(tokens=["a", "é", "🦙", " b"]))
    assert (
        infer(emulator, http_client, {"input": "x"}).json()["results"][0]["generated_text"] == "Exactly this."
    )
    events = stream_payloads(raw_post(emulator, {"input": "x", "stream": True}).body)
    assert [e["token"]["text"] for e in events] == ["a", "é", "🦙", " b", "</s>"]
    assert events[-1]["generated_text"] == "aé🦙 b"


def test_num_responses_two_gives_two_different_results(emulator, http_client):
    body = infer(emulator, http_client, {"input": "hi", "num_responses": 2}).json()
    texts = [r["generated_text"] for r in body["results"]]
    assert texts == ["Hello! You said: hi. Voilà, café 🦙", "Hello! You said: hi. Voilà, café 🦙 (2)"]
    assert body["num_tokens"] == 8 + 9  # 7 words + </s>, then one more for " (2)"


@pytest.mark.parametrize(
    "payload, loc, msg",
    [
        ({"max_new_tokens": 5}, ["body", "input"], "field required"),
        (
            {"input": "x", "stop": ["a", "b", "c", "d", "e"]},
            ["body", "stop"],
            "ensure this value has at most 4 items",
        ),
        (
            {"input": "x", "num_responses": 2, "stream": True},
            ["body", "num_responses"],
            "num_responses > 1 is incompatible with streaming",
        ),
        (
            {"input": "x", "num_responses": 3},
            ["body", "num_responses"],
            "ensure this value is less than or equal to 2",
        ),
        (
            {"input": "x", "max_new_tokens": 0},
            ["body", "max_new_tokens"],
            "ensure this value is greater than or equal to 1",
        ),
        ({"input": "x", "temperature": "hot"}, ["body", "temperature"], "value is not a valid float"),
    ],
)
def test_invalid_requests_get_fastapi_422(emulator, http_client, payload, loc, msg):
    response = infer(emulator, http_client, payload)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [(d["loc"], d["msg"]) for d in detail] == [(loc, msg)]


def test_missing_input_422_exact_body(emulator, http_client):
    response = infer(emulator, http_client, {})
    assert response.json() == {
        "detail": [{"loc": ["body", "input"], "msg": "field required", "type": "value_error.missing"}]
    }


def test_unknown_model_and_deploy_404(emulator, http_client):
    for model in ("nobody/nothing", "deploy/DpUnknown"):
        response = infer(emulator, http_client, {"input": "x"}, model=model)
        assert response.status_code == 404
        assert response.json() == {"detail": {"error": "Model not found"}}


def test_deploy_id_maps_to_its_model(emulator, http_client):
    response = infer(emulator, http_client, {"input": PROMPT}, model="deploy/DpLlama70b")
    assert response.status_code == 200
    assert response.json()["inference_status"]["cost"] == 9 * 0.000064 / 100 + 12 * 0.00008 / 100
    assert emulator.requests[-1].path == "/v1/inference/deploy/DpLlama70b"


def test_version_query_is_recorded_and_checked(emulator, http_client):
    version = catalogue.VERSIONS[LLAMA][1]["version"]
    ok = http_client.post(
        f"{emulator.url}/v1/inference/{LLAMA}?version={version}", json={"input": "x"}, headers=AUTH
    )
    assert ok.status_code == 200
    assert emulator.requests[-1].query == {"version": version}
    bad = http_client.post(
        f"{emulator.url}/v1/inference/{LLAMA}?version=nope", json={"input": "x"}, headers=AUTH
    )
    assert bad.status_code == 404
    assert bad.json() == {"detail": {"error": "Model version not found"}}


def test_deprecated_model_is_forwarded_to_its_replacement(emulator, http_client):
    body = infer(emulator, http_client, {"input": PROMPT}, model=catalogue.LLAMA_13B_DEPRECATED).json()
    assert body["inference_status"]["cost"] == 9 * 0.000064 / 100 + 12 * 0.00008 / 100  # 70b prices


def test_model_without_pricing_still_answers_with_zero_cost(emulator, http_client):
    body = infer(emulator, http_client, {"input": "x"}, model=catalogue.NO_PRICING).json()
    assert body["results"][0]["generated_text"].startswith("Hello!")
    assert body["inference_status"]["cost"] == 0.0


# --- multipart -----------------------------------------------------------------------------


def test_multipart_fields_are_coerced_and_files_kept_binary(emulator, http_client):
    blob = bytes(range(256)) + b"\r\n--not-a-boundary\r\n\x00\xff"
    fields = {
        "input": "42",
        "max_new_tokens": "3",
        "temperature": "0.5",
        "stream": "false",
        "stop": '["zzz"]',
        "response_format": '{"type": "json_object"}',
        "note": "plain text",
    }
    response = http_client.post(
        f"{emulator.url}/v1/inference/{LLAMA}",
        data=fields,
        headers=AUTH,
        files={"image": ("pics/cat é.bin", blob, "application/octet-stream")},
    )

    assert response.status_code == 200
    assert response.json()["results"] == [{"generated_text": "Hello! You said:"}]
    recorded = emulator.requests[-1]
    assert recorded.json is None
    assert recorded.form == {
        "input": "42",
        "max_new_tokens": 3,
        "temperature": 0.5,
        "stream": False,
        "stop": ["zzz"],
        "response_format": {"type": "json_object"},
        "note": "plain text",
    }
    assert recorded.files == {"image": ("pics/cat é.bin", "application/octet-stream", blob)}


def test_multipart_stream_true_streams(emulator, http_client):
    response = http_client.post(
        f"{emulator.url}/v1/inference/{LLAMA}",
        headers=AUTH,
        files={"input": (None, "hi"), "stream": (None, "true")},
    )
    assert response.headers["Content-Type"] == "text/event-stream"
    assert stream_payloads(response.content)[-1]["generated_text"] == "Hello! You said: hi. Voilà, café 🦙"


def test_multipart_repeated_field_becomes_list(emulator, http_client):
    http_client.post(
        f"{emulator.url}/v1/inference/{LLAMA}",
        headers=AUTH,
        files=[("input", (None, "x")), ("stop", (None, "a")), ("stop", (None, "b"))],
    )
    assert emulator.requests[-1].form == {"input": "x", "stop": ["a", "b"]}


@settings(max_examples=60, deadline=None)
@given(
    blob=st.binary(max_size=300),
    text=st.text(max_size=40),
    name=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20),
)
def test_multipart_parser_round_trips_any_bytes_and_text(blob, text, name):
    prepared = requests.Request(
        "POST", "http://x/", data={"input": text}, files={"file": (name, blob, "application/octet-stream")}
    ).prepare()
    form, files = parse_multipart(prepared.headers["Content-Type"], prepared.body)
    assert form == {"input": text}
    assert files["file"][2] == blob and files["file"][1] == "application/octet-stream"


def test_whisper_takes_an_audio_file_and_prices_by_length(emulator, http_client):
    audio = b"RIFF" + b"\x01" * 31996
    response = http_client.post(
        f"{emulator.url}/v1/inference/{catalogue.WHISPER_SMALL}",
        headers=AUTH,
        files={"audio": ("my_voice.mp3", audio, "audio/mpeg")},
    )
    body = response.json()
    assert body["text"] == " Hello World"
    assert body["inference_status"]["cost"] == 2.0 * 0.0005 / 100
    assert emulator.requests[-1].files["audio"] == ("my_voice.mp3", "audio/mpeg", audio)


@settings(max_examples=100, deadline=None)
@given(
    words=st.lists(st.text(min_size=1, max_size=6).filter(lambda w: not w.isspace()), max_size=12),
    max_new=st.none() | st.integers(min_value=1, max_value=20),
)
def test_generation_text_is_its_tokens_and_respects_max_new_tokens(words, max_new):
    params = {"input": "x"} if max_new is None else {"input": "x", "max_new_tokens": max_new}
    gen = textgen.generate(params, tokens=words)
    assert gen.text == "".join(t.text for t in gen.tokens if not t.special)
    if max_new is not None:
        assert gen.generated_tokens <= max_new
    if gen.finish_reason == "eos_token":
        assert gen.tokens[-1] == textgen.EOS and gen.text == "".join(words)
    else:
        assert gen.finish_reason == "length" and gen.generated_tokens == max_new


# --- auth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers, status, body",
    [
        ({}, 403, {"detail": {"error": "Not authenticated"}}),
        ({"Authorization": ""}, 403, {"detail": {"error": "Not authenticated"}}),
        ({"Authorization": f"Basic {VALID_TOKEN}"}, 403, {"detail": {"error": "Not authenticated"}}),
        ({"Authorization": "Bearer wrong"}, 401, {"detail": {"error": "Invalid token"}}),
        ({"Authorization": f"bearer {VALID_TOKEN}"}, 200, None),
        ({"Authorization": f"BEARER {VALID_TOKEN}"}, 200, None),
    ],
)
def test_auth_on_inference(emulator, http_client, headers, status, body):
    response = infer(emulator, http_client, {"input": "x"}, headers=headers)
    assert response.status_code == status
    if body is not None:
        assert response.json() == body
    else:
        assert response.json()["results"][0]["generated_text"].startswith("Hello!")


def test_accepted_tokens_are_configurable_and_reset(emulator, http_client):
    emulator.tokens = {"other-token"}
    assert infer(emulator, http_client, {"input": "x"}).status_code == 401
    assert (
        infer(
            emulator, http_client, {"input": "x"}, headers={"Authorization": "Bearer other-token"}
        ).status_code
        == 200
    )
    emulator.reset()
    assert infer(emulator, http_client, {"input": "x"}).status_code == 200


def test_custom_token_set_at_construction():
    with Emulator(tokens={"t1", "t2"}) as emu, Session() as session:
        me = session.get(f"{emu.url}/v1/me", headers={"Authorization": "Bearer t2"})
        assert me.status_code == 200 and me.json()["email"] == "emulator@example.com"
        assert session.get(f"{emu.url}/v1/me", headers=AUTH).status_code == 401


# --- native streaming wire format ------------------------------------------------------------


def test_stream_default_wire_format(emulator):
    response = raw_post(emulator, {"input": PROMPT, "stream": True})

    assert response.status == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers
    assert response.complete
    text = response.body.decode("utf-8")
    blocks = text.split("\n\n")
    assert blocks[-1] == ""
    events = [json.loads(b[len("data: ") :]) for b in blocks[:-1]]
    # Exactly json.dumps' defaults (", " and ": ", \\uXXXX escapes) and key order, one
    # "data: " line per event: what DeepInfra's Python gateway sends (deepinfra-api.md §2.1).
    assert blocks[:-1] == ["data: " + json.dumps(e) for e in events]
    assert list(events[0]) == ["token", "generated_text", "details"]
    assert list(events[0]["token"]) == ["id", "text", "logprob", "special"]
    assert [e["token"]["text"] for e in events] == REPLY_TOKENS + ["</s>"]
    assert all(e["generated_text"] is None and e["details"] is None for e in events[:-1])
    last = events[-1]
    assert last["token"]["id"] == 2 and last["token"]["special"] is True
    assert last["generated_text"] == REPLY
    assert last["details"]["finish_reason"] == "eos_token"
    assert last["details"]["generated_tokens"] == 12 and last["details"]["input_tokens"] == 9
    assert isinstance(last["details"]["seed"], int)
    assert "[DONE]" not in text
    assert text.isascii() and '"text": " caf\\u00e9"' in text and '"text": " \\ud83e\\udd99"' in text


def test_compact_stream_json_is_the_tgi_backends_serialisation(emulator):
    emulator.behave(Behavior(stream_json="compact"))
    text = raw_post(emulator, {"input": PROMPT, "stream": True}).body.decode("utf-8")
    blocks = text.split("\n\n")
    events = [json.loads(b[len("data: ") :]) for b in blocks[:-1]]
    assert blocks[:-1] == [
        "data: " + json.dumps(e, separators=(",", ":"), ensure_ascii=False) for e in events
    ]
    assert blocks[0].startswith('data: {"token":{"id":') and ", " not in blocks[0]
    assert '"text":" café"' in text and '"text":" 🦙"' in text
    assert events[-1]["generated_text"] == REPLY and len(events) == 12


def test_stream_events_are_one_chunk_each(emulator):
    response = raw_post(emulator, {"input": PROMPT, "stream": True})
    assert len(response.chunks) == 12
    assert all(chunk.startswith(b"data: ") and chunk.endswith(b"}\n\n") for chunk in response.chunks)


def test_close_framing_has_no_length_and_ends_at_eof(emulator):
    emulator.behave(Behavior(framing="close"))
    response = raw_post(emulator, {"input": PROMPT, "stream": True})
    assert response.headers["connection"] == "close"
    assert "content-length" not in response.headers and "transfer-encoding" not in response.headers
    events = stream_payloads(response.body)
    assert events[-1]["generated_text"] == REPLY


def test_close_framing_works_with_requests(emulator, http_client):
    emulator.behave(Behavior(framing="close"))
    response = infer(emulator, http_client, {"input": PROMPT, "stream": True}, stream=True)
    events = [json.loads(e.data) for e in sseclient.SSEClient(response).events()]
    assert "".join(e["token"]["text"] for e in events if not e["token"]["special"]) == REPLY


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_newline_variants(emulator, newline):
    emulator.behave(Behavior(newline=newline))
    body = raw_post(emulator, {"input": PROMPT, "stream": True}).body
    assert body.count((newline * 2).encode()) == 12
    leftover = body.replace(newline.encode(), b"")
    assert b"\n" not in leftover and b"\r" not in leftover  # no other line ending anywhere
    assert stream_payloads(body, newline.encode())[-1]["generated_text"] == REPLY


def test_newline_crlf_parses_with_sseclient(emulator, http_client):
    emulator.behave(Behavior(newline="\r\n"))
    response = infer(emulator, http_client, {"input": PROMPT, "stream": True}, stream=True)
    events = [json.loads(e.data) for e in sseclient.SSEClient(response).events()]
    assert len(events) == 12 and events[-1]["generated_text"] == REPLY


def test_data_without_space_comments_and_done(emulator):
    emulator.behave(Behavior(data_space=False, comments=True, done=True))
    text = raw_post(emulator, {"input": PROMPT, "stream": True}).body.decode()
    assert "data: " not in text
    assert text.count('data:{"token": ') == 12
    assert text.count(": keep-alive\n\n") == 12
    assert text.endswith("data:[DONE]\n\n")


def test_final_event_can_be_left_out(emulator):
    emulator.behave(Behavior(final_event=False))
    events = stream_payloads(raw_post(emulator, {"input": PROMPT, "stream": True}).body)
    assert [e["token"]["text"] for e in events] == REPLY_TOKENS  # no </s>
    assert all(e["details"] is None and e["generated_text"] is None for e in events)
    # When generation stops on length, the last real token is still sent, just plain.
    events = stream_payloads(raw_post(emulator, {"input": PROMPT, "stream": True, "max_new_tokens": 2}).body)
    assert [(e["token"]["text"], e["details"]) for e in events] == [("Hello!", None), (" You", None)]


def test_garbage_lines_are_skipped_by_a_compliant_parser(emulator, http_client):
    emulator.behave(Behavior(garbage_lines=True))
    raw = raw_post(emulator, {"input": PROMPT, "stream": True}).body.decode()
    assert raw.count("event: ping\nid: 5\nretry: 100\nfoo bar\n\n") == 12
    assert raw.count("data: not-json\n\n") == 1
    response = infer(emulator, http_client, {"input": PROMPT, "stream": True}, stream=True)
    datas = [e.data for e in sseclient.SSEClient(response).events()]
    assert datas[1] == "not-json"
    assert json.loads(datas[-1])["generated_text"] == REPLY
    assert len(datas) == 13


def test_split_writes_split_every_byte_even_inside_utf8(emulator):
    emulator.behave(Behavior(split_writes=True, stream_json="compact", tokens=["é", "🦙"]))
    response = raw_post(emulator, {"input": "x", "stream": True})
    assert response.complete
    assert set(len(c) for c in response.chunks) == {1}
    assert len(response.chunks) == len(response.body)
    assert b"\xf0" in response.chunks  # the first byte of 🦙 arrived on its own
    assert stream_payloads(response.body)[-1]["generated_text"] == "é🦙"


def test_ensure_ascii_escapes_non_ascii(emulator):
    emulator.behave(Behavior(ensure_ascii=True, tokens=["é", "🦙"]))
    body = raw_post(emulator, {"input": "x", "stream": True}).body
    assert b'"text": "\\u00e9"' in body and b"\\ud83e\\udd99" in body
    assert stream_payloads(body)[-1]["generated_text"] == "é🦙"
    # It forces escapes on every JSON body, also those that are raw UTF-8 by default...
    plain = raw_post(emulator, {"input": "x"}).body
    assert plain.isascii() and b'"generated_text": "\\u00e9\\ud83e\\udd99"' in plain
    emulator.behave(Behavior(tokens=["é", "🦙"]))
    assert '"generated_text": "é🦙"'.encode() in raw_post(emulator, {"input": "x"}).body
    # ...and ensure_ascii=False turns them off in the (otherwise escaped) native stream.
    emulator.behave(Behavior(ensure_ascii=False, tokens=["é", "🦙"]))
    body = raw_post(emulator, {"input": "x", "stream": True}).body
    assert '"text": "é"'.encode() in body and '"text": "🦙"'.encode() in body and b"\\u" not in body


@pytest.mark.parametrize(
    "behavior",
    [
        Behavior(),
        Behavior(stream_json="compact"),
        Behavior(stream_json="compact", data_space=False, split_writes=True, newline="\r\n"),
        Behavior(ensure_ascii=False, framing="close"),
    ],
    ids=["python-json", "compact-json", "compact-split-crlf", "python-raw-utf8-close"],
)
def test_llamactl_reads_both_serialisations(emulator, http_client, behavior):
    """The one llamactl test in this file: its stream reader against both JSON forms."""
    from llamactl.api.body import iter_body
    from llamactl.api.native_stream import StreamAccumulator, iter_events

    emulator.behave(behavior)
    response = infer(emulator, http_client, {"input": PROMPT, "stream": True}, stream=True)
    accumulator = StreamAccumulator()
    for event in iter_events(iter_body(response.raw)):
        accumulator.add(event)
    assert accumulator.text == REPLY
    assert accumulator.complete and accumulator.tokens_received == 12
    assert (accumulator.tokens_in, accumulator.tokens_out) == (9, 12)


# --- timing and faults -----------------------------------------------------------------------


def test_first_byte_delay(emulator, http_client):
    emulator.queue(Behavior(first_byte_delay=0.3))
    start = time.monotonic()
    response = infer(emulator, http_client, {"input": "x"})
    assert time.monotonic() - start >= 0.3
    assert response.status_code == 200
    # The delay is the queued request's alone, and holds back its first byte: while one
    # request waits out a delay no test outlasts, the next one is answered in full.
    emulator.queue(Behavior(first_byte_delay=3600))
    delayed = OpenStream(emulator, {"input": "x"})
    try:
        assert emulator.wait_dequeued(timeout=HANG_GUARD)  # the delayed request took it
        following = infer(emulator, http_client, {"input": "x"}, timeout=HANG_GUARD)
        assert following.json()["results"][0]["generated_text"].startswith("Hello!")
        emulator.reset()  # ends the delay: the connection is dropped unanswered
        assert delayed.read_until(lambda s: s.eof, timeout=HANG_GUARD)
        assert delayed.data == b""
    finally:
        delayed.close()


def test_token_delay_spaces_out_events(emulator):
    emulator.behave(Behavior(token_delay=0.03, tokens=["a", "b", "c", "d"]))
    start = time.monotonic()
    events = stream_payloads(raw_post(emulator, {"input": "x", "stream": True}).body)
    assert time.monotonic() - start >= 4 * 0.03
    assert len(events) == 5


def test_cut_after_drops_connection_without_final_event(emulator):
    emulator.behave(Behavior(cut_after=3))
    response = raw_post(emulator, {"input": PROMPT, "stream": True})
    assert response.status == 200
    assert not response.complete  # no zero-length terminating chunk
    events = stream_payloads(response.body)
    assert [e["token"]["text"] for e in events] == REPLY_TOKENS[:3]
    assert all(e["details"] is None for e in events)


def test_cut_after_is_a_chunked_encoding_error_for_requests(emulator, http_client):
    emulator.behave(Behavior(cut_after=2))
    response = infer(emulator, http_client, {"input": PROMPT, "stream": True}, stream=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _ = response.content  # reading the whole body is what raises


def test_cut_after_with_close_framing_is_a_plain_early_eof(emulator):
    emulator.behave(Behavior(cut_after=1, framing="close"))
    events = stream_payloads(raw_post(emulator, {"input": PROMPT, "stream": True}).body)
    assert [e["token"]["text"] for e in events] == ["Hello!"]


@pytest.mark.parametrize(
    "shape, expected",
    [
        ("error_message", {"error_type": "generation", "error_message": "GPU fell over"}),
        ("tgi", {"error": "GPU fell over", "error_type": "generation"}),
    ],
)
def test_error_after_sends_error_event_then_ends_cleanly(emulator, shape, expected):
    emulator.behave(Behavior(error_after=2, error_event_shape=shape, message="GPU fell over"))
    response = raw_post(emulator, {"input": PROMPT, "stream": True})
    assert response.complete
    datas = data_lines(response.body)
    assert [json.loads(d) for d in datas[2:]] == [expected]
    assert [json.loads(d)["token"]["text"] for d in datas[:2]] == ["Hello!", " You"]


def test_stall_keeps_socket_open_until_release(emulator):
    emulator.behave(Behavior(stall_after=2))
    stream = OpenStream(emulator, {"input": PROMPT, "stream": True})
    try:
        assert stream.read_until(lambda s: s.token_events() >= 2, timeout=2)
        assert not stream.read_until(lambda s: s.token_events() > 2 or s.eof, timeout=0.2)
        emulator.release()
        assert stream.read_until(lambda s: s.eof, timeout=2)
        assert stream_payloads(parse_response(stream.data).body)[-1]["generated_text"] == REPLY
    finally:
        stream.close()


def test_reset_drops_a_stalled_stream(emulator):
    emulator.behave(Behavior(stall_after=1))
    stream = OpenStream(emulator, {"input": PROMPT, "stream": True})
    try:
        assert stream.read_until(lambda s: s.token_events() == 1, timeout=2)
        emulator.reset()
        assert stream.read_until(lambda s: s.eof, timeout=2)
        assert stream.token_events() == 1
    finally:
        stream.close()


def test_stop_never_hangs_on_stalled_or_gated_streams():
    emu = Emulator().start()
    gate = threading.Event()
    emu.queue(Behavior(stall_after=1), Behavior(gate=gate))
    streams = [OpenStream(emu, {"input": "x", "stream": True}) for _ in range(2)]
    try:
        for stream in streams:
            assert stream.read_until(lambda s: s.token_events() == 1, timeout=2)
        # Neither stream ends by itself, so a stop() that waited for them would never return.
        stopper = threading.Thread(target=emu.stop)
        stopper.start()
        stopper.join(timeout=HANG_GUARD)
        assert not stopper.is_alive()
        assert not gate.is_set()  # nothing let them go on: stop() dropped them
        for stream in streams:
            assert stream.read_until(lambda s: s.eof, timeout=2)
            assert stream.token_events() == 1 and b'"details": {' not in stream.data
        assert emu.wait_idle(timeout=HANG_GUARD)  # their handlers gave up
        assert emu.errors == []
    finally:
        for stream in streams:
            stream.close()


def test_stop_closes_idle_keep_alive_connections():
    emu = Emulator().start()
    with socket.create_connection((emu.host, emu.port), timeout=2) as sock:
        sock.sendall(b"GET /cli/version HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while not data.endswith(b'"latest": "0.6.0"}'):
            data += sock.recv(65536)
        emu.stop()
        assert sock.recv(65536) == b""  # closed by the server, not left hanging


def test_gate_releases_tokens_one_at_a_time(emulator):
    gate = threading.Event()
    emulator.behave(Behavior(gate=gate, tokens=["one", " two", " three"]))
    stream = OpenStream(emulator, {"input": "x", "stream": True})
    try:
        assert stream.read_until(lambda s: s.token_events() == 1, timeout=2)
        assert emulator.tokens_written == 1  # counted before the bytes could reach the client
        assert emulator.wait_written(1, timeout=2)
        assert b'"one"' in stream.data
        assert not emulator.wait_written(2, timeout=0.1)
        assert not stream.read_until(lambda s: s.token_events() > 1, timeout=0.1)
        gate.set()
        assert emulator.wait_written(2, timeout=2)
        assert stream.read_until(lambda s: s.token_events() == 2, timeout=2)
        assert b'" two"' in stream.data and b'" three"' not in stream.data
        assert emulator.tokens_written == 2
        gate.set()
        assert emulator.wait_written(3, timeout=2)
        gate.set()  # the final </s> event
        assert stream.read_until(lambda s: s.eof, timeout=2)
        assert stream_payloads(parse_response(stream.data).body)[-1]["generated_text"] == "one two three"
    finally:
        stream.close()


def test_cut_after_on_a_plain_response_truncates_the_body(emulator, http_client):
    emulator.queue(Behavior(cut_after=10))
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(request_bytes(f"/v1/inference/{LLAMA}", {"input": "x"}))
        data = b""
        while part := sock.recv(65536):
            data += part
    response = parse_response(data)
    assert response.body == b'{"request_'
    assert int(response.headers["content-length"]) > 10
    emulator.queue(Behavior(cut_after=10))
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        infer(emulator, http_client, {"input": "x"})


def test_stall_after_on_a_plain_response_hangs_mid_body(emulator, http_client):
    emulator.queue(Behavior(stall_after=5))
    with pytest.raises(requests.exceptions.ConnectionError, match="timed out"):
        infer(emulator, http_client, {"input": "x"}, timeout=0.2)
    emulator.queue(Behavior(stall_after=5))
    result = {}
    thread = threading.Thread(target=lambda: result.update(r=infer(emulator, http_client, {"input": "x"})))
    thread.start()
    assert emulator.wait_idle(timeout=0.1) is False
    emulator.release()
    thread.join(timeout=2)
    assert result["r"].json()["results"][0]["generated_text"].startswith("Hello!")


def test_reset_connection_is_a_tcp_reset(emulator, http_client):
    emulator.queue(Behavior(reset_connection=True))
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(request_bytes(f"/v1/inference/{LLAMA}", {"input": "x"}))
        with pytest.raises(ConnectionResetError):
            while sock.recv(65536):
                pass
    assert emulator.requests[-1].json == {"input": "x"}  # recorded before "answering"
    emulator.queue(Behavior(reset_connection=True))
    with pytest.raises(requests.exceptions.ConnectionError):
        infer(emulator, http_client, {"input": "x"})


def test_close_connection_reads_the_request_then_closes_without_a_byte(emulator):
    emulator.queue(Behavior(close_connection=True))
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(request_bytes(f"/v1/inference/{LLAMA}", {"input": "x"}))
        assert sock.recv(65536) == b""  # a clean end of the stream, no status line
    assert emulator.requests[-1].json == {"input": "x"}


def test_client_disconnect_mid_stream_is_quiet(emulator, capfd):
    gate = threading.Event()
    emulator.behave(Behavior(gate=gate))
    stream = OpenStream(emulator, {"input": PROMPT, "stream": True})
    assert stream.read_until(lambda s: s.token_events() == 1, timeout=2)
    stream.close(reset=True)
    gate.set()
    assert emulator.wait_idle(timeout=2)
    assert emulator.errors == []
    assert capfd.readouterr().err == ""


# --- error bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "behavior, status, content_type, body",
    [
        (Behavior(status=404), 404, "application/json", b'{"detail": {"error": "Model not found"}}'),
        (
            Behavior(status=429, body_shape="error", message="Rate limited"),
            429,
            "application/json",
            b'{"error": "Rate limited"}',
        ),
        (
            Behavior(status=429, body_shape="error_message", message="Model busy, retry later"),
            429,
            "application/json",
            b'{"error": {"message": "Model busy, retry later", "type": "invalid_request_error", "param": null, "code": null}}',
        ),
        (
            Behavior(status=400, body_shape="detail_str", message="Prompt too long"),
            400,
            "application/json",
            b'{"detail": "Prompt too long"}',
        ),
        (
            Behavior(body_shape="detail_list"),
            422,
            "application/json",
            b'{"detail": [{"loc": ["body", "input"], "msg": "field required", "type": "value_error.missing"}]}',
        ),
        (
            Behavior(status=502, body_shape="html"),
            502,
            "text/html",
            b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
            b"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        ),
        (Behavior(status=503, body_shape="empty"), 503, None, b""),
        (Behavior(status=500, body_shape="truncated_json"), 500, "application/json", b'{"detail": {"err'),
        (
            Behavior(body_shape="not_json"),
            200,
            "text/plain",
            b"upstream connect error or disconnect/reset before headers. reset reason: overflow",
        ),
    ],
)
def test_fault_bodies(emulator, http_client, behavior, status, content_type, body):
    emulator.queue(behavior)
    response = infer(emulator, http_client, {"input": "x"})
    assert response.status_code == status
    assert response.headers.get("Content-Type") == content_type
    assert response.headers["Content-Length"] == str(len(body))
    assert response.content == body


def test_no_results_is_a_200_without_results(emulator, http_client):
    emulator.queue(Behavior(body_shape="no_results"))
    body = infer(emulator, http_client, {"input": "x"}).json()
    assert "results" not in body and body["inference_status"]["status"] == "succeeded"


def test_status_with_retry_after_header(emulator, http_client):
    emulator.queue(Behavior(status=429, headers={"Retry-After": "1"}))
    response = infer(emulator, http_client, {"input": "x"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {"detail": {"error": "Rate limited"}}


def test_reason_phrase_as_given_else_the_standard_one(emulator, http_client):
    emulator.queue(Behavior(status=503, reason="Busy \x1b]0;owned\x07"), Behavior(status=503))
    assert infer(emulator, http_client, {"input": "x"}).reason == "Busy \x1b]0;owned\x07"
    assert infer(emulator, http_client, {"input": "x"}).reason == "Service Unavailable"


def test_echo_authorization_quotes_the_header_in_body_reason_and_error_event(emulator, http_client):
    quoted = f"(Authorization: Bearer {VALID_TOKEN})"
    emulator.queue(Behavior(status=500, message="boom", echo_authorization=True))
    answer = infer(emulator, http_client, {"input": "x"})
    assert answer.json() == {"detail": {"error": f"boom {quoted}"}}
    assert answer.reason == f"Internal Server Error {quoted}"
    emulator.queue(Behavior(error_after=1, message="fell over", echo_authorization=True))
    events = stream_payloads(raw_post(emulator, {"input": PROMPT, "stream": True}).body)
    assert events[-1]["error_message"] == f"fell over {quoted}"
    emulator.queue(Behavior(scope="all", echo_authorization=True))
    rejected = http_client.get(emulator.url + "/v1/me", headers={"Authorization": "Bearer nope"})
    assert rejected.json() == {"detail": {"error": "Invalid token (Authorization: Bearer nope)"}}


def test_faults_apply_before_auth(emulator, http_client):
    emulator.queue(Behavior(status=502, body_shape="html"))
    assert infer(emulator, http_client, {"input": "x"}, headers={}).status_code == 502


def test_queue_is_consumed_in_order_before_the_default(emulator, http_client):
    emulator.behave(Behavior(status=503))
    emulator.queue(Behavior(status=429), Behavior(reply="ok then"))
    statuses = [infer(emulator, http_client, {"input": "x"}) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 200, 503]
    assert statuses[1].json()["results"][0]["generated_text"] == "ok then"
    assert statuses[2].json() == {"detail": {"error": "Model busy, retry later"}}


def test_a_queued_behaviour_for_an_input_waits_for_that_input(emulator, http_client):
    emulator.queue(Behavior(status=429, for_input="second"), Behavior(status=503))
    assert infer(emulator, http_client, {"input": "first"}).status_code == 503
    assert infer(emulator, http_client, {"input": "third"}).status_code == 200
    assert infer(emulator, http_client, {"input": "second"}).status_code == 429


def test_inference_behaviours_leave_catalogue_alone_unless_scope_all(emulator, http_client):
    emulator.queue(Behavior(status=500))
    assert http_client.get(f"{emulator.url}/models/list").status_code == 200
    emulator.queue(Behavior(status=502, body_shape="html", scope="all"))
    assert http_client.get(f"{emulator.url}/models/list").status_code == 502
    assert http_client.get(f"{emulator.url}/models/list").status_code == 200
    assert infer(emulator, http_client, {"input": "x"}).status_code == 500  # still queued


def test_behavior_rejects_unknown_options():
    with pytest.raises(ValueError, match="framing"):
        Behavior(framing="gzip")
    with pytest.raises(ValueError, match="body_shape"):
        Behavior(body_shape="teapot")


# --- recording -------------------------------------------------------------------------------


def test_requests_are_recorded_with_case_insensitive_headers(emulator, http_client):
    http_client.post(
        f"{emulator.url}/v1/inference/{LLAMA}?version=v1&x=%2F",
        json={"input": "héllo"},
        headers={**AUTH, "X-Custom": "yes"},
    )
    recorded = emulator.requests[-1]
    assert recorded.method == "POST"
    assert recorded.path == f"/v1/inference/{LLAMA}"
    assert recorded.query == {"version": "v1", "x": "/"}
    assert recorded.headers["authorization"] == f"Bearer {VALID_TOKEN}"
    assert recorded.headers["AUTHORIZATION"] == recorded.headers.get("Authorization")
    assert "x-custom" in recorded.headers and recorded.headers["X-CUSTOM"] == "yes"
    assert recorded.body == json.dumps({"input": "héllo"}).encode()
    assert recorded.json == {"input": "héllo"}
    assert recorded.form is None and recorded.files == {}


def test_raw_request_is_recorded_as_sent(emulator):
    body = b'{"input":  "h\\u00e9llo"}'  # odd spacing and an escape: kept, not re-encoded
    head = (
        f"POST /v1/inference/{LLAMA}?version=v1&stop=a&stop=b%2Fc&empty= HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\nX-Trace: one\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {VALID_TOKEN}\r\nx-trace: two\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(head.encode() + body)
        while sock.recv(65536):
            pass
    recorded = emulator.requests[-1]
    assert recorded.target == f"/v1/inference/{LLAMA}?version=v1&stop=a&stop=b%2Fc&empty="
    assert recorded.raw_query == "version=v1&stop=a&stop=b%2Fc&empty="
    assert recorded.query_pairs == [("version", "v1"), ("stop", "a"), ("stop", "b/c"), ("empty", "")]
    assert recorded.query == {"version": "v1", "stop": "b/c", "empty": ""}
    assert recorded.raw_headers == [
        ("Host", "127.0.0.1"),
        ("X-Trace", "one"),
        ("Content-Type", "application/json"),
        ("Authorization", f"Bearer {VALID_TOKEN}"),
        ("x-trace", "two"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    assert recorded.headers["x-trace"] == "one, two"
    assert recorded.body == body and recorded.json == {"input": "héllo"}
    assert recorded.fields is None and recorded.body_error is None


def test_chunked_request_body_is_recorded_de_chunked(emulator):
    head = (
        f"POST /v1/inference/{LLAMA} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {VALID_TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(head.encode() + b'5\r\n{"inp\r\n9;ext=1\r\nut": "x"}\r\n0\r\n\r\n')
        data = b""
        while part := sock.recv(65536):
            data += part
    assert parse_response(data).status == 200
    assert emulator.requests[-1].body == b'{"input": "x"}'
    assert emulator.requests[-1].json == {"input": "x"}


def test_multipart_parts_are_recorded_as_sent(emulator, http_client):
    blob = b"\x00\xff\r\n--x"
    parts = [
        ("input", (None, "[INST] hi [/INST]")),
        ("max_new_tokens", (None, "7", "text/plain")),
        ("stop", (None, '["</s>"]', "text/plain; charset=utf-8")),
        ("stop", (None, "zz")),
        ("image", ("cat.PNG", blob, "image/png")),
        ("note", ("n.txt", "é".encode(), None)),
    ]
    response = http_client.post(f"{emulator.url}/v1/inference/{LLAMA}", headers=AUTH, files=parts)
    assert response.status_code == 200
    recorded = emulator.requests[-1]
    assert recorded.fields == [
        FormField("input", None, None, b"[INST] hi [/INST]"),
        FormField("max_new_tokens", None, "text/plain", b"7"),
        FormField("stop", None, "text/plain; charset=utf-8", b'["</s>"]'),
        FormField("stop", None, None, b"zz"),
        FormField("image", "cat.PNG", "image/png", blob),
        FormField("note", "n.txt", None, "é".encode()),
    ]
    # What the API reads out of them: coerced values, and files by name.
    assert recorded.form == {"input": "[INST] hi [/INST]", "max_new_tokens": 7, "stop": ["</s>", "zz"]}
    assert recorded.files == {
        "image": ("cat.PNG", "image/png", blob),
        "note": ("n.txt", "text/plain", "é".encode()),
    }
    assert recorded.json is None and recorded.body.count(b"\r\n\r\n") == len(parts)


def test_reset_clears_everything(emulator, http_client):
    emulator.behave(Behavior(status=500))
    emulator.queue(Behavior(status=429))
    infer(emulator, http_client, {"input": "x"})
    emulator.reset()
    assert emulator.requests == [] and emulator.tokens_written == 0
    assert infer(emulator, http_client, {"input": "x"}).status_code == 200
    assert len(emulator.requests) == 1


def test_invalid_json_body_is_recorded_and_rejected(emulator, http_client):
    response = http_client.post(
        f"{emulator.url}/v1/inference/{LLAMA}",
        data=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "value_error.jsondecode"
    assert emulator.requests[-1].body == b"{not json" and emulator.requests[-1].json is None
    assert emulator.requests[-1].body_error.startswith("Expecting property name")


# --- webhook ---------------------------------------------------------------------------------


class WebhookReceiver:
    """A tiny HTTP server answering webhook POSTs with scripted statuses."""

    def __init__(self, statuses: list[int]):
        receiver = self
        self.statuses = list(statuses)
        self.bodies: list[dict] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_answers_queued_then_posts_result_with_retries(emulator, http_client):
    receiver = WebhookReceiver([500, 404])
    try:
        response = infer(emulator, http_client, {"input": PROMPT, "webhook": receiver.url})
        queued = response.json()
        assert queued["inference_status"] == {"status": "queued", "runtime_ms": 0, "cost": 0.0}
        assert emulator.wait_webhooks(1, timeout=5)
        assert [a.status for a in emulator.webhook_attempts] == [500, 404, 200]
        assert len(receiver.bodies) == 3
        delivered = receiver.bodies[-1]
        assert delivered["request_id"] == queued["request_id"]
        assert delivered["inference_status"]["status"] == "succeeded"
        assert delivered["results"] == [{"generated_text": REPLY}]
    finally:
        receiver.close()


def test_webhook_gives_up_after_three_retries(emulator, http_client):
    receiver = WebhookReceiver([500] * 10)
    try:
        infer(emulator, http_client, {"input": "x", "webhook": receiver.url})
        assert emulator.wait_webhooks(1, timeout=5)
        assert [a.attempt for a in emulator.webhook_attempts] == [1, 2, 3, 4]
        assert len(receiver.bodies) == 4
    finally:
        receiver.close()


def test_webhook_retries_connection_errors(emulator, http_client):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/hook"  # bound, not listening
        infer(emulator, http_client, {"input": "x", "webhook": url})
        assert emulator.wait_webhooks(1, timeout=5)
    assert len(emulator.webhook_attempts) == 4
    assert all(a.status is None and "Connection refused" in a.error for a in emulator.webhook_attempts)


def test_webhook_that_is_not_a_url_is_rejected_like_pydantic_would(emulator, http_client):
    answer = infer(emulator, http_client, {"input": "x", "webhook": "-3.7"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "webhook"]
    assert emulator.webhook_attempts == []
    assert emulator.errors == []


def test_webhook_failure_payload(emulator, http_client):
    receiver = WebhookReceiver([])
    try:
        emulator.queue(Behavior(error_after=0))
        rid = infer(emulator, http_client, {"input": "x", "webhook": receiver.url}).json()["request_id"]
        assert emulator.wait_webhooks(1, timeout=5)
        assert receiver.bodies == [
            {"request_id": rid, "inference_status": {"status": "failed", "runtime_ms": 0, "cost": 0.0}}
        ]
    finally:
        receiver.close()


# --- catalogue and account -------------------------------------------------------------------


def test_models_list_is_public_and_covers_every_pricing_type(emulator, http_client):
    models = http_client.get(f"{emulator.url}/models/list").json()
    names = [m["model_name"] for m in models]
    assert LLAMA in names and catalogue.PRIVATE_MODEL not in names
    llama = models[names.index(LLAMA)]
    assert llama["type"] == "text-generation" and llama["max_tokens"] == 4096
    assert llama["pricing"]["cents_per_input_token"] == 0.000064
    assert llama["pricing"]["cents_per_output_token"] == 0.00008
    kinds = {m["pricing"]["type"] for m in models if "pricing" in m}
    assert kinds == {
        "tokens",
        "time",
        "uptime",
        "input_length",
        "input_tokens",
        "input_character_length",
        "image_units",
        "output_length",
    }
    assert [m["model_name"] for m in models if "pricing" not in m] == [catalogue.NO_PRICING]
    deprecated = models[names.index(catalogue.LLAMA_13B_DEPRECATED)]
    assert deprecated["replaced_by"] == LLAMA and deprecated["deprecated"]
    whisper = models[names.index(catalogue.WHISPER_SMALL)]
    assert whisper["pricing"] == {
        "type": "input_length",
        "cents_per_input_sec": 0.0005,
        "short": "$0.0003 / minute",
    }


def test_private_list_requires_auth(emulator, http_client):
    assert http_client.get(f"{emulator.url}/models/private/list").json() == {
        "detail": {"error": "Not authenticated"}
    }
    private = http_client.get(f"{emulator.url}/models/private/list", headers=AUTH).json()
    assert [m["model_name"] for m in private] == [catalogue.PRIVATE_MODEL]
    assert private[0]["private"] == 1


def test_model_card_has_what_deepctl_prints(emulator, http_client):
    card = http_client.get(f"{emulator.url}/models/{LLAMA}").json()
    for key in ("curl_inv", "cmdline_inv", "txt_docs", "out_example", "out_docs", "type", "version"):
        assert isinstance(card[key], str) and card[key]
    assert card["version"] == catalogue.VERSIONS[LLAMA][0]["version"]
    assert card["public"] is True
    assert card["pricing"]["cents_per_output_token"] == 0.00008
    assert card["meta"]["paper_url"] == "https://arxiv.org/abs/2307.09288"
    assert "deepctl infer" in card["cmdline_inv"] and LLAMA in card["curl_inv"]
    assert json.loads(card["out_example"])["results"][0]["generated_text"]
    assert {s["key"] for s in card["schemas"]} >= {"default", "openai-chat-completions"}


def test_model_card_version_and_versions_list(emulator, http_client):
    old = catalogue.VERSIONS[LLAMA][2]["version"]
    assert http_client.get(f"{emulator.url}/models/{LLAMA}", params={"version": old}).json()["version"] == old
    versions = http_client.get(f"{emulator.url}/models/{LLAMA}/versions").json()
    assert [v["version"] for v in versions] == [v["version"] for v in catalogue.VERSIONS[LLAMA]]
    assert all(v["model_name"] == LLAMA and v["uploaded_at"] for v in versions)


def test_unknown_model_card_is_404(emulator, http_client):
    for path in (
        "/models/nobody/nothing",
        "/models/nobody/nothing/versions",
        f"/models/{catalogue.PRIVATE_MODEL}",
    ):
        response = http_client.get(emulator.url + path)
        assert response.status_code == 404
        assert response.json() == {"detail": {"error": "Model not found"}}
    private = http_client.get(f"{emulator.url}/models/{catalogue.PRIVATE_MODEL}", headers=AUTH)
    assert private.json()["public"] is False


def test_me_and_cli_version(emulator, http_client):
    assert http_client.get(f"{emulator.url}/v1/me").status_code == 403
    me = http_client.get(f"{emulator.url}/v1/me", headers=AUTH).json()
    assert me["email"] == "emulator@example.com" and me["uid"]
    assert {
        "uid",
        "email",
        "email_verified",
        "account_setup",
        "display_name",
        "provider",
        "picture",
        "is_admin",
        "name",
        "first_name",
        "last_name",
        "country",
        "is_business_account",
        "company",
        "website",
        "title",
    } <= set(me)
    version = http_client.get(f"{emulator.url}/cli/version", params={"version": "0.6.0"})
    assert version.json() == {"min": "0.0.1", "update": "0.0.1", "latest": "0.6.0"}
    assert emulator.requests[-1].query == {"version": "0.6.0"}


def test_unknown_path_and_method(emulator, http_client):
    assert http_client.get(f"{emulator.url}/nope").json() == {"detail": "Not Found"}
    assert http_client.post(f"{emulator.url}/models/list").status_code == 405
    wrong_method = http_client.get(f"{emulator.url}/v1/inference/{LLAMA}", headers=AUTH)
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"detail": "Method Not Allowed"})


def test_other_tasks_answer_and_price_by_their_pricing_type(emulator, http_client):
    embed = infer(emulator, http_client, {"inputs": ["I like chocolate"]}, model=catalogue.BGE_LARGE).json()
    assert len(embed["embeddings"]) == 1 and len(embed["embeddings"][0]) == 8
    assert embed["inference_status"]["cost"] == 4 * 0.000001 / 100
    image = infer(emulator, http_client, {"prompt": "a llama"}, model=catalogue.STABLE_DIFFUSION).json()
    assert image["images"][0].startswith("data:image/png;base64,")
    assert image["inference_status"]["cost"] == 1285 / 1000 * 0.05 / 100
    flux = infer(
        emulator,
        http_client,
        {"prompt": "a llama", "width": 1024, "height": 1024},
        model=catalogue.FLUX_SCHNELL,
    ).json()
    assert flux["inference_status"]["cost"] == 4 * 0.05 / 100
    speech = infer(emulator, http_client, {"text": "Hello there, friend"}, model=catalogue.XTTS).json()
    assert speech["audio"].startswith("data:audio/wav;base64,")
    assert speech["inference_status"]["cost"] == 19 * 0.00008 / 100
    uptime = infer(emulator, http_client, {"input": "x"}, model=catalogue.DEDICATED_13B).json()
    assert uptime["inference_status"]["cost"] == 0.0
    assert infer(emulator, http_client, {}, model=catalogue.WHISPER_SMALL).json()["detail"][0]["loc"] == [
        "body",
        "audio",
    ]


# --- OpenAI-compatible -----------------------------------------------------------------------


def test_openai_chat_non_stream(emulator, http_client):
    response = http_client.post(
        f"{emulator.url}/v1/openai/chat/completions",
        headers=AUTH,
        json={
            "model": LLAMA,
            "messages": [
                {"role": "system", "content": "Be nice."},
                {"role": "user", "content": "Tell me a joke"},
            ],
        },
    )
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == LLAMA
    assert body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "Hello! You said: Tell me a joke. Voilà, café 🦙"
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["completion_tokens"] == 10
    assert usage["total_tokens"] == usage["prompt_tokens"] + 10
    assert usage["estimated_cost"] == usage["prompt_tokens"] * 0.000064 / 100 + 10 * 0.00008 / 100
    assert emulator.requests[-1].json["messages"][1]["content"] == "Tell me a joke"


def test_openai_chat_stream_ends_with_usage_and_done(emulator):
    response = raw_post(
        emulator,
        {"model": LLAMA, "stream": True, "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]},
        path="/v1/openai/chat/completions",
    )
    datas = data_lines(response.body)
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": "Hello!"},
        {"content": " You"},
        {},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 2 and "estimated_cost" in chunks[-1]["usage"]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)


def test_openai_completions_stream_and_non_stream(emulator, http_client):
    body = http_client.post(
        f"{emulator.url}/v1/openai/completions", headers=AUTH, json={"model": LLAMA, "prompt": "alpha"}
    ).json()
    assert body["object"] == "text_completion"
    assert body["choices"][0]["text"] == "Hello! You said: alpha. Voilà, café 🦙"
    emulator.queue(Behavior(newline="\r\n"))
    response = raw_post(
        emulator, {"model": LLAMA, "prompt": "alpha", "stream": True}, path="/v1/openai/completions"
    )
    datas = data_lines(response.body, b"\r\n")
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert "".join(c["choices"][0]["text"] for c in chunks) == body["choices"][0]["text"]
    assert chunks[-1]["usage"]["prompt_tokens"] == 2


def test_openai_errors_use_openai_shape(emulator, http_client):
    url = f"{emulator.url}/v1/openai/chat/completions"
    unauth = http_client.post(url, json={"model": LLAMA, "messages": []})
    assert unauth.status_code == 403
    assert unauth.json() == {
        "error": {
            "message": "Not authenticated",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    missing = http_client.post(url, headers=AUTH, json={"model": "nobody/nothing", "messages": []})
    assert missing.status_code == 404 and "nobody/nothing" in missing.json()["error"]["message"]
    emulator.queue(Behavior(status=429))
    assert http_client.post(url, headers=AUTH, json={"model": LLAMA, "messages": []}).json() == {
        "error": {"message": "Rate limited", "type": "invalid_request_error", "param": None, "code": None}
    }


def test_openai_models(emulator, http_client):
    body = http_client.get(f"{emulator.url}/v1/openai/models").json()
    assert body["object"] == "list"
    llama = next(m for m in body["data"] if m["id"] == LLAMA)
    assert llama["metadata"]["pricing"] == {"input_tokens": 0.64, "output_tokens": 0.8}
    assert llama["metadata"]["context_length"] == 4096


# --- standalone ------------------------------------------------------------------------------


def test_module_runs_standalone():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", "--port", "0", "--token", "abc", "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().split()[-1]
        assert url.startswith("http://127.0.0.1:")
        assert proc.stdout.readline().strip() == "accepted token: abc"
        with Session() as session:
            assert session.get(f"{url}/v1/me", headers={"Authorization": "Bearer abc"}).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()
        proc.stderr.close()


# --- hostile bytes ---------------------------------------------------------------------------


def test_a_finite_flood_is_exactly_its_length_then_the_stream_ends(emulator, http_client):
    emulator.behave(Behavior(tokens=["a"], flood="data_line", flood_after=1, flood_bytes=100_000))
    response = infer(emulator, http_client, {"input": "x", "stream": True}, stream=True)
    body = response.raw.read()
    first, flood = body.split(b"\n\n", 1)
    assert first.startswith(b"data: {") and flood == b"data: " + b"x" * 100_000 + b"\n\n"


@pytest.mark.parametrize("kind", ["comments", "data_lines"])
def test_a_flood_of_lines_has_no_blank_line(emulator, http_client, kind):
    emulator.behave(Behavior(flood=kind, flood_bytes=200_000))
    response = infer(emulator, http_client, {"input": "x", "stream": True}, stream=True)
    flood = response.raw.read()[:-2]  # the blank line that ends the stream
    assert len(flood) == 200_000 and b"\n\n" not in flood


def test_gzip_streams_and_bodies_are_real_gzip(emulator, http_client):
    emulator.behave(Behavior(gzip=True))
    streamed = infer(emulator, http_client, {"input": PROMPT, "stream": True}, stream=True)
    assert streamed.headers["Content-Encoding"] == "gzip"
    text = "".join(
        json.loads(line[len("data: ") :])["token"]["text"]
        for line in gzip.decompress(streamed.raw.read(decode_content=False)).decode().splitlines()
        if line.startswith("data: ")
    )
    assert REPLY in text
    whole = infer(emulator, http_client, {"input": PROMPT})
    assert (
        whole.headers["Content-Encoding"] == "gzip" and whole.json()["results"][0]["generated_text"] == REPLY
    )


def test_exact_events_and_bodies_are_sent_as_they_are(emulator, http_client):
    emulator.behave(Behavior(events=[b'{"token": "\xe9"}', b"[[[]]]"]))
    streamed = infer(emulator, http_client, {"input": "x", "stream": True}, stream=True)
    assert streamed.raw.read() == b'data: {"token": "\xe9"}\n\ndata: [[[]]]\n\n'
    emulator.behave(Behavior(body=b"[" * 1000, status=503, scope="all"))
    answer = http_client.get(f"{emulator.url}/models/list")
    assert (answer.status_code, answer.content) == (503, b"[" * 1000)
