"""Deterministic text generation and request validation for text-generation models.

The same request always yields the same tokens, so tests can assert exact output.  The
default reply echoes the start of the user's text and carries multi-byte UTF-8 ("à", "é",
"🦙") so clients must decode streams correctly.  Finish reasons follow DeepInfra's TGI
backend (deepinfra-api.md §2.2): "length" when `max_new_tokens` is reached, "stop_sequence"
when a `stop` string appears (the token completing it is kept, as TGI does), otherwise
"eos_token" with a final special `</s>` token.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

MAX_STOP = 4
MAX_RESPONSES = 2
EOS_ID = 2
EOS_TEXT = "</s>"


@dataclass(frozen=True)
class Token:
    id: int
    text: str
    logprob: float
    special: bool = False

    def as_dict(self) -> dict:
        return {"id": self.id, "text": self.text, "logprob": self.logprob, "special": self.special}


EOS = Token(EOS_ID, EOS_TEXT, -0.0045, special=True)


@dataclass(frozen=True)
class Generation:
    tokens: tuple[Token, ...]  # as streamed: ends with EOS when finish_reason is "eos_token"
    finish_reason: str  # "eos_token" | "length" | "stop_sequence"
    input_tokens: int
    seed: int

    @property
    def text(self) -> str:
        """The generated text, without special tokens."""
        return "".join(t.text for t in self.tokens if not t.special)

    @property
    def generated_tokens(self) -> int:
        return len(self.tokens)


def count_tokens(text: str) -> int:
    """The emulator's tokenizer-free token count: whitespace-separated words + 1 (for BOS)."""
    return len(text.split()) + 1


def split_words(text: str) -> list[str]:
    """Word tokens carrying their leading whitespace: "Hi you" -> ["Hi", " you"]."""
    return re.findall(r"\s*\S+|\s+$", text)


def make_token(text: str) -> Token:
    """A deterministic id and logprob for a token text."""
    crc = zlib.crc32(text.encode("utf-8"))
    return Token(3 + crc % 31997, text, -round(0.01 + (crc >> 12) % 3000 / 1000, 4))


LLAMA3_USER = "<|start_header_id|>user<|end_header_id|>"


def user_text(prompt: str) -> str:
    """The last user turn of a Llama 2 or Llama 3 style prompt (the whole prompt if it has
    no template)."""
    if LLAMA3_USER in prompt:
        prompt = prompt.rsplit(LLAMA3_USER, 1)[1].split("<|eot_id|>", 1)[0]
    elif "[/INST]" in prompt:
        prompt = prompt.rsplit("[/INST]", 1)[0].rsplit("[INST]", 1)[-1]
    prompt = re.sub(r"<<SYS>>.*?<</SYS>>", " ", prompt, flags=re.S)
    return re.sub(r"<\|[^|]*\|>|</?s>", " ", prompt)


def default_reply(prompt: str) -> str:
    words = user_text(prompt).split()[:5]
    return f"Hello! You said: {' '.join(words) or 'nothing'}. Voilà, café 🦙"


def generate(
    params: dict, *, reply: str | None = None, tokens: list[str] | None = None, variant: int = 0
) -> Generation:
    """Generate for validated `params`; `reply`/`tokens` replace the default reply.

    `variant` > 0 gives the extra results of `num_responses`, suffixed " (2)".
    """
    prompt = params.get("input", "")
    if tokens is not None:
        texts = list(tokens)
    else:
        texts = split_words(default_reply(prompt) if reply is None else reply)
    if variant:
        texts.append(f" ({variant + 1})")
    max_new = params.get("max_new_tokens")
    stops = [s for s in params.get("stop") or [] if s]
    out: list[Token] = []
    text = ""
    finish = None
    for piece in texts:
        if max_new is not None and len(out) >= max_new:
            finish = "length"
            break
        out.append(make_token(piece))
        text += piece
        if any(s in text for s in stops):
            finish = "stop_sequence"
            break
    if finish is None:
        if max_new is not None and len(out) >= max_new:
            finish = "length"
        else:
            finish = "eos_token"
            out.append(EOS)
    seed = params.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        seed = zlib.crc32(prompt.encode("utf-8"))
    return Generation(tuple(out), finish, count_tokens(prompt), seed)


def llama2_prompt(messages: list[dict]) -> str:
    """The Llama-2 chat template (deepinfra-api.md §8) the OpenAI chat endpoint applies."""
    system = None
    parts: list[str] = []
    user = None
    for message in messages:
        role, content = message.get("role"), str(message.get("content") or "").strip()
        if role == "system":
            system = content
        elif role == "user":
            if system is not None:
                content, system = f"<<SYS>>\n{system}\n<</SYS>>\n\n{content}", None
            user = content
        elif role == "assistant" and user is not None:
            parts.append(f"[INST] {user} [/INST] {content} </s><s>")
            user = None
    if user is not None:
        parts.append(f"[INST] {user} [/INST]")
    return "".join(parts)


# --- validation: FastAPI/pydantic-v1 style 422 `detail` entries ------------------------

# field -> (kind, minimum, maximum)
_FIELDS: dict[str, tuple[str, float | None, float | None]] = {
    "input": ("str", None, None),
    "max_new_tokens": ("int", 1, 100000),
    "temperature": ("float", 0, 100),
    "top_p": ("float", 0, 1),
    "top_k": ("int", 0, 100000),
    "repetition_penalty": ("float", 0.01, 5),
    "num_responses": ("int", 1, MAX_RESPONSES),
    "presence_penalty": ("float", -2, 2),
    "frequency_penalty": ("float", -2, 2),
    "stream": ("bool", None, None),
    "stop": ("list", None, MAX_STOP),
    "webhook": ("url", None, None),
    "seed": ("int", None, None),
    "response_format": ("dict", None, None),
}

