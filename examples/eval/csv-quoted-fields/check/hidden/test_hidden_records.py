from records import parse_row, total


def test_quoted_commas():
    assert parse_row('"Smith, John",42\n') == ["Smith, John", "42"]
    assert parse_row('a,"say ""hi""",b') == ["a", 'say "hi"', "b"]


def test_total_with_quoted_names():
    assert total(['"Doe, J",1', '"Roe, R",2'], 1) == 3.0
