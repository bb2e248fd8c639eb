from listutil import dedupe


def test_small():
    assert sorted(dedupe([1, 1, 2])) == [1, 2]
