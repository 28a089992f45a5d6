"""The model catalogue: GET /models/list (plus /models/private/list with a token), its
entries checked one at a time, and a cache of it per API host.

The cache lets shell completion, cost estimates and unknown-model suggestions know the
models without a network call. `models list` always refreshes it; other commands may
refresh it when it is older than a day, but `infer` only ever reads it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llamactl.env import Environment, ensure_private_dir

if TYPE_CHECKING:
    from llamactl.auth.credentials import ResolvedToken

CACHE_MAX_AGE = 24 * 3600.0
CACHE_FORMAT = 1
CATALOGUE_TIMEOUT = 30.0


class MalformedEntry(ValueError):
    """A catalogue entry that cannot be shown: not an object, or no name or type."""


@dataclass(frozen=True)
class CatalogueEntry:
    """One model of the list, with what llamactl uses of it."""

    name: str
    type: str
    pricing: dict[str, Any] | None
    context_length: int | None
    deprecated: bool
    replaced_by: str | None
    private: bool


def parse_entry(raw: Any) -> CatalogueEntry:
    """The entry's fields; optional ones of the wrong type are left out, not fatal."""
    if not isinstance(raw, dict):
        raise MalformedEntry(f"expected an object, got {type(raw).__name__}")
    name, kind = raw.get("model_name"), raw.get("type")
    if not isinstance(name, str) or not name.strip():
        raise MalformedEntry("it has no model_name")
    if not isinstance(kind, str) or not kind:
        raise MalformedEntry(f"{name} has no type")
    context = raw.get("max_tokens")
    replaced_by = raw.get("replaced_by")
    return CatalogueEntry(
        name=name,
        type=kind,
        pricing=raw["pricing"] if isinstance(raw.get("pricing"), dict) else None,
        context_length=context
        if isinstance(context, int) and not isinstance(context, bool) and context > 0
        else None,
        deprecated=bool(raw.get("deprecated")),
        replaced_by=replaced_by if isinstance(replaced_by, str) and replaced_by else None,
        private=bool(raw.get("private")),
    )


def parse_entries(raws: list[Any], warn: Callable[[str], None] | None = None) -> list[CatalogueEntry]:
    """The well-formed entries; each malformed one is skipped (with a warning when asked)."""
    entries = []
    for position, raw in enumerate(raws, 1):
        try:
            entries.append(parse_entry(raw))
        except MalformedEntry as exc:
            if warn:
                warn(f"skipped entry {position} of the model list: {exc}")
    return entries


def fetch_models(env: Environment, token: ResolvedToken | None, warn: Callable[[str], None]) -> list[Any]:
    """The raw entries of the public list, then of the private list when there is a token.

    The public list is fetched without the token (it needs none). A token the API rejects,
    or that may not go over plain http to this host, costs only the private models, with
    a warning.
    """
    from llamactl.api.client import ApiClient
    from llamactl.errors import AuthError, UsageError

    anonymous = ApiClient(env, None, timeout=CATALOGUE_TIMEOUT, trace=env.output.tracer)
    public = _model_array(anonymous, "/models/list")
    if token is None:
        return public
    try:
        private = _model_array(
            ApiClient(
                env, token, timeout=CATALOGUE_TIMEOUT, session=anonymous.session, trace=env.output.tracer
            ),
            "/models/private/list",
        )
    except (AuthError, UsageError) as exc:
        warn(f"private models not listed: {exc.message}")
        return public
    return public + private


def model_client(env: Environment):
    """A client for one model's pages: with the token when there is one (private models
    need it), as deepctl's `model info` sends it."""
    from llamactl.api.client import ApiClient
    from llamactl.auth.credentials import resolve_token

    out = env.output
    return ApiClient(env, resolve_token(env, out.warn), timeout=CATALOGUE_TIMEOUT, trace=out.tracer)


def model_path(model: str) -> str:
    from urllib.parse import quote

    from llamactl.catalogue.model_choice import check_model_name

    return "/models/" + quote(check_model_name(model), safe="/")


def fetch_model_info(env: Environment, model: str, version: str | None) -> dict[str, Any]:
    """GET /models/{model}[?version=V]: the model card (ModelInfoOut)."""
    from llamactl.errors import RequestFailed

    path, params = model_path(model), {"version": version} if version else None
    info = model_client(env).get_json(path, params=params, target=model)
    if not isinstance(info, dict):
        raise RequestFailed(f"the API's card for {model} is not a JSON object")
    return info


