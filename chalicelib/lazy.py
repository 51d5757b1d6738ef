"""Modules imported when first used, not when their importer is (the cold start of app.py)."""

import importlib
from types import ModuleType


class _Deferred(ModuleType):
    """Stands for a module and imports it on the first attribute read, then forwards every read
    to it. The import goes through the import system, whose module locks make a second thread
    wait for the first to finish (with importlib's LazyLoader, Python 3.11's, the second thread
    reads the module half executed)."""

    def __getattr__(self, attribute: str):
        return getattr(importlib.import_module(self.__name__), attribute)


def module(name: str) -> ModuleType:
    """`name`, imported the first time one of its attributes is read: a Lambda function imports
    app.py whole, but each handler loads only the modules it uses."""
    return _Deferred(name)
