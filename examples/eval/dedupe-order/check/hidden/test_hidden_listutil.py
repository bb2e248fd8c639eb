from listutil import dedupe


def test_order_kept():
    assert dedupe([3, 1, 3, 2, 1]) == [3, 1, 2]
    assert dedupe("banana") == ["b", "a", "n"]


def test_unhashable():
    assert dedupe([[1], [2], [1]]) == [[1], [2]]
