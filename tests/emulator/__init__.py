"""A local DeepInfra API emulator for tests (and for trying llamactl by hand).

See `server` for the control API, docs/emulator.md for every knob, and
`python -m tests.emulator --help` to run it standalone.
"""

from .server import VALID_TOKEN, BatchPlan, Behavior, Emulator, RecordedRequest, WebhookAttempt

__all__ = ["BatchPlan", "Behavior", "Emulator", "RecordedRequest", "VALID_TOKEN", "WebhookAttempt"]
