"""The public surface: small, re-exported from ``forloeb``, one exception tree."""

from __future__ import annotations

import importlib
import pkgutil

import forloeb


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def test_every_public_name_resolves() -> None:
    for name in forloeb.__all__:
        assert getattr(forloeb, name) is not None, name


def test_every_error_is_a_public_forloeb_error() -> None:
    # Import every module so that every exception class is defined.
    for module in pkgutil.walk_packages(forloeb.__path__, "forloeb."):
        if module.name != "forloeb.__main__":
            importlib.import_module(module.name)
    errors = {cls for cls in _all_subclasses(forloeb.ForloebError) if cls.__module__.startswith("forloeb.")}
    assert errors, "no error classes found"
    missing = sorted(cls.__name__ for cls in errors if getattr(forloeb, cls.__name__, None) is not cls)
    assert missing == [], f"errors not exported from forloeb: {missing}"
