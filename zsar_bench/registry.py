"""A small named registry that fails loudly (duplicate names raise, unknown names suggest)."""
from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterator, TypeVar
from .errors import ZsarBenchError

T = TypeVar("T")


class RegistryError(ZsarBenchError, ValueError):
    """Raised for duplicate or unknown names."""


class Registry(Generic[T]):
    def __init__(self, kind: str, validator: Callable[[str, T], None] | None = None):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._validator = validator

    def register(self, name: str, origin: str | None = None) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("name")``."""
        if not name or not isinstance(name, str):
            raise RegistryError(f"{self.kind} name must be a non-empty string, got {name!r}")

        def deco(obj: T) -> T:
            if name in self._items:
                raise RegistryError(
                    f"duplicate {self.kind} name {name!r}: already registered by "
                    f"{self._origins[name]}; choose another name"
                )
            if self._validator is not None:
                self._validator(name, obj)
            self._items[name] = obj
            self._origins[name] = origin or getattr(obj, "__module__", "?")
            return obj

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise RegistryError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._items), n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        return f"unknown {self.kind} {name!r}.{hint} Valid choices: {', '.join(sorted(self._items))}"

    def origin(self, name: str) -> str:
        return self._origins[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)
        self._origins.pop(name, None)
