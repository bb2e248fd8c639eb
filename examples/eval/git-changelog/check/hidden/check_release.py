import re
import sys
from pathlib import Path

sys.path.insert(0, ".")
import tool

assert tool.__version__ == "1.1.0", tool.__version__
log = Path("CHANGELOG.md").read_text()
versions = re.findall(r"^## (\S+)", log, re.M)
assert versions[:2] == ["1.1.0", "1.0.0"], versions
newest = log.split("## 1.1.0", 1)[1].split("## 1.0.0", 1)[0]
assert "--json" in newest, newest
print("release ok")
