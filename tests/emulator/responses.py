"""Response bodies of the emulated API, as pure functions of the request (no HTTP here).

Shapes follow deepinfra-api.md: §1.4 native results, §2 stream events, §3 error bodies,
§5 OpenAI-compatible objects.  Everything is JSON-ready dicts except the few raw byte
bodies that fault injection needs (HTML error pages, truncated JSON).
"""

from __future__ import annotations

import base64
import io
import json
import math
import secrets
import string
import wave
import zlib
from http import HTTPStatus

from . import catalogue, textgen
from .textgen import Generation

_ALNUM = string.ascii_letters + string.digits

# Error texts a real server or proxy would send for a status when no message is given.
_DEFAULT_MESSAGES = {
    400: "Bad request",
    401: "Invalid token",
    402: "Insufficient balance",
    403: "Not authenticated",
    404: "Model not found",
    422: "field required",
    423: "Locked",
    429: "Rate limited",
    500: "Internal server error",
    503: "Model busy, retry later",
}

_PNG_1X1 = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def request_id() -> str:
    """A DeepInfra-style request id: 24 alphanumerics starting with "R"."""
    return "R" + "".join(secrets.choice(_ALNUM) for _ in range(23))


def default_message(status: int) -> str:
    if status in _DEFAULT_MESSAGES:
        return _DEFAULT_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(shape: str, status: int, message: str, rid: str) -> tuple[str | None, bytes]:
    """(content type, body) of an error response in one of the `Behavior.body_shape` shapes."""

    def as_json(obj) -> tuple[str, bytes]:
        return "application/json", json.dumps(obj).encode()

    if shape == "detail_error":
        return as_json({"detail": {"error": message}})
    if shape == "error":
        return as_json({"error": message})
    if shape == "error_message":
        kind = "invalid_request_error" if status < 500 else "server_error"
        return as_json({"error": {"message": message, "type": kind, "param": None, "code": None}})
    if shape == "detail_str":
        return as_json({"detail": message})
    if shape == "detail_list":
        kind = "value_error.missing" if message == "field required" else "value_error"
        return as_json({"detail": [{"loc": ["body", "input"], "msg": message, "type": kind}]})
    if shape == "html":
        title = f"{status} {default_message(status)}"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return "text/html", page.encode()
    if shape == "empty":
        return None, b""
    if shape == "truncated_json":
        return "application/json", b'{"detail": {"err'
    if shape == "no_results":
        return as_json(
            {
                "request_id": rid,
                "inference_status": {
                    "status": "succeeded",
                    "runtime_ms": 0,
                    "cost": 0.0,
                    "tokens_input": 0,
                    "tokens_generated": 0,
                },
            }
        )
    if shape == "not_json":
        return (
            "text/plain",
            b"upstream connect error or disconnect/reset before headers. reset reason: overflow",
        )
    if shape == "deep_json":
        depth = 100_000  # far past any JSON parser's recursion limit
        return "application/json", b'{"results": ' + b"[" * depth + b"]" * depth + b"}"
    raise ValueError(f"unknown body shape {shape!r}")


def validation_error(field: str, msg: str = "field required", kind: str = "value_error.missing") -> dict:
    return {"detail": [{"loc": ["body", field], "msg": msg, "type": kind}]}


# --- native text generation (§1.4, §2) -------------------------------------------------


def runtime_ms(generated_tokens: int) -> int:
    """A deterministic stand-in for the server's runtime."""
    return 40 + 12 * generated_tokens


def text_generation(model: dict, gens: list[Generation], rid: str) -> dict:
    tokens_in = gens[0].input_tokens
    tokens_out = sum(g.generated_tokens for g in gens)
    runtime = runtime_ms(tokens_out)
    cost = catalogue.cost_usd(
        model.get("pricing"), tokens_input=tokens_in, tokens_generated=tokens_out, runtime_ms=runtime
    )
    return {
        "request_id": rid,
        "inference_status": {
            "status": "succeeded",
            "runtime_ms": runtime,
            "cost": cost,
            "tokens_input": tokens_in,
            "tokens_generated": tokens_out,
        },
        "results": [{"generated_text": g.text} for g in gens],
        "num_tokens": tokens_out,
        "num_input_tokens": tokens_in,
    }


def queued(rid: str) -> dict:
    """The immediate answer to a request with a `webhook` (§7)."""
    return {"request_id": rid, "inference_status": {"status": "queued", "runtime_ms": 0, "cost": 0.0}}


def failed(rid: str) -> dict:
    """What the webhook receives when inference failed (§7)."""
    return {"request_id": rid, "inference_status": {"status": "failed", "runtime_ms": 0, "cost": 0.0}}


def stream_events(gen: Generation, *, final_event: bool = True) -> list[dict]:
    """One event per token; the last carries `generated_text` and `details` (§2.2).

    Without the final event an EOS token is dropped and a last real token is sent plain, so
    the text is complete but nothing marks the end.
    """
    events = []
    last = len(gen.tokens) - 1
    for i, token in enumerate(gen.tokens):
        event = {"token": token.as_dict(), "generated_text": None, "details": None}
        if i == last:
            if final_event:
                event["generated_text"] = gen.text
                event["details"] = {
                    "finish_reason": gen.finish_reason,
                    "generated_tokens": gen.generated_tokens,
                    "input_tokens": gen.input_tokens,
                    "seed": gen.seed,
                }
            elif token.special:
                continue
        events.append(event)
    return events


