"""CI's lowest-versions run pins exactly the floors that pyproject.toml declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parent.parent
UNPINNED = {"keyring"}  # see .ci/lowest.txt


def declared_floors() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    floors = {}
    for requirement in project["dependencies"]:
        name, floor = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([^,]+)(?:,<.+)?", requirement).groups()
        floors[name.lower()] = floor
    return floors


def pinned() -> dict[str, str]:
    lines = (REPO / ".ci" / "lowest.txt").read_text(encoding="utf-8").splitlines()
    pins = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip().lower(): version.strip() for name, version in pins}


def test_every_floor_is_pinned_in_the_lowest_run():
    floors = {name: floor for name, floor in declared_floors().items() if name not in UNPINNED}
    assert floors, "no dependencies found in pyproject.toml"
    pins = pinned()
    for name, floor in floors.items():
        assert name in pins, f"{name} missing from .ci/lowest.txt"
        # "13.8" allows 13.8.0, and the pin must be that release, not a later one
        assert pins[name].split(".")[: len(floor.split("."))] == floor.split("."), name
        assert all(part == "0" for part in pins[name].split(".")[len(floor.split(".")) :]), name
    assert set(pins) == set(floors)
