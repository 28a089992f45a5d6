"""The hook `infer` calls with each InferenceOutcome (filled in by the history issue)."""

from __future__ import annotations

from llamactl.env import Environment


def recorder_for(env: Environment, messages, enabled: bool):
    """A callable that records one InferenceOutcome, or None when history is off."""
    return None
