"""Click's words for a bad option value, in llamactl's: `-n/--limit: must be at least 1,
got 0` where Click says `Invalid value for '-n' / '--limit': 0 is not in the range x>=1.`,
so a range or type error reads as every other usage error does.

Nothing here reads Click's message: what went wrong is found from the objects. The
exception's `param` names the option and holds its type; the value is the one that type's
`convert(value, param, ctx)` was given (found in the exception's traceback); whether it is
a number at all is asked of Click's own number type, and a range's bounds are its `min`,
`max`, `min_open` and `max_open`. Where any of that cannot be found (a type of another
kind, a Click that converts otherwise), Click's own message is shown after the name."""

from __future__ import annotations

import sys
from typing import Any

MISSING = object()


def usage_message(exc: Any) -> str:
    """The one-line message for a Click usage error (`error: ` is added by the caller)."""
    import typer

    param = getattr(exc, "param", None)
    if type(exc) is not typer.BadParameter or param is None:  # not MissingParameter either
        return exc.format_message()
    name = "/".join(param.opts) if param.param_type_name == "option" else param.human_readable_name
    return f"{name}: {bad_value(exc, param.type) or exc.message.rstrip('.')}"


def bad_value(exc: Any, kind: Any) -> str | None:
    """What is wrong with the value of a number type, or None when it cannot be told."""
    number_type = number_type_of(kind)
    value = converted_value(exc, kind)
    if number_type is None or value is MISSING:
        return None
    base, expected = number_type
    try:
        number = base.convert(value, None, None)
    except type(exc):
        return f"expected {expected}, got {value!r}"
    if has_bounds(kind):
        return f"must be {range_words(kind)}, got {number}"
    return None


def number_type_of(kind: Any) -> tuple[Any, str] | None:
    """(Click's unbounded type, the words for what it takes) for an int or float type, or
    its range, from the module that defines Click's types (click's, or Typer's own copy)."""
    types = sys.modules.get(type(kind).__module__)
    for class_name, base_name, words in (
        ("IntParamType", "INT", "a whole number"),
        ("FloatParamType", "FLOAT", "a number"),
    ):
        number_class, base = getattr(types, class_name, None), getattr(types, base_name, None)
        if isinstance(number_class, type) and isinstance(kind, number_class) and base is not None:
            return base, words
    return None


def converted_value(exc: Any, kind: Any) -> Any:
    """The value `kind.convert(value, param, ctx)` was given when it raised: the second
    argument (after self) of the outermost frame in the traceback running one of its
    class's convert methods on it. MISSING when there is none."""
    codes = {cls.__dict__["convert"].__code__ for cls in type(kind).__mro__ if "convert" in cls.__dict__}
    trace = exc.__traceback__
    while trace is not None:
        frame = trace.tb_frame
        code = frame.f_code
        if code in codes and code.co_argcount >= 2:
            self_name, value_name = code.co_varnames[:2]
            if frame.f_locals.get(self_name) is kind:
                return frame.f_locals.get(value_name, MISSING)
        trace = trace.tb_next
    return MISSING


def has_bounds(kind: Any) -> bool:
    return getattr(kind, "min", None) is not None or getattr(kind, "max", None) is not None


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
