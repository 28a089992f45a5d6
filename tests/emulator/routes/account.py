"""Account endpoints deepctl calls: `GET /v1/me` (the token check) and `GET /cli/version`
(its weekly version check), deepinfra-api.md §4.5."""

from __future__ import annotations

from .. import catalogue
from ..routing import Route


def me(exchange) -> None:
    if exchange.authorized():
        exchange.send_json(200, catalogue.ME)


def cli_version(exchange) -> None:
    exchange.send_json(200, catalogue.CLI_VERSION)


ROUTES = (
    Route("GET", "/v1/me", me),
    Route("GET", "/cli/version", cli_version),
)
