"""The Files and Batch API (deepinfra-api.md §10), at `/v1/openai/...` and `/v1/...`:
upload, list, retrieve, download and delete files; create, retrieve, list and cancel
batches. Errors are FastAPI-style `{"detail": ...}`, never OpenAI's envelope (§10.1). The
state and the status machine are in `batches.py`."""

from __future__ import annotations

import re

from .. import responses
from ..batches import ENDPOINTS
from ..routing import Route

FILE_PURPOSES = ("batch", "batch_output", "batch-output", "fine-tune", "assistants")


def _store(exchange):
    return exchange.emulator.batch_store


def _not_found(exchange, what: str) -> None:
    exchange.send_json(404, {"detail": {"error": f"{what} not found"}})


def _page(exchange, objects: list[dict], default_limit: int, max_limit: int) -> None:
    """A list object of `objects` (newest first) after `after`, `limit` at a time."""
    query = exchange.request.query
    try:
        limit = int(query.get("limit", default_limit))
    except ValueError:
        return exchange.reject("limit")
    if not 1 <= limit <= max_limit:
        return exchange.send_json(
            422,
            responses.validation_error("limit", f"limit must be between 1 and {max_limit}", "value_error"),
        )
    ids = [obj["id"] for obj in objects]
    start = ids.index(query["after"]) + 1 if query.get("after") in ids else 0
    data = objects[start : start + limit]
    exchange.send_json(
        200,
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": start + limit < len(objects),
        },
    )


# files


def upload(exchange) -> None:
    if not exchange.authorized():
        return
    request, store = exchange.request, _store(exchange)
    fields = {f.name: f for f in request.fields or []}
    if "file" not in fields or fields["file"].filename is None:
        return exchange.reject("file")
    purpose = fields["purpose"].data.decode("utf-8", "replace") if "purpose" in fields else None
    if purpose not in FILE_PURPOSES:
        return exchange.reject("purpose")
    expires = None
    if "expires_after[seconds]" in fields:
        try:
            expires = int(fields["expires_after[seconds]"].data)
        except ValueError:
            expires = -1
        if not 3600 <= expires <= 2_592_000:
            return exchange.send_json(
                422,
                responses.validation_error(
                    "expires_after", "seconds must be between 3600 and 2592000", "value_error"
                ),
            )
    data = fields["file"].data
    limit = store.plan.max_batch_input_bytes if purpose == "batch" else store.plan.max_file_bytes
    if len(data) > limit:
        return exchange.send_json(413, {"detail": {"error": f"file is larger than {limit} bytes"}})
    filename = fields["file"].filename.replace("\\", "/").rsplit("/", 1)[-1]
    exchange.send_json(200, store.add_file(filename, purpose, data, expires).object())


def list_files(exchange) -> None:
    if not exchange.authorized():
        return
    store, purpose = _store(exchange), exchange.request.query.get("purpose")
    with store.lock:
        objects = [f.object() for f in store.files.values() if purpose in (None, f.purpose)]
    if exchange.request.query.get("order", "desc") == "desc":
        objects.reverse()
    _page(exchange, objects, 10_000, 10_000)


def _file(exchange):
    stored = _store(exchange).files.get(exchange.request.path.split("/")[-1])
    if stored is None:
        _not_found(exchange, "file")
    return stored


def retrieve_file(exchange) -> None:
    if exchange.authorized() and (stored := _file(exchange)) is not None:
        exchange.send_json(200, stored.object())


def file_content(exchange) -> None:
    if not exchange.authorized():
        return
    file_id = exchange.request.path.split("/")[-2]
    stored = _store(exchange).files.get(file_id)
    if stored is None:
        return _not_found(exchange, "file")
    data, status, extra = stored.data, 200, []
    ranged = re.fullmatch(r"bytes=(\d+)-", exchange.request.headers.get("range", "").strip())
    if ranged and _store(exchange).plan.ranges:
        start = int(ranged.group(1))
        if start > len(data):
            return exchange.send_json(416, {"detail": {"error": "range not satisfiable"}})
        status, extra = 206, [("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")]
        data = data[start:]
    exchange.send_bytes(status, "binary/octet-stream", data, extra_headers=extra)


