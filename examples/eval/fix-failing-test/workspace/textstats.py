def word_count(text: str) -> int:
    """How many words ``text`` has; words are separated by any whitespace."""
    return len(text.split(" "))


def longest_word(text: str) -> str:
    """The longest word (the first one on a tie); "" for no words."""
    words = text.split()
    return max(words, key=len) if words else ""
