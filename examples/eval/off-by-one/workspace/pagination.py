def paginate(items, page, per_page=10):
    """Items of page ``page`` (numbered from 1), ``per_page`` to a page."""
    start = page * per_page
    return items[start:start + per_page]


def page_count(total, per_page=10):
    """How many pages ``total`` items fill."""
    return -(-total // per_page)