def delete_file(exchange) -> None:
    if not exchange.authorized():
        return
    store = _store(exchange)
    with store.lock:
        stored = store.files.pop(exchange.request.path.split("/")[-1], None)
    if stored is None:
        return _not_found(exchange, "file")
    exchange.send_json(200, {"id": stored.id, "deleted": True, "object": "file"})


# batches


def create_batch(exchange) -> None:
    if not exchange.authorized():
        return
    params = exchange.params()
    if params is None:
        return
    store = _store(exchange)
    if not isinstance(params.get("input_file_id"), str):
        return exchange.reject("input_file_id")
    if params.get("endpoint") not in ENDPOINTS:
        return exchange.send_json(
            422,
            responses.validation_error(
                "endpoint", f"endpoint must be one of {', '.join(ENDPOINTS)}", "value_error"
            ),
        )
    if params.get("completion_window") != "24h":
        return exchange.send_json(
            422,
            responses.validation_error("completion_window", "completion_window must be '24h'", "value_error"),
        )
    metadata = params.get("metadata")
    if metadata is not None and not _valid_metadata(metadata):
        return exchange.send_json(
            422,
            responses.validation_error(
                "metadata", "at most 16 string pairs (key 64, value 512)", "value_error"
            ),
        )
    if params["input_file_id"] not in store.files:
        return _not_found(exchange, "file")
    batch = store.create(params["input_file_id"], params["endpoint"], "24h", metadata)
    exchange.send_json(200, batch.object())


def _valid_metadata(metadata) -> bool:
    return (
        isinstance(metadata, dict)
        and len(metadata) <= 16
        and all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512
            for k, v in metadata.items()
        )
    )


def list_batches(exchange) -> None:
    if not exchange.authorized():
        return
    store = _store(exchange)
    with store.lock:
        objects = [batch.object() for batch in reversed(store.batches.values())]
    _page(exchange, objects, 20, 100)


def _batch(exchange, path_index: int = -1):
    batch = _store(exchange).batches.get(exchange.request.path.split("/")[path_index])
    if batch is None:
        _not_found(exchange, "batch")
    return batch


def retrieve_batch(exchange) -> None:
    """Each retrieval is a step (or the plan's steps_per_poll) of the batch's status machine
    (batches.py)."""
    if exchange.authorized() and (batch := _batch(exchange)) is not None:
        store = _store(exchange)
        with store.lock:
            for _ in range(store.plan.steps_per_poll):
                store.step(batch)
            exchange.send_json(200, batch.object())


def cancel_batch(exchange) -> None:
    if exchange.authorized() and (batch := _batch(exchange, -2)) is not None:
        store = _store(exchange)
        with store.lock:
            if not store.cancel(batch):
                return exchange.send_json(
                    400, {"detail": {"error": f"batch is {batch.status}: cannot cancel"}}
                )
            exchange.send_json(200, batch.object())


_ID = r"/([A-Za-z0-9_-]+)"
ROUTES = tuple(
    Route(method, prefix + path, handle, fastapi_errors=True)
    for prefix in ("/v1/openai", "/v1")
    for method, path, handle in (
        ("POST", "/files", upload),
        ("GET", "/files", list_files),
        ("GET", "/files" + _ID, retrieve_file),
        ("DELETE", "/files" + _ID, delete_file),
        ("GET", "/files" + _ID + "/content", file_content),
        ("POST", "/batches", create_batch),
        ("GET", "/batches", list_batches),
        ("GET", "/batches" + _ID, retrieve_batch),
        ("POST", "/batches" + _ID + "/cancel", cancel_batch),
    )
)  # DELETE /batches/{id} answers 405, as the API does (§10.4): the path is known, the method not
