"""The one place where JSON from the API is decoded: answers, error bodies, stream events.

A hostile or broken server can nest arrays a thousand levels deep; json.loads would raise
RecursionError, and a shallower but still deep value could raise it later, wherever it is
printed or walked. Here such JSON is refused like any other unreadable JSON."""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 100  # far beyond any answer of the API (a model card's schema nests about 10)


class ResponseNotJson(ValueError):
    """The text is not JSON llamactl can use; `reason` says why in a few words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class JsonTooDeep(ResponseNotJson):
    """Valid JSON, nested deeper than MAX_DEPTH: never a server's honest answer."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested more than {MAX_DEPTH} levels deep")


def loads(text: str | bytes | bytearray) -> Any:
    """The JSON value of `text`; ResponseNotJson for text that is not JSON (invalid UTF-8
    included) or that nests more than MAX_DEPTH levels deep."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeep() from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        raise ResponseNotJson("not valid JSON") from None
    if _containers_in(text) > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise JsonTooDeep()
    return value


def _containers_in(text: str | bytes | bytearray) -> int:
    """How many arrays and objects `text` opens at most (a bound on its depth, found in C)."""
    if isinstance(text, str):
        return text.count("[") + text.count("{")
    return text.count(b"[") + text.count(b"{")


def _deeper_than(value: Any, limit: int) -> bool:
    """True when `value` nests more than `limit` containers deep; iterative, linear in its size."""
    if not isinstance(value, (dict, list)):
        return False
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
