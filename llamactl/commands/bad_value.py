"""Click's words for a bad option value, in llamactl's: `-n/--limit: must be at least 1,
got 0` where Click says `Invalid value for '-n' / '--limit': 0 is not in the range x>=1.`,
so a range or type error reads as every other usage error does."""

from __future__ import annotations

from typing import Any

# Click's number types by name (`integer` in Click, `int` as Typer ships it), and what they take
NUMBER_TYPES = dict.fromkeys(("int", "integer", "int range"), "a whole number")
NUMBER_TYPES.update(dict.fromkeys(("float", "float range"), "a number"))


def usage_message(exc: Any) -> str:
    """The one-line message for a Click usage error (`error: ` is added by the caller)."""
    param = getattr(exc, "param", None)
    if type(exc).__name__ != "BadParameter" or param is None:  # not MissingParameter either
        return exc.format_message()
    name = "/".join(param.opts) if param.param_type_name == "option" else param.human_readable_name
    return f"{name}: {bad_value(exc.message, param.type)}"


def bad_value(message: str, kind: Any) -> str:
    """What is wrong with the value, from Click's message and the parameter's type."""
    value, out_of_range, _ = message.partition(" is not in the range ")
    if out_of_range:
        return f"must be {range_words(kind)}, got {value}"
    value, not_valid, _ = message.partition(" is not a valid ")
    expected = NUMBER_TYPES.get(getattr(kind, "name", ""))
    if not_valid and expected:
        return f"expected {expected}, got {value}"
    return message.rstrip(".")


def range_words(kind: Any) -> str:
    """`at least 1`, `from 1 to 64`, `more than 0 and at most 5`: a range type's bounds."""
    low, high = kind.min, kind.max
    if low is not None and high is not None and not (kind.min_open or kind.max_open):
        return f"from {number(low)} to {number(high)}"
    words = []
    if low is not None:
        words.append(f"{'more than' if kind.min_open else 'at least'} {number(low)}")
    if high is not None:
        words.append(f"{'less than' if kind.max_open else 'at most'} {number(high)}")
    return " and ".join(words)


def number(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)
