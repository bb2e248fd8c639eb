from pagination import page_count, paginate


def test_first_page():
    assert paginate(list(range(25)), 1) == list(range(10))


def test_page_count():
    assert page_count(25) == 3
    assert page_count(0) == 0
