def parse_port(value):
    """The TCP port in ``value`` (a string such as "8080")."""
    return int(value)
