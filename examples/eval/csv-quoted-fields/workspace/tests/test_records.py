from records import parse_row, total


def test_plain():
    assert parse_row("a,b,c\n") == ["a", "b", "c"]


def test_total():
    assert total(["x,1", "y,2.5"], 1) == 3.5
