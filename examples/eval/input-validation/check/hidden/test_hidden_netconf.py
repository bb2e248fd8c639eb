import pytest

from netconf import parse_port


def test_valid():
    assert parse_port("1") == 1
    assert parse_port("65535") == 65535
    assert parse_port(" 443 ") == 443


@pytest.mark.parametrize("bad", ["0", "65536", "-80", "http", "80.5", ""])
def test_invalid_has_a_clear_message(bad):
    with pytest.raises(ValueError) as caught:
        parse_port(bad)
    message = str(caught.value)
    assert repr(bad) in message or f'"{bad}"' in message
    assert "1-65535" in message
