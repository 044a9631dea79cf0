"""One small generic registry: a read-only mapping from names to items, filled by ``add``.

The kinds, figures and scales of the harness are each a :class:`Registry`. Looking up an
unknown name raises the registry's error class with one line listing the valid names, the
shape every user-facing message of the harness has. A registry may be given a ``load``
function that imports the modules whose import registers the items (the kinds package);
it runs once, on the first lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from harness.errors import HarnessError, InputError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Name -> item.

    Parameters
    ----------
    what : str
        What an item is (``"kind"``), used in error messages.
    error : HarnessError subclass
        Raised by :meth:`get` for an unknown name.
    load : callable, optional
        Called once before the first lookup (e.g. imports that register items).
    items : mapping, optional
        Initial items.
    """

    def __init__(
        self,
        what: str,
        error: type[HarnessError] = InputError,
        load: Callable[[], None] | None = None,
        items: Mapping[str, T] | None = None,
    ) -> None:
        self.what = what
        self._error = error
        self._load = load
        self._items: dict[str, T] = dict(items or {})

    def add(self, name: str, item: T) -> T:
        """Register ``item`` as ``name`` (re-registering a name replaces the item)."""
        if not name or not isinstance(name, str):
            raise ValueError(f"{self.what} name must be a non-empty string; got {name!r}")
        self._items[name] = item
        return item

    def registered(self, name: str) -> T | None:
        """The item ``name`` if it is registered already (does not run ``load``)."""
        return self._items.get(name)

    def registered_names(self) -> list[str]:
        """Names registered so far, sorted (does not run ``load``)."""
        return sorted(self._items)

    def _loaded(self) -> dict[str, T]:
        if self._load is not None:
            load, self._load = self._load, None
            load()
        return self._items

    def get_or_fail(self, name: str, field: str | None = None) -> T:
        """The item ``name``; the registry's error naming the valid names otherwise."""
        items = self._loaded()
        if name not in items:
            where = f"field '{field}'" if field else self.what
            raise self._error(f"{where} must be one of {sorted(items)}; got {name!r}")
        return items[name]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._loaded())

    def __getitem__(self, name: str) -> T:
        return self._loaded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __contains__(self, name: object) -> bool:
        return name in self._loaded()

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {sorted(self._items)})"
