"""YAML read with the line of every value, so a mistake can be named as `file:line`.

Timestamps stay strings (Herald parses them, with their offset), and a key given twice is an
error rather than a silent overwrite.
"""

from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


class YamlError(Exception):
    """A file that is not valid YAML, or not the shape expected; the message has file:line."""


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type: dates stay the strings written."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class Located:
    """A loaded document and the line (1-based) each path within it starts on."""

    def __init__(self, source: str, data: Any, lines: dict[Path_, int]):
        self.source = source
        self.data = data
        self.lines = lines

    def line(self, path: Path_) -> int | None:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path)

    def where(self, path: Path_) -> str:
        line = self.line(path)
        return f"{self.source}:{line}" if line else self.source


def load(path: Path) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise YamlError(f"{path}: cannot read: {error}") from None
    return loads(text, str(path))


def loads(text: str, source: str = "<input>") -> Located:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = error.problem or error.context or "invalid YAML"
        raise YamlError(f"{source}{line}: {problem}") from None
    except yaml.YAMLError as error:
        raise YamlError(f"{source}: {error}") from None
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    data = _construct(node, (), lines, loader, source) if node is not None else None
    return Located(source, data, lines)


def _construct(node, path: Path_, lines: dict, loader: _Loader, source: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)  # a mapping's entry: its key's line
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            where = f"{source}:{key_node.start_mark.line + 1}"
            if not isinstance(key, str):
                raise YamlError(f"{where}: keys must be text, not {key!r}")
            if key in result:
                raise YamlError(f"{where}: {key!r} is given twice")
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, (*path, key), lines, loader, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, (*path, index), lines, loader, source)
            for index, item in enumerate(node.value)
        ]
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as error:
        raise YamlError(f"{source}:{node.start_mark.line + 1}: {error.problem}") from None
