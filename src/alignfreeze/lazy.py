"""Names that load on first use, so that importing a light part of a package (a config
class, which the command line reads for its options) does not import torch with it.

A package lists its heavy names by defining module and gets a module ``__getattr__``
(PEP 562) that imports each one when it is first asked for; a type checker reads the same
names from the package's ``if TYPE_CHECKING:`` imports (a test checks that the two agree).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import Callable

from alignfreeze.callable_package import CallablePackage


def lazy_names(package: str, modules: dict[str, list[str]], main: str | None = None) -> Callable[[str], object]:
    """The ``__getattr__`` of ``package``: ``modules`` maps a module to the names it defines.

    With ``main`` (one of those names), calling the package calls that function, as
    :mod:`alignfreeze.callable_package` describes; the function too is imported on the
    first call.

    Example::

        __getattr__ = lazy_names(__name__, {"alignfreeze.realign.trainer": ["realign"]}, main="realign")
    """
    defined_in = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str):
        if main is not None and name == "__main_function__":
            name = main
        elif main is not None and name == "__signature__":
            return inspect.signature(__getattr__(main))
        if name not in defined_in:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(defined_in[name]), name)

    if main is not None:
        sys.modules[package].__class__ = CallablePackage
    return __getattr__
