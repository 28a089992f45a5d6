"""Cost estimates from the model catalogue's pricing (filled in by the models issue)."""

from __future__ import annotations

from llamactl.env import Environment


def cost_estimator(env: Environment):
    """A callable giving an InferenceOutcome's estimated cost in USD, or None."""
    return None
