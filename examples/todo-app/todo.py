"""A tiny to-do list."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Item:
    id: int
    title: str
    done: bool = False


@dataclass
class TodoList:
    items: list[Item] = field(default_factory=list)

    def add(self, title: str) -> Item:
        item = Item(id=len(self.items) + 1, title=title.strip())
        self.items.append(item)
        return item

    def complete(self, item_id: int) -> None:
        for item in self.items:
            if item.id == item_id:
                item.done = True
                return
        raise KeyError(item_id)

    def pending(self) -> list[Item]:
        """Items not done yet, in the order they were added."""
        return [item for item in self.items if item.done]
