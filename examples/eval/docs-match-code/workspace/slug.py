import re


def slugify(text, sep="-", limit=None):
    """Lower-case words of ``text`` joined by ``sep``, cut to ``limit`` characters."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = sep.join(words)
    return slug[:limit].rstrip(sep) if limit else slug
