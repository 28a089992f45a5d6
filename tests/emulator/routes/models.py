"""The model catalogue (deepinfra-api.md §4.1-4.4): public and private lists, model cards
(optionally of a `?version=`) and version lists."""

from __future__ import annotations

from .. import catalogue
from ..routing import Route


def public_list(exchange) -> None:
    exchange.send_json(200, [catalogue.model_out(m) for m in catalogue.MODELS if not m["private"]])


def private_list(exchange) -> None:
    if exchange.authorized():
        exchange.send_json(200, [catalogue.model_out(m) for m in catalogue.MODELS if m["private"]])


def model_info(exchange) -> None:
    """`/models/{name}` (a card) and `/models/{name}/versions`; private models need a token."""
    name = exchange.request.path[len("/models/") :]
    wants_versions = name.endswith("/versions")
    if wants_versions:
        name = name[: -len("/versions")]
    model = catalogue.find_model(name, include_private=exchange.auth_error() is None)
    if model is None:
        return exchange.send_error(404, "Model not found")
    if wants_versions:
        return exchange.send_json(200, catalogue.versions(model))
    card = catalogue.model_card(model, exchange.request.query.get("version"))
    if card is None:
        return exchange.send_error(404, "Model version not found")
    exchange.send_json(200, card)


ROUTES = (
    Route("GET", "/models/list", public_list),
    Route("GET", "/models/private/list", private_list),
    Route("GET", "/models/.*/.*", model_info),  # model names hold a "/"
)
