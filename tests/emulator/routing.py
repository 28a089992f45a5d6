"""Which route answers a request: a `Route` names a method, a path pattern and what the
emulator's `Behavior`s and error shapes mean for it.  The routes themselves live in
`routes/`, one module per API."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # a regular expression the whole percent-decoded path must match
    handle: Callable  # handle(exchange) answers the request
    inference: bool = False  # Behaviors of scope "inference" apply to it
    openai: bool = False  # errors come in OpenAI's {"error": {"message": ...}} shape
    fastapi_errors: bool = False  # {"detail": ...} errors even under /v1/openai (Files, Batches)

    def matches(self, path: str) -> bool:
        return re.fullmatch(self.pattern, path, re.DOTALL) is not None


def find(routes: tuple[Route, ...], method: str, path: str) -> tuple[Route | None, bool]:
    """(the first route matching method and path, whether any route matches the path)."""
    known = False
    for route in routes:
        if route.matches(path):
            if route.method == method:
                return route, True
            known = True
    return None, known


def speaks_openai(route: Route | None, path: str) -> bool:
    """True when errors for this request take OpenAI's shape (any path under /v1/openai)."""
    if route is not None and route.fastapi_errors:
        return False
    return (route is not None and route.openai) or path.startswith("/v1/openai")