_NUMBER = re.compile(r"^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _error(field: str, msg: str, kind: str, **ctx) -> dict:
    err = {"loc": ["body", field], "msg": msg, "type": kind}
    if ctx:
        err["ctx"] = ctx
    return err


def _coerce(field: str, value, kind: str):
    """(value, None) coerced as pydantic's lax mode would, or (None, error)."""
    if kind == "str":
        if isinstance(value, str):
            return value, None
        return None, _error(field, "str type expected", "type_error.str")
    if kind == "url":  # pydantic's HttpUrl
        if isinstance(value, str) and re.match(r"https?://[^/\s]+", value):
            return value, None
        return None, _error(field, "invalid or missing URL scheme", "value_error.url.scheme")
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        return None, _error(field, "value is not a valid integer", "type_error.integer")
    if kind == "float":
        if isinstance(value, str) and _NUMBER.match(value):
            value = float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value, None
        return None, _error(field, "value is not a valid float", "type_error.float")
    if kind == "bool":
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
            value = value.strip().lower() in ("true", "1", "yes")
        if isinstance(value, bool) or value in (0, 1):
            return bool(value), None
        return None, _error(field, "value could not be parsed to a boolean", "type_error.bool")
    if kind == "list":
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value, None
        return None, _error(field, "value is not a valid list of strings", "type_error.list")
    if isinstance(value, dict):
        return value, None
    return None, _error(field, "value is not a valid dict", "type_error.dict")


def _check_fields(params: dict, table: dict, clean: dict) -> list[dict]:
    """Coerce each field of `table` present in `params` into `clean`; the 422 entries of
    the ones of the wrong type or out of range."""
    errors = []
    for field, (kind, low, high) in table.items():
        if field not in params or params[field] is None:
            continue
        value, err = _coerce(field, params[field], kind)
        if err:
            errors.append(err)
            continue
        clean[field] = value
        if kind == "list" and high is not None and len(value) > high:
            errors.append(
                _error(
                    field,
                    f"ensure this value has at most {high} items",
                    "value_error.list.max_items",
                    limit_value=high,
                )
            )
        elif kind in ("int", "float") and low is not None and value < low:
            errors.append(
                _error(
                    field,
                    f"ensure this value is greater than or equal to {low}",
                    "value_error.number.not_ge",
                    limit_value=low,
                )
            )
        elif kind in ("int", "float") and high is not None and value > high:
            errors.append(
                _error(
                    field,
                    f"ensure this value is less than or equal to {high}",
                    "value_error.number.not_le",
                    limit_value=high,
                )
            )
    return errors


def validate(params: dict) -> tuple[dict, list[dict]]:
    """(coerced params, 422 detail list) for a native text-generation request."""
    clean = dict(params)
    errors = []
    if "input" not in params:
        errors.append(_error("input", "field required", "value_error.missing"))
    errors += _check_fields(params, _FIELDS, clean)
    if not errors and clean.get("stream") and (clean.get("num_responses") or 1) > 1:
        errors.append(
            _error("num_responses", "num_responses > 1 is incompatible with streaming", "value_error")
        )
    return clean, errors


# --- the OpenAI-compatible chat API's fields (deepinfra-api.md §5.1) --------------------

_CHAT_FIELDS: dict[str, tuple[str, float | None, float | None]] = {
    "model": ("str", None, None),
    "max_tokens": ("int", 1, 16384),
    "temperature": ("float", 0, 2),
    "top_p": ("float", 0, 1),
    "min_p": ("float", 0, 1),
    "top_k": ("int", 0, 100000),
    "n": ("int", 1, 4),
    "repetition_penalty": ("float", 0.01, 5),
    "presence_penalty": ("float", -2, 2),
    "frequency_penalty": ("float", -2, 2),
    "stream": ("bool", None, None),
    "logprobs": ("bool", None, None),
    "stop": ("list", None, 16),
    "seed": ("int", None, None),
    "user": ("str", None, None),
    "response_format": ("dict", None, None),
    "stream_options": ("dict", None, None),
}
CHAT_ROLES = ("system", "user", "assistant", "tool")


def _message_errors(messages) -> list[dict]:
    if not isinstance(messages, list):
        return [_error("messages", "value is not a valid list", "type_error.list")]
    errors = []
    for i, message in enumerate(messages):
        where = ["body", "messages", i]
        if not isinstance(message, dict):
            errors.append({"loc": where, "msg": "value is not a valid dict", "type": "type_error.dict"})
        elif message.get("role") not in CHAT_ROLES:
            errors.append(
                {
                    "loc": [*where, "role"],
                    "msg": "value is not a valid enumeration member; permitted: "
                    + ", ".join(f"'{role}'" for role in CHAT_ROLES),
                    "type": "type_error.enum",
                    "ctx": {"enum_values": list(CHAT_ROLES)},
                }
            )
        elif not isinstance(message.get("content"), (str, list, type(None))):
            errors.append({"loc": [*where, "content"], "msg": "str type expected", "type": "type_error.str"})
    return errors


def validate_chat(params: dict) -> tuple[dict, list[dict]]:
    """(coerced params, 422 detail list) for a chat completion: FastAPI's `detail` list,
    the shape DeepInfra's OpenAPI spec declares (HTTPValidationError) on every endpoint."""
    clean = dict(params)
    errors = [
        _error(field, "field required", "value_error.missing")
        for field in ("model", "messages")
        if field not in params
    ]
    if "messages" in params:
        errors += _message_errors(params["messages"])
    errors += _check_fields(params, _CHAT_FIELDS, clean)
    return clean, errors
