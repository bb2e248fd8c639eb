import pytest

from settings import load_config


def test_defaults():
    assert load_config({})["timeout"] == 30


def test_unknown_key():
    with pytest.raises(ValueError):
        load_config({"colour": "red"})
