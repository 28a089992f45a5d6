"""How figures read in messages and tables: dollars, costs, the one-line summary of a run."""

from __future__ import annotations

import math
from typing import Any

COST_DIGITS = 12  # significant digits: far below a billed unit, far above float noise


def round_cost(cost: float | None) -> float | None:
    """A cost without float noise (`1.3440000000000002e-05` → `1.344e-05`), for JSON and
    history: sums and products of prices leave digits nobody was billed for. A cost that
    cannot be one (NaN, infinite, negative: a server's bug) is unknown, so it is never shown
    as `$nan` and never lets a batch spend past --max-cost."""
    if cost is None or not math.isfinite(cost) or cost < 0:
        return None
    return float(f"{cost:.{COST_DIGITS}g}")


def count_text(count: int, noun: str) -> str:
    """`1 token`, `2 tokens`, `0 tokens`: a count with its noun in the right number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def format_dollars(amount: float, min_decimals: int = 0) -> str:
    """Dollars with as many decimals as a tiny amount needs (a cost: `$0.0000436`), and at
    least `min_decimals` (a price: `$0.80` with 2)."""
    whole, _, decimals = f"{amount:.8f}".rstrip("0").partition(".")
    decimals = decimals.ljust(min_decimals, "0")
    return f"${whole}.{decimals}" if decimals else f"${whole}"


def cost_text(cost: float | None, estimated: bool, unknown: str = "-") -> str:
    """`$0.0012`, `~$0.0012` when estimated from pricing, `unknown` when there is none."""
    if cost is None:
        return unknown
    return ("~" if estimated else "") + format_dollars(cost)


# Finish reasons that mean the answer is whole: the model ended it, or a stop string did.
WHOLE_ANSWER = {"eos_token", "stop_sequence", "stop", "eos", "end_turn"}


def stop_text(finish_reason: str | None, fields: dict[str, Any]) -> str | None:
    """What the summary says about an answer that may be cut: `stopped at
    max_new_tokens=200` at the token limit, the API's own reason otherwise, nothing when the
    model ended its answer."""
    if not finish_reason or finish_reason in WHOLE_ANSWER:
        return None
    if finish_reason == "length":
        for name in ("max_new_tokens", "max_tokens"):
            if isinstance(fields.get(name), int):
                return f"stopped at {name}={fields[name]}"
        return "stopped at the token limit"
    return f"stopped: {finish_reason}"


def format_summary(outcome: Any) -> str:
    """The one stderr line after an answer: model, tokens, wall time, cost, request id.
    (`outcome` is an inference.run.InferenceOutcome.)"""
    tokens_in = "?" if outcome.tokens_in is None else outcome.tokens_in
    tokens_out = "?" if outcome.tokens_out is None else outcome.tokens_out
    no_tokens = outcome.tokens_in is None and outcome.tokens_out is None  # audio, images: not counted
    stopped = stop_text(outcome.finish_reason, outcome.request.fields)
    parts = [
        outcome.request.target.label,
        *([] if no_tokens else [f"{tokens_in} in / {tokens_out} out tokens"]),
        *([stopped] if stopped else []),
        f"{outcome.wall_seconds or 0:.2f} s",
        "cost " + cost_text(outcome.cost, outcome.cost_estimated, unknown="n/a"),
        f"request {outcome.request_id or 'n/a'}",
    ]
    return " · ".join(parts)
