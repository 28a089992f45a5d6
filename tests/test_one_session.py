"""One requests session per command: the public and the private model lists share one
connection pool instead of each opening its own."""

from __future__ import annotations

import requests

from tests.emulator import VALID_TOKEN
from tests.helpers import invoke


def test_models_list_with_a_token_opens_one_session(emulator, monkeypatch):
    monkeypatch.setenv("DEEPINFRA_HOST", emulator.url)
    monkeypatch.setenv("DEEPINFRA_TOKEN", VALID_TOKEN)
    opened = []
    real_init = requests.Session.__init__

    def counting_init(self, *args, **kwargs):
        opened.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "__init__", counting_init)
    run = invoke(["models", "list"])
    assert run.exit_code == 0, run.stderr
    assert [request.path for request in emulator.requests] == ["/models/list", "/models/private/list"]
    assert len(opened) == 1
