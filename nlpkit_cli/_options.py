"""Frozen option records for the quick commands, without the ``dataclasses`` import.

``dataclasses`` imports ``inspect`` (with ``ast``, ``dis`` and ``tokenize``): about 7 ms, a seventh
of what a one-off ``analogy`` may cost above ``nlpkit --version``. An ``Options`` subclass is
written like a frozen dataclass (annotated class attributes, defaults as values) and behaves like
one where the CLI needs it: keyword construction with the defaults, ``fields`` in declaration
order, equality, a readable repr, no assignment after construction.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
    from typing import Any


class Options:
    _fields: tuple[str, ...] = ()
    _required: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = tuple(cls.__dict__.get("__annotations__", {}))
        cls._fields = cls._fields + tuple(name for name in own if name not in cls._fields)
        cls._required = frozenset(name for name in cls._fields if not hasattr(cls, name))

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self._fields)
        missing = self._required - set(values)
        if unknown or missing:
            raise TypeError(f"{type(self).__name__}: unknown {sorted(unknown)}, missing {sorted(missing)}")
        for name in self._fields:
            object.__setattr__(self, name, values[name] if name in values else getattr(type(self), name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __hash__(self) -> int:
        return hash(tuple(repr(getattr(self, f)) for f in self._fields))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"


def fields(cls: type[Options]) -> tuple[str, ...]:
    """The option names of an ``Options`` class, in declaration order."""
    return cls._fields
