"""Modules imported when first used, not when their importer is (the cold start of app.py)."""

import importlib.util
import sys
from types import ModuleType


def module(name: str) -> ModuleType:
    """`name`, executed the first time one of its attributes is read (importlib's LazyLoader):
    a Lambda function imports app.py whole, but each handler loads only the modules it uses."""
    found = sys.modules.get(name)
    if found is not None:
        return found
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    lazy = importlib.util.module_from_spec(spec)
    sys.modules[name] = lazy
    loader.exec_module(lazy)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, lazy)
    return lazy
