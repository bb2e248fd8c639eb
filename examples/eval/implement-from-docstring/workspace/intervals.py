def merge_intervals(intervals):
    """Merge overlapping or touching closed intervals.

    ``intervals`` is a list of (start, end) pairs with start <= end, in any order.
    Return the merged intervals as a list of (start, end) tuples sorted by start.
    Intervals that overlap or touch ((1, 3) and (3, 5)) become one: (1, 5).

    >>> merge_intervals([(5, 6), (1, 3), (2, 4)])
    [(1, 4), (5, 6)]
    >>> merge_intervals([])
    []
    """
    raise NotImplementedError
