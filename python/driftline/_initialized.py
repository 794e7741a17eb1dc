"""Python classes refuse to be used before their ``__init__`` has built them."""

from __future__ import annotations

from typing import NoReturn

__all__ = ["NotInitializedError", "RequiresInit"]


class NotInitializedError(TypeError):
    """An object was used whose ``__init__`` was never called or did not complete.

    The core classes raise a plain ``TypeError`` with the same wording (their
    check lives in the bindings' argument loader).
    """


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
            raise NotInitializedError(
                f"{type(self).__name__} object is not initialized: "
                f"its __init__ was not called or did not complete (no {name})"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
