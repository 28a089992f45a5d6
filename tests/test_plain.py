"""llamactl.plain's records behave as the dataclasses they replaced on the hot path."""

from __future__ import annotations

import dataclasses

import pytest

from llamactl.plain import FrozenInstanceError, as_dict, field, fields, record, replace


@record
class Base:
    name: str
    tags: list[str] = field(default_factory=list)
    size: int = 0


@record(kw_only=True)
class Keyed:
    label: str = "x"
    count: int


@record
class Derived(Keyed):
    path: str
    seen: int = 0


@record(frozen=True)
class Point:
    x: int
    y: int = 0


@record
class Checked:
    value: int
    doubled: int = 0

    def __post_init__(self) -> None:
        self.doubled = self.value * 2


def test_positional_keyword_and_default_arguments():
    item = Base("a", size=3)
    assert (item.name, item.tags, item.size) == ("a", [], 3)
    assert Base("a").tags is not Base("a").tags  # a factory per instance
    assert Base.size == 0 and not hasattr(Base, "tags")  # a factory leaves no class attribute


def test_wrong_arguments_fail_as_a_dataclass_does():
    with pytest.raises(TypeError, match="missing required argument 'name'"):
        Base()
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Base("a", colour="red")
    with pytest.raises(TypeError, match="multiple values for argument 'name'"):
        Base("a", name="b")
    with pytest.raises(TypeError, match="positional"):
        Base("a", [], 1, 2)
    with pytest.raises(TypeError, match="positional"):
        Keyed("y", 1)


def test_inherited_keyword_only_fields_come_first_in_fields_but_not_positionally():
    item = Derived("/tmp", count=2)
    assert [each.name for each in fields(Derived)] == ["label", "count", "path", "seen"]
    assert as_dict(item) == {"label": "x", "count": 2, "path": "/tmp", "seen": 0}


def test_equality_repr_and_replace():
    assert Base("a", ["t"]) == Base("a", ["t"]) != Base("b")
    assert repr(Base("a")) == "Base(name='a', tags=[], size=0)"
    changed = replace(Base("a", size=1), size=5)
    assert changed == Base("a", size=5)
    assert replace(Checked(2), value=3).doubled == 6  # __post_init__ runs again
    with pytest.raises(TypeError):
        hash(Base("a"))  # mutable and compared by value: unhashable, as dataclasses make it


def test_frozen_records_refuse_assignment_and_hash_by_value():
    point = Point(1)
    with pytest.raises(FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.y
    assert {Point(1), Point(1, 0)} == {point}


def test_fields_and_replace_serve_dataclasses_too():
    """Off the start-up path classes are still dataclasses: one `replace` serves both kinds."""

    @dataclasses.dataclass(frozen=True)
    class Old:
        name: str
        size: int = 0

    assert [item.name for item in fields(Old)] == ["name", "size"]
    assert replace(Old("a"), size=2) == Old("a", 2)


def test_fields_of_something_else_is_a_type_error():
    with pytest.raises(TypeError):
        fields(object())
