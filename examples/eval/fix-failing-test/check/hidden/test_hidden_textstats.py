from textstats import word_count


def test_empty_and_blank():
    assert word_count("") == 0
    assert word_count("   \n\t ") == 0


def test_mixed_whitespace():
    assert word_count(" a\n\nb  c ") == 3
