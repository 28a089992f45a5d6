"""Request field names a user may have meant: the OpenAI names of native fields and close
misspellings, for warnings before a misspelt field is sent (and silently ignored)."""

from __future__ import annotations

import difflib
from collections.abc import Collection

from llamactl.inference.inputs import FIELD_TYPES, OPENAI_FIELD_TYPES

# OpenAI's name → the native API's (deepinfra-api.md §1.3)
OPENAI_NAMES = {"max_tokens": "max_new_tokens", "n": "num_responses", "stop_sequences": "stop"}
# The native API's name → the OpenAI chat API's
NATIVE_NAMES = {"max_new_tokens": "max_tokens", "num_responses": "n"}
# Chat fields DeepInfra documents beside the typed ones (§5.1): sent as given, never warned of.
OPENAI_OTHER_FIELDS = frozenset(
    {
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "top_logprobs",
        "logit_bias",
        "reasoning_effort",
        "reasoning",
        "service_tier",
        "prompt_cache_key",
        "chat_template_kwargs",
    }
)
# Other tasks' inputs (embeddings, speech, images; deepinfra-api.md §1): never taken for
# a misspelt text-generation field (`inputs` is not `input`) when no schema says otherwise.
OTHER_TASK_FIELDS = frozenset({"inputs", "audio", "prompt", "text", "image"})
CLOSENESS = 0.75  # difflib ratio: `tempertaure` → `temperature`, not `top_k` → `top_p`


def closest_field(key: str, names: Collection[str]) -> str | None:
    """The field of `names` that `key` most likely meant, or None."""
    if OPENAI_NAMES.get(key) in names:
        return OPENAI_NAMES[key]
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=CLOSENESS)
    return close[0] if close else None


def unknown_field_warnings(keys: list[str], schema: frozenset[str] | None, model: str) -> list[str]:
    """One warning per `-i` key the model's schema does not have. Without a schema, only keys
    that llamactl does not know and that look like a known text-generation field are named."""
    warnings = []
    for key in dict.fromkeys(keys):
        if schema is not None:
            if key in schema:
                continue
            guess = closest_field(key, schema)
            warnings.append(
                f"-i {key}: {model} has no such field"
                + (f"; did you mean {guess}?" if guess else "; it is sent, and may be ignored")
            )
        elif key not in FIELD_TYPES and key not in OTHER_TASK_FIELDS:
            guess = closest_field(key, FIELD_TYPES)
            if guess:
                warnings.append(f"-i {key}: not a text-generation field; did you mean {guess}?")
    return warnings


def openai_field_warnings(keys: list[str]) -> list[str]:
    """One warning per `-i` key the OpenAI chat API does not have: a native name gets the
    chat API's (`max_new_tokens` → `max_tokens`), a misspelling the closest field."""
    known = OPENAI_FIELD_TYPES.keys() | OPENAI_OTHER_FIELDS
    warnings = []
    for key in dict.fromkeys(keys):
        if key in known:
            continue
        if key in NATIVE_NAMES:
            warnings.append(f"-i {key}: a native API field; the OpenAI chat API calls it {NATIVE_NAMES[key]}")
        elif key in FIELD_TYPES:
            warnings.append(f"-i {key}: a native API field the OpenAI chat API does not have; it is sent")
        else:
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=CLOSENESS)
            if close:
                warnings.append(f"-i {key}: not an OpenAI chat field; did you mean {close[0]}?")
    return warnings


def option_hint(option: str) -> str | None:
    """For `--temperature 0.2` (no such option): the `-i` field it names, if it names one."""
    key = option.lstrip("-").replace("-", "_")
    guess = key if key in FIELD_TYPES else closest_field(key, FIELD_TYPES)
    return f"request fields go with -i: -i {guess}=VALUE" if guess else None
