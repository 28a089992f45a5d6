"""How long to wait: for the API's next byte (the read timeout), and before sending a
request again.

Retried: for a GET, 429, 502, 503, 504 and connection failures before any response byte.
A POST (an inference, which may be billed) only when it cannot have run: a connection that
failed while connecting (refused, timed out, unreachable), or a 429 or 503, which say the
request was not processed. Not a 502/504 (a gateway may have passed it on) and not a
connection the server read from and closed without answering. Never other 4xx, and never
once a stream has delivered a token (that would charge twice and duplicate text): retries
happen only before the response body is read.
"""

from __future__ import annotations

import os
import time

from llamactl.plain import field, record

DEFAULT_TIMEOUT = 600.0  # seconds without a byte from the API before giving up (--timeout)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
NOT_RUN_STATUSES = frozenset({429, 503})  # answers saying the request was not processed
SAFE_METHODS = frozenset({"GET", "HEAD"})  # sending these twice does no harm


def retry_statuses(method: str) -> frozenset[int]:
    """The statuses after which `method` is sent again."""
    return RETRY_STATUSES if method in SAFE_METHODS else NOT_RUN_STATUSES


DEFAULT_RETRIES = 2
BASE_DELAY = 0.5
# A test knob, not in --help: the fault table retries hundreds of times and need not sleep.
BASE_DELAY_VARIABLE = "LLAMACTL_RETRY_DELAY"
MAX_DELAY = 20.0
MAX_TOTAL_WAIT = 60.0
MAX_RETRY_AFTER_DIGITS = 12  # a longer Retry-After is past any wait we would accept anyway
MAX_TIMEOUT = 86400.0  # the longest wait a timeout may ask for (a day): beyond, a typo or a bug


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    from email.utils import parsedate_to_datetime  # only for a dated Retry-After

    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not str.isdigit alone: `²` and `١` are digits too
        digits = value.lstrip("0") or "0"
        return float(digits) if len(digits) <= MAX_RETRY_AFTER_DIGITS else float(10**MAX_RETRY_AFTER_DIGITS)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # anything a server may send
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def default_base_delay() -> float:
    """BASE_DELAY, or LLAMACTL_RETRY_DELAY seconds when that is a number from 0 to BASE_DELAY."""
    try:
        seconds = float(os.environ.get(BASE_DELAY_VARIABLE) or "nan")
    except ValueError:
        return BASE_DELAY
    return seconds if 0 <= seconds <= BASE_DELAY else BASE_DELAY  # NaN fails this too


@record
class RetryPolicy:
    """Exponential backoff with jitter, Retry-After honoured, total wait capped."""

    retries: int = DEFAULT_RETRIES
    base_delay: float = field(default_factory=default_base_delay)
    max_delay: float = MAX_DELAY
    max_total_wait: float = MAX_TOTAL_WAIT
    waited: float = 0.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up now."""
        if attempt > self.retries:
            return None
        if retry_after is not None:
            delay = retry_after
        else:
            import random  # only when retrying

            backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
            delay = backoff * random.uniform(0.5, 1.0)
        if self.waited + delay > self.max_total_wait:
            return None
        self.waited += delay
        return delay
