import pytest

from settings import load_config


def test_retries():
    assert load_config({})["retries"] == 3
    assert load_config({"retries": 5})["retries"] == 5
    assert load_config({"retries": 0})["retries"] == 0


def test_bad_retries():
    with pytest.raises(ValueError):
        load_config({"retries": -1})


def test_unknown_still_refused():
    with pytest.raises(ValueError):
        load_config({"colour": "red"})
