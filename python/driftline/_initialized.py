"""Python classes refuse to be used before their ``__init__`` has built them."""

from __future__ import annotations

from typing import Any, Iterable, NoReturn, Optional

__all__ = ["NotInitializedError", "RequiresInit", "guard_state"]


class NotInitializedError(TypeError):
    """An object was used whose ``__init__`` was never called or did not complete.

    The core classes raise a plain ``TypeError`` with the same wording (their
    check lives in the bindings' argument loader).
    """


def _not_initialized(owner: str, name: str) -> NotInitializedError:
    return NotInitializedError(
        f"{owner} object is not initialized: its __init__ was not called or did not complete (no {name})"
    )


class RequiresInit:
    """Turns "missing private attribute" into :class:`NotInitializedError`.

    A class's internal state lives in private attributes that ``__init__`` (or a
    decoder) sets; an instance made by ``cls.__new__(cls)``, kept from a failed
    ``__init__`` or built by a subclass that skipped ``super().__init__`` lacks
    them. Python calls ``__getattr__`` only for attributes that are missing, so
    this costs nothing on initialized objects. Public and dunder names keep the
    usual ``AttributeError`` (``hasattr``, ``copy`` and ``pickle`` probe those).
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("_") and not name.startswith("__"):
            raise _not_initialized(type(self).__name__, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class _Unset:
    """A class attribute standing for private state ``__init__`` sets on each instance.

    A non-data descriptor: an instance's own attribute of the same name takes
    precedence, so it is only reached on an instance that lacks the state, and
    raises :class:`NotInitializedError` there. Unlike :class:`RequiresInit`'s
    ``__getattr__``, it leaves the class's attribute lookup the generic one,
    which CPython's specializing interpreter needs to call methods of a C base
    (``Monitor.observe``) without building a bound method per call.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: Optional[type] = None) -> Any:
        if instance is None:
            return self
        raise _not_initialized(type(instance).__name__, self.name)


def guard_state(cls: type, names: Iterable[str]) -> None:
    """Makes reading any of ``names`` (private attributes ``__init__`` sets) on an uninitialized ``cls`` raise
    :class:`NotInitializedError` instead of ``AttributeError``."""
    for name in names:
        if not (name.startswith("_") and not name.startswith("__")):
            raise ValueError(f"only private attribute names are guarded, got {name!r}")
        if name in vars(cls):
            raise ValueError(f"{cls.__name__}.{name} is already a class attribute")
        setattr(cls, name, _Unset(name))
