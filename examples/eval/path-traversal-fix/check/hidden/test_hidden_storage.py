import os

import pytest

from storage import read_user_file


@pytest.fixture
def base(tmp_path):
    root = tmp_path / "base"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "b.txt").write_text("inner")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    return root


def test_inside_still_works(base):
    assert read_user_file(str(base), "sub/b.txt") == "inner"
    assert read_user_file(str(base), "sub/../sub/b.txt") == "inner"


@pytest.mark.parametrize("name", ["../secret.txt", "sub/../../secret.txt", "link.txt"])
def test_escapes_are_refused(base, name):
    with pytest.raises(ValueError):
        read_user_file(str(base), name)


def test_absolute_path_refused(base, tmp_path):
    with pytest.raises(ValueError):
        read_user_file(str(base), str(tmp_path / "secret.txt"))
