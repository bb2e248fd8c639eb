from textstats import longest_word, word_count


def test_simple():
    assert word_count("one two three") == 3


def test_multiple_spaces():
    assert word_count("one  two\tthree\n") == 3


def test_longest():
    assert longest_word("a bb ccc dd") == "ccc"
