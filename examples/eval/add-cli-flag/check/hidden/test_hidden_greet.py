import subprocess
import sys
from pathlib import Path


def run(*args):
    done = subprocess.run([sys.executable, "greet.py", *args], capture_output=True,
                          text=True, check=True)
    return done.stdout


def test_shout_flag():
    assert run("--shout", "Ada") == "HELLO, ADA!\n"
    assert run("Ada", "--shout", "--greeting", "Hey") == "HEY, ADA!\n"


def test_without_the_flag_unchanged():
    assert run("Ada") == "Hello, Ada!\n"


def test_a_test_of_the_flag_was_added():
    assert "shout" in Path("tests/test_greet.py").read_text()
