"""Shared fixtures: one DeepInfra emulator for the whole session, reset before each test."""

from __future__ import annotations

import pytest

from tests.emulator import Emulator


@pytest.fixture(scope="session")
def emulator_session():
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_session):
    emulator_session.reset()
    yield emulator_session
