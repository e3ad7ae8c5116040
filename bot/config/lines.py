"""Where each key of ops.yml is written: a key path -> line map built from the YAML node tree.

A mistake is only useful with its own line. pydantic names a mistake by its location
(`("stack", "docker", "services", 3)`), and a cross-check by the path it builds; both are
looked up here, falling back to the nearest enclosing key that is written (a missing key is
reported at the line of the mapping it belongs in). The same walk finds a key written twice
in one mapping, which PyYAML would otherwise resolve silently to the last value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

KeyPath = tuple[Any, ...]


@dataclass(frozen=True)
class RepeatedKey:
    """A key given twice in one mapping: only the later value would count."""

    path: KeyPath
    line: int
    first_line: int


@dataclass
class KeyLines:
    """The line of every key path, and the keys written twice."""

    lines: dict[KeyPath, int] = field(default_factory=dict)
    repeated: list[RepeatedKey] = field(default_factory=list)

    @classmethod
    def of(cls, root: yaml.Node | None) -> KeyLines:
        found = cls()
        if root is not None:
            found._walk(root, ())
        return found

    def line_of(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest written ancestor; None when no part of it is written
        (a missing top-level section: "line 1" would send the reader to the wrong place)."""
        for end in range(len(path), 0 if path else -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def exact(self, path: KeyPath) -> int | None:
        """The line of `path` only if that very key is written."""
        return self.lines.get(path)

    def _walk(self, node: yaml.Node, path: KeyPath) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = _key_value(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.repeated.append(RepeatedKey((*path, key), line, seen[key]))
                    self._forget((*path, key))
                seen[key] = line
                self._walk(value_node, (*path, key))
                self.lines[(*path, key)] = line  # the key's line, not its value's
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def _forget(self, prefix: KeyPath) -> None:
        """A repeated key's later value wins: its lines replace the earlier value's."""
        for known in [p for p in self.lines if p[: len(prefix)] == prefix]:
            del self.lines[known]


def _key_value(node: yaml.Node) -> Any:
    """The key as yaml.safe_load reads it (`1:` is the int 1), so paths match the loaded data."""
    if isinstance(node, yaml.ScalarNode):
        try:
            return yaml.safe_load(yaml.serialize(node))
        except yaml.YAMLError:
            return node.value
    return node.value
