"""The README's examples run as doctests; its text names the real signature; the
code is unchanged."""
import doctest
import hashlib
import re
import sys
from pathlib import Path

sys.path.insert(0, ".")
readme = Path("README.md").read_text()
failed, tried = doctest.testfile("README.md", module_relative=False)
assert tried >= 3, f"README.md has only {tried} examples"
assert failed == 0, f"{failed} README examples fail"
assert "max_length" not in readme, "README still names max_length"
assert re.search(r'sep="-"', readme), "README does not give sep's real default"
digest = hashlib.sha256(Path("slug.py").read_bytes()).hexdigest()
assert digest == sys.argv[1], "slug.py was changed"
print("docs match")
