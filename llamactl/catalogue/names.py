"""Model names from the cached catalogue and the saved aliases, where a name is typed:
`-m` shell completion, "did you mean" after the API answers 404 for an unknown model, and
chat's `/model`, which refuses a name the list does not have before a turn goes to it.

Completion never touches the network; it only reads the cache `models list` writes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import typer

from llamactl.env import Environment, resolve_api_url

MAX_SUGGESTIONS = 3
SIMILARITY_CUTOFF = 0.6


def complete_model_name(ctx: typer.Context, incomplete: str) -> list[str]:
    """Cached model names starting with what was typed (ignoring case)."""
    from llamactl.catalogue.cache import ModelCache

    api_url = resolve_api_url(ctx.find_root().params.get("api_url"), os.environ)
    env = Environment(api_url=api_url)
    catalogue = ModelCache(env).read()
    names = set(catalogue.names() if catalogue is not None else []) | set(saved_aliases(env))
    typed = incomplete.lower()
    return sorted(name for name in names if name.lower().startswith(typed))


def saved_aliases(env: Environment) -> list[str]:
    """The alias names, for completion and suggestions; none when config.json is damaged
    (a helper never fails because of it; the command that needs it says so)."""
    from llamactl.config import load_config
    from llamactl.errors import LlamactlError

    try:
        return list(load_config(env).aliases)
    except LlamactlError:
        return []


def complete_model_type(ctx: typer.Context, incomplete: str) -> list[str]:
    """The model types in the cached list (`models list --type <TAB>`)."""
    from llamactl.catalogue.cache import ModelCache

    api_url = resolve_api_url(ctx.find_root().params.get("api_url"), os.environ)
    catalogue = ModelCache(Environment(api_url=api_url)).read()
    if catalogue is None:
        return []
    return sorted({entry.type for entry in catalogue.entries() if entry.type.startswith(incomplete)})


def closest_names(name: str, known: list[str]) -> list[str]:
    """The known names most like `name`, best first; only the one that differs from it just
    in case, when there is one. A name typed without its owner (`llama-2-70b`) is also
    compared with the part of each name after the `/`."""
    import difflib
    import heapq

    by_lower = {candidate.lower(): candidate for candidate in known}
    typed = name.lower()
    if typed in by_lower:
        return [by_lower[typed]]
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(typed)

    def similarity(candidate: str) -> float:
        texts = [candidate] if "/" in typed else [candidate, candidate.rsplit("/", 1)[-1]]
        scores = []
        for text in texts:
            matcher.set_seq1(text)
            scores.append(matcher.ratio())
        return max(scores)

    scored = [(similarity(candidate), candidate) for candidate in by_lower]
    best = heapq.nlargest(MAX_SUGGESTIONS, [pair for pair in scored if pair[0] >= SIMILARITY_CUTOFF])
    return [by_lower[candidate] for _, candidate in best]


def _one_of(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


@contextlib.contextmanager
def suggest_known_models(
    env: Environment, model: str | None, version: str | None = None, refresh: bool = False
) -> Iterator[None]:
    """Adds a better hint to a 404 from the API about `model`: the closest names in the
    catalogue, or `models versions` when the model exists and a version was asked for.

    With `refresh`, a missing or day-old cache is fetched again first: only after the
    API's 404, so no answer ever waits for the list (a batch, whose every line may fail,
    only reads the cache).
    """
    from llamactl.errors import ApiRejected

    try:
        yield
    except ApiRejected as exc:
        if exc.status == 404 and model:
            hint = unknown_model_hint(env, model, version, refresh)
            exc.hint = hint or exc.hint
        raise


def unknown_model_hint(env: Environment, model: str, version: str | None, refresh: bool) -> str | None:
    from llamactl.catalogue.cache import ModelCache, current_catalogue

    catalogue = current_catalogue(env) if refresh else ModelCache(env).read()
    if catalogue is None:
        return None
    known = catalogue.names()
    if model in known:
        return f"see 'llamactl models versions -m {model}' for its versions" if version else None
    return did_you_mean(env, model, known)


def did_you_mean(env: Environment, model: str, known: list[str]) -> str | None:
    closest = closest_names(model, known + saved_aliases(env))
    if not closest:
        return None
    return f"did you mean {_one_of(closest)}? ('llamactl models list' shows every model)"


def check_listed_model(env: Environment, model: str) -> None:
    """A usage error, with the closest names, when DeepInfra's model list does not have
    `model`: for chat's `/model`, so that a mistyped name is refused at once instead of
    failing the next turn with a 404. A name the cached list has goes through without a
    request; any other is looked up in the list fetched again (a model added since). With
    no list to judge by (offline) the name goes through, for the API to judge."""
    from llamactl.catalogue.cache import ModelCache, current_catalogue
    from llamactl.errors import UsageError

    cached = ModelCache(env).read()
    if cached is not None and model in cached.names():
        return
    fetched = current_catalogue(env, refresh=True)
    if fetched is None or fetched == cached or model in fetched.names():  # == cached: not fetched
        return
    raise UsageError(
        f"no model {model!r} in the model list",
        hint=did_you_mean(env, model, fetched.names()) or "'llamactl models list' shows every model",
    )
