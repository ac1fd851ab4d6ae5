"""Packages that can be called as their main function.

The pipeline's folders ``realign/``, ``finetune/`` and ``evaluate/`` share their names with
the functions a notebook calls (``af.realign(...)``, ``af.finetune(...)``,
``af.evaluate(...)``). A package's attribute on its parent is the package itself, so the
package is made callable instead of being shadowed by the function: both
``af.realign(model, ...)`` and ``import alignfreeze.realign as r`` work, and
``inspect.signature(af.realign)`` and ``help(af.realign)`` describe the function.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Callable


class CallablePackage(types.ModuleType):
    """A package whose call is its main function's."""

    def __call__(self, *args, **kwargs):
        return self.__main_function__(*args, **kwargs)


def make_callable(package_name: str, function: Callable) -> None:
    """Make ``package_name`` (already imported) callable as ``function``."""
    package = sys.modules[package_name]
    package.__class__ = CallablePackage
    package.__main_function__ = function
    package.__signature__ = inspect.signature(function)
    package.__doc__ = (
        f"{(package.__doc__ or '').strip()}\n\nCalling the package calls "
        f"{function.__module__}.{function.__qualname__}:\n\n{inspect.getdoc(function) or ''}"
    )
