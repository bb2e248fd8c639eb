import pytest
from todo import TodoList


def test_add_numbers_items_from_one() -> None:
    todos = TodoList()
    assert todos.add(" buy milk ").id == 1
    assert todos.add("call mum").title == "call mum"


def test_pending_lists_what_is_not_done() -> None:
    todos = TodoList()
    todos.add("buy milk")
    todos.add("call mum")
    todos.complete(1)
    assert [item.title for item in todos.pending()] == ["call mum"]


def test_completing_an_unknown_item_fails() -> None:
    with pytest.raises(KeyError):
        TodoList().complete(7)
