import doctest

import intervals
from intervals import merge_intervals


def test_docstring_examples():
    assert doctest.testmod(intervals).failed == 0


def test_touching_and_nested():
    assert merge_intervals([(1, 3), (3, 5)]) == [(1, 5)]
    assert merge_intervals([(1, 10), (2, 3), (4, 5)]) == [(1, 10)]
    assert merge_intervals([(7, 8), (1, 2)]) == [(1, 2), (7, 8)]
    assert merge_intervals([(4, 4)]) == [(4, 4)]
