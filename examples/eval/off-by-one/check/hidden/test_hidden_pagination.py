from pagination import paginate


def test_every_page():
    items = list(range(25))
    assert paginate(items, 2) == list(range(10, 20))
    assert paginate(items, 3) == [20, 21, 22, 23, 24]
    assert paginate(items, 4) == []
    assert paginate(items, 1, per_page=7) == list(range(7))
