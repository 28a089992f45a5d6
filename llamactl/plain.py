"""Plain data classes for the hot path, declared as dataclasses are, without their cost.

`@dataclass` writes `__init__`, `__repr__` and `__eq__` as source and compiles them when
the class is defined: about 2.7 M instructions a class, 60 M for the two dozen a single
`llamactl infer` imports, a tenth of its whole start-up (docs/performance.md). `@record`
builds the same methods from closures over the field list instead, for a few thousand
instructions. It keeps dataclasses' behaviour where llamactl relies on it: defaults and
`field(default_factory=...)`, inherited fields, `kw_only`, `frozen` (and hashable),
`eq`, `__post_init__`, `fields()` and `replace()`; nothing more (no slots, no order, no
InitVar). mypy sees a dataclass (`dataclass_transform`). A class built once per token
(StreamEvent) is written out by hand instead: a closure's `__init__` is slower per call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda function: function


T = TypeVar("T")
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
FIELDS = "__record_fields__"


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record."""


class Field:
    """One declared field: its name, default (or factory) and whether it is keyword-only."""

    __slots__ = ("name", "default", "default_factory", "kw_only")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.kw_only = False

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


def field(*, default: Any = MISSING, default_factory: Callable[[], Any] = MISSING) -> Any:
    """A field's default made per instance (`field(default_factory=list)`), as in dataclasses."""
    return Field(default, default_factory)


def fields(record_or_class: Any) -> tuple[Any, ...]:
    """The fields in order, inherited first (a dataclass's too, as `dataclasses.fields`
    gives them: both have `.name`, so callers need not know which kind they hold)."""
    found = getattr(record_or_class, FIELDS, None)
    if found is not None:
        return found
    if hasattr(record_or_class, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.fields(record_or_class)
    raise TypeError(f"{record_or_class!r} is neither a record nor a dataclass")


def is_record(cls: Any) -> bool:
    """Whether `cls` is a record class (or a dataclass): what `fields` can list."""
    return isinstance(cls, type) and (hasattr(cls, FIELDS) or hasattr(cls, "__dataclass_fields__"))


def replace(record: T, /, **changes: Any) -> T:
    """A copy of `record` (or of a dataclass) with some fields changed; `__post_init__`
    runs again."""
    values = {item.name: getattr(record, item.name) for item in fields(record)}
    values.update(changes)
    return type(record)(**values)


def as_dict(record: Any) -> dict[str, Any]:
    """The field values by name (not recursive)."""
    return {item.name: getattr(record, item.name) for item in fields(record)}


def declared_fields(cls: type, kw_only: bool) -> tuple[Field, ...]:
    """The class's fields: those of its record bases, then its own annotations in order."""
    by_name: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for item in getattr(base, FIELDS, ()):
            by_name[item.name] = item
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name, MISSING)
        item = value if isinstance(value, Field) else Field(default=value)
        item.name = name
        item.kw_only = kw_only
        if isinstance(value, Field):  # the class attribute becomes the plain default, if any
            if item.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, item.default)
        by_name.pop(name, None)
        by_name[name] = item
    return tuple(by_name.values())


def make_init(cls: type, declared: tuple[Field, ...]) -> Callable[..., None]:
    positional = tuple(item.name for item in declared if not item.kw_only)
    title = cls.__name__

    def __init__(self: Any, *args: Any, **given: Any) -> None:
        if len(args) > len(positional):
            raise TypeError(f"{title}() takes {len(positional)} positional arguments, {len(args)} given")
        for name, value in zip(positional, args, strict=False):
            if name in given:
                raise TypeError(f"{title}() got multiple values for argument {name!r}")
            given[name] = value
        values = {}
        for item in declared:
            if item.name in given:
                values[item.name] = given.pop(item.name)
            elif item.default is not MISSING:
                values[item.name] = item.default
            elif item.default_factory is not MISSING:
                values[item.name] = item.default_factory()
            else:
                raise TypeError(f"{title}() missing required argument {item.name!r}")
        if given:
            raise TypeError(f"{title}() got an unexpected keyword argument {next(iter(given))!r}")
        self.__dict__.update(values)
        post_init = getattr(self, "__post_init__", None)
        if post_init is not None:
            post_init()

    return __init__


def values_of(record: Any) -> tuple[Any, ...]:
    return tuple(getattr(record, item.name) for item in getattr(record, FIELDS))


def record_repr(self: Any) -> str:
    shown = ", ".join(f"{item.name}={getattr(self, item.name)!r}" for item in getattr(self, FIELDS))
    return f"{type(self).__qualname__}({shown})"


def record_eq(self: Any, other: Any) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return values_of(self) == values_of(other)


def frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def build(cls: type[T], frozen: bool, kw_only: bool, eq: bool) -> type[T]:
    declared = declared_fields(cls, kw_only)
    setattr(cls, FIELDS, declared)
    own = cls.__dict__
    methods: dict[str, Any] = {"__init__": make_init(cls, declared), "__repr__": record_repr}
    if eq:
        methods["__eq__"] = record_eq
        methods["__hash__"] = (lambda self: hash(values_of(self))) if frozen else None
    if frozen:
        methods.update(__setattr__=frozen_setattr, __delattr__=frozen_delattr)
    for name, method in methods.items():
        if name not in own or (name == "__hash__" and own[name] is None):
            setattr(cls, name, method)
    return cls


@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(
    *, frozen: bool = False, kw_only: bool = False, eq: bool = True
) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(field,))
def record(
    cls: type[T] | None = None, /, *, frozen: bool = False, kw_only: bool = False, eq: bool = True
) -> Any:
    """`@dataclass` for llamactl's hot path: `@record`, `@record(frozen=True)`, `@record(kw_only=True)`."""
    if cls is None:
        return lambda later: build(later, frozen, kw_only, eq)
    return build(cls, frozen, kw_only, eq)