def fetch_versions(env: Environment, model: str) -> list[Any]:
    """GET /models/{model}/versions: ModelVersionOut objects, newest first."""
    from llamactl.errors import RequestFailed

    path = model_path(model) + "/versions"
    versions = model_client(env).get_json(path, target=model)
    if not isinstance(versions, list):
        raise RequestFailed(f"the API's version list for {model} is not a JSON array")
    return versions


def _model_array(client, path: str) -> list[Any]:
    from llamactl.errors import RequestFailed

    data = client.get_json(path)
    if not isinstance(data, list):
        raise RequestFailed(f"the API's answer to {path} is not a JSON array of models")
    return data


@dataclass
class CachedCatalogue:
    """The model list as it was fetched at `fetched_at` (seconds since the epoch)."""

    fetched_at: float
    raws: list[Any]

    def entries(self) -> list[CatalogueEntry]:
        return parse_entries(self.raws)

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries()]

    def find(self, name: str) -> CatalogueEntry | None:
        for raw in self.raws:
            if isinstance(raw, dict) and raw.get("model_name") == name:
                with contextlib.suppress(MalformedEntry):
                    return parse_entry(raw)
        return None

    def serving_entry(self, name: str) -> CatalogueEntry | None:
        """The entry whose pricing applies to `name`: a replaced model's requests are
        forwarded to (and served by) its replacement when the list has it."""
        entry = self.find(name)
        if entry and entry.replaced_by:
            return self.find(entry.replaced_by) or entry
        return entry

    def is_stale(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return not 0 <= now - self.fetched_at <= CACHE_MAX_AGE


def deprecation_of(catalogue: CachedCatalogue | None, model: str) -> str | None:
    """`models info`'s notice for a model the list says is deprecated or replaced (a list
    already at hand: never a request of its own)."""
    from llamactl.catalogue.card import deprecation_notice

    for raw in catalogue.raws if catalogue is not None else ():
        if isinstance(raw, dict) and raw.get("model_name") == model:
            return deprecation_notice(model, raw)
    return None


def read_model_cache(path: Path) -> CachedCatalogue | None:
    """The list cached in `path` (ModelCache's file), or None when there is none or it cannot
    be read: for a caller that has the path already (infer looks for the file before it
    loads this module)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return None
    fetched_at, raws = data.get("fetched_at"), data.get("models")
    if not isinstance(fetched_at, (int, float)) or not isinstance(raws, list):
        return None
    return CachedCatalogue(float(fetched_at), raws)


class ModelCache:
    """`models-<api host>.json` in the cache directory: 0600 in a 0700 directory, replaced
    atomically, so a reader (a completion running in another shell) never sees half a file."""

    def __init__(self, env: Environment):
        self.path: Path = env.host_cache("models")

    def read(self) -> CachedCatalogue | None:
        """The cached list, or None when there is none or it cannot be read."""
        return read_model_cache(self.path)

    def write(self, raws: list[Any], now: float | None = None) -> CachedCatalogue:
        catalogue = CachedCatalogue(time.time() if now is None else now, raws)
        from llamactl.files import write_atomically

        ensure_private_dir(self.path.parent)
        write_atomically(
            self.path,
            json.dumps(
                {"format": CACHE_FORMAT, "fetched_at": catalogue.fetched_at, "models": raws},
                ensure_ascii=False,
            ),
        )
        return catalogue


def refresh_cache(env: Environment, raws: list[Any], warn: Callable[[str], None]) -> None:
    """Store a freshly fetched list; a cache that cannot be written is only a warning."""
    cache = ModelCache(env)
    try:
        cache.write(raws)
    except OSError as exc:
        warn(f"could not update the model cache {cache.path}: {exc.strerror or exc}")


def current_catalogue(env: Environment, refresh: bool = False) -> CachedCatalogue | None:
    """The cached list, fetched again first when it is missing or older than a day (or
    with `refresh`, whatever its age).

    For commands that already talk to the API (never `infer`): a failed refresh falls
    back to whatever the cache holds, without a word, since the list is only a helper here.
    """
    from llamactl.auth.credentials import resolve_token
    from llamactl.errors import LlamactlError

    cached = ModelCache(env).read()
    if cached is not None and not cached.is_stale() and not refresh:
        return cached
    try:
        raws = fetch_models(env, resolve_token(env, env.output.warn), warn=lambda line: None)
        return ModelCache(env).write(raws)
    except (LlamactlError, OSError):
        return cached
