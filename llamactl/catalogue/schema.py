"""The request fields a model's schema has (its card's `in_schema` or `in_fields`,
deepinfra-api.md §4.3), cached per model so that a misspelt `-i` field is warned about
before anything is billed. Looking a schema up never fails a run and never delays it by
more than SCHEMA_WAIT seconds: an answer that comes later only fills the cache."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from llamactl.env import Environment, ensure_private_dir

SCHEMA_FORMAT = 1
SCHEMA_MAX_AGE = 7 * 24 * 3600.0
SCHEMA_WAIT = 2.0  # seconds infer waits, at most, for a card it has not cached


def fields_of_card(card: Any) -> frozenset[str] | None:
    """The top-level input field names a card lists, or None when it lists none."""
    if not isinstance(card, dict):
        return None
    schema = card.get("in_schema")
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict) and schema["properties"]:
        return frozenset(schema["properties"])
    listed = card.get("in_fields")
    if isinstance(listed, list):
        names = {
            item["name"]
            for item in listed
            if isinstance(item, dict) and isinstance(item.get("name"), str) and not item.get("parent")
        }
        return frozenset(names) or None
    return None


class SchemaCache:
    """`schemas-<api host>.json` in the cache directory: each model's field names (or null
    for a card that lists none) and when they were fetched; 0600, replaced atomically."""

    def __init__(self, env: Environment):
        self.path: Path = env.host_cache("schemas")

    def _models(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        ok = (
            isinstance(data, dict)
            and data.get("format") == SCHEMA_FORMAT
            and isinstance(data.get("models"), dict)
        )
        return data["models"] if ok else {}

    def read(self, key: str) -> tuple[bool, frozenset[str] | None]:
        """(found fresh, the field names) for `key`."""
        entry = self._models().get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("fetched_at"), (int, float)):
            return False, None
        if not 0 <= time.time() - entry["fetched_at"] <= SCHEMA_MAX_AGE:
            return False, None
        fields = entry.get("fields")
        return True, frozenset(f for f in fields if isinstance(f, str)) if isinstance(fields, list) else None

    def write(self, key: str, fields: frozenset[str] | None) -> None:
        from llamactl.files import write_atomically

        models = self._models()
        models[key] = {"fetched_at": time.time(), "fields": sorted(fields) if fields is not None else None}
        ensure_private_dir(self.path.parent)
        write_atomically(
            self.path, json.dumps({"format": SCHEMA_FORMAT, "models": models}, ensure_ascii=False)
        )


def model_fields(
    env: Environment, model: str, version: str | None, fetch: bool = True
) -> frozenset[str] | None:
    """The field names of `model`'s schema: cached, else (when `fetch`) from its card, asked
    for without the token and waited for at most SCHEMA_WAIT seconds; None when unknown."""
    cache = SchemaCache(env)
    key = f"{model}@{version}" if version else model
    found, fields = cache.read(key)
    if found or not fetch:
        return fields
    result: list[frozenset[str] | None] = []

    def look_up() -> None:
        try:
            from llamactl.api.client import ApiClient
            from llamactl.api.retry import RetryPolicy
            from llamactl.catalogue.cache import model_path

            client = ApiClient(env, None, timeout=SCHEMA_WAIT, retry=RetryPolicy(retries=0))
            card = client.get_json(
                model_path(model), params={"version": version} if version else None, target=model
            )
            names = fields_of_card(card)
            result.append(names)
            cache.write(key, names)
        except Exception:  # a helper only: never a reason for the run to fail
            pass

    worker = threading.Thread(target=look_up, name="schema lookup", daemon=True)
    worker.start()
    worker.join(SCHEMA_WAIT)
    return result[0] if result else None