def stream_error(shape: str, message: str) -> dict:
    """A mid-stream error event: LangChain's observed shape or the TGI backend's (§2.3)."""
    if shape == "tgi":
        return {"error": message, "error_type": "generation"}
    return {"error_type": "generation", "error_message": message}


# --- other native tasks (compact: enough for a client to print or save something) -------


def _status(model: dict, runtime: int, **usage) -> dict:
    cost = catalogue.cost_usd(model.get("pricing"), runtime_ms=runtime, **usage)
    return {"status": "succeeded", "runtime_ms": runtime, "cost": cost}


def embeddings(model: dict, inputs: list[str], rid: str) -> dict:
    vectors = [
        [round((zlib.crc32(f"{text}:{i}".encode()) % 2000 - 1000) / 1000, 3) for i in range(8)]
        for text in inputs
    ]
    tokens_in = sum(textgen.count_tokens(t) for t in inputs)
    status = _status(model, 25, tokens_input=tokens_in)
    status["tokens_input"] = tokens_in
    return {"embeddings": vectors, "input_tokens": tokens_in, "request_id": rid, "inference_status": status}


def speech_recognition(model: dict, audio: bytes, rid: str) -> dict:
    seconds = round(max(len(audio), 1) / 16000, 3)  # as if 8 kHz 16-bit mono
    text = " Hello World"
    return {
        "text": text,
        "segments": [{"id": 0, "text": text, "start": 0.0, "end": seconds}],
        "language": "en",
        "input_length_ms": int(seconds * 1000),
        "request_id": rid,
        "inference_status": _status(model, 300, input_sec=seconds),
    }


def text_to_image(model: dict, params: dict, rid: str) -> dict:
    count = int(params.get("num_images") or 1)
    units = math.ceil(int(params.get("width") or 512) * int(params.get("height") or 512) / 262144) * count
    return {
        "images": [_PNG_1X1] * count,
        "nsfw_content_detected": [False] * count,
        "seed": zlib.crc32(str(params.get("prompt")).encode()),
        "request_id": rid,
        "inference_status": _status(model, 1285, image_units=units),
    }


def text_to_speech(model: dict, text: str, rid: str) -> dict:
    seconds = round(len(text) / 15, 2)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 80)
    audio = "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {
        "audio": audio,
        "output_format": "wav",
        "input_character_length": len(text),
        "request_id": rid,
        "inference_status": _status(model, 400, output_sec=seconds, input_chars=len(text)),
    }


# --- OpenAI-compatible (§5) ----------------------------------------------------------------

_FINISH = {"eos_token": "stop", "stop_sequence": "stop", "length": "length"}


def openai_usage(model: dict, gens: list[Generation]) -> dict:
    prompt = gens[0].input_tokens
    completion = sum(len([t for t in g.tokens if not t.special]) for g in gens)
    cost = catalogue.cost_usd(model.get("pricing"), tokens_input=prompt, tokens_generated=completion)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "estimated_cost": cost,
    }


def openai_response(
    chat: bool, cid: str, created: int, name: str, model: dict, gens: list[Generation]
) -> dict:
    choices = []
    for i, g in enumerate(gens):
        if chat:
            choices.append(
                {
                    "index": i,
                    "message": {"role": "assistant", "content": g.text, "name": None, "tool_calls": None},
                    "finish_reason": _FINISH[g.finish_reason],
                }
            )
        else:
            choices.append(
                {"index": i, "text": g.text, "logprobs": None, "finish_reason": _FINISH[g.finish_reason]}
            )
    return {
        "id": cid,
        "object": "chat.completion" if chat else "text_completion",
        "created": created,
        "model": name,
        "choices": choices,
        "usage": openai_usage(model, gens),
    }


def openai_chunks(
    chat: bool, cid: str, created: int, name: str, model: dict, gen: Generation, *, final_event: bool = True
) -> list[dict]:
    """Stream chunks: one per token, then the finish chunk carrying `usage` (§5.3)."""

    def chunk(piece: str | None, finish: str | None = None, role: bool = False) -> dict:
        if chat:
            delta = {} if piece is None else {"content": piece}
            if role:
                delta = {"role": "assistant", **delta}
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": piece or "", "logprobs": None, "finish_reason": finish}
        return {
            "id": cid,
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": created,
            "model": name,
            "choices": [choice],
        }

    texts = [t.text for t in gen.tokens if not t.special]
    chunks = [chunk(text, role=i == 0) for i, text in enumerate(texts)]
    if final_event:
        last = chunk(None, _FINISH[gen.finish_reason])
        last["usage"] = openai_usage(model, [gen])
        chunks.append(last)
    return chunks


def openai_models() -> dict:
    data = []
    for model in catalogue.MODELS:
        if model["private"] or model["type"] not in ("text-generation", "embeddings"):
            continue
        pricing = model.get("pricing") or {}
        metadata = None
        if pricing.get("type") in ("tokens", "input_tokens"):
            prices = {"input_tokens": round(pricing["cents_per_input_token"] * 1e4, 6)}
            if "cents_per_output_token" in pricing:
                prices["output_tokens"] = round(pricing["cents_per_output_token"] * 1e4, 6)
            metadata = {
                "description": model["description"],
                "context_length": model["max_tokens"],
                "max_tokens": model["max_tokens"],
                "pricing": prices,
                "tags": model["tags"],
            }
        data.append(
            {
                "id": model["model_name"],
                "object": "model",
                "created": 1694623155,
                "owned_by": "deepinfra",
                "root": model["model_name"],
                "parent": None,
                "metadata": metadata,
            }
        )
    return {"object": "list", "data": data}
