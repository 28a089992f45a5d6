"""The emulated API, one module per API, each exporting a `ROUTES` tuple of `Route`s.

To add an API (OpenAI-compatible chat, Files, Batches, ...): write `routes/<api>.py` with
functions `handle(exchange)` and a `ROUTES` tuple naming them, then add the module below.
Routes are tried in order and the first whose method and path match answers; a path that
some route knows under another method gets 405, an unknown one 404.
"""

from __future__ import annotations

from . import account, batch_api, models, native, openai

ROUTES = (*native.ROUTES, *openai.ROUTES, *batch_api.ROUTES, *account.ROUTES, *models.ROUTES)
