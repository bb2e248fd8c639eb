"""Reading a YAML config file strictly: a duplicate key is an error (YAML would keep the last
one silently), and aliases may not expand the document beyond a small size (a "billion
laughs" file would otherwise hang whatever walks it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from localagent.config.errors import ConfigError

# Nodes the document may hold once every alias is expanded; a real config has a few hundred.
MAX_EXPANDED_NODES = 10_000


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and runaway alias expansion."""

    def construct_document(self, node: yaml.Node) -> Any:
        size = _expanded_size(node, {})
        if size > MAX_EXPANDED_NODES:
            raise ConfigError(self.name, "", f"its anchors and aliases expand to more than "
                              f"{MAX_EXPANDED_NODES} values; write the values out or use "
                              "fewer aliases")
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *base` merges, and may be overridden: not a duplicate
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: the constructor reports it
                continue
            if first != key_node.start_mark.line + 1:
                mark = key_node.start_mark
                raise ConfigError(f"{self.name}:{mark.line + 1}:{mark.column + 1}", str(key),
                                  f"duplicate key (first set on line {first}); keep one")
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes ``node`` stands for with aliases expanded (shared nodes counted once
    per use; each node is measured once)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a recursive alias counts once instead of looping
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(item, sizes) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    sizes[id(node)] = size = min(size, MAX_EXPANDED_NODES + 1)
    return size


def load_yaml(text: str, where: Path | str) -> Any:
    """The data of a YAML config text; every problem is a ConfigError naming ``where`` (and
    the line, when there is one)."""
    loader = _StrictLoader(text)
    loader.name = str(where)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else str(where)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(place, "", f"invalid YAML: {problem}") from None
    finally:
        loader.dispose()
