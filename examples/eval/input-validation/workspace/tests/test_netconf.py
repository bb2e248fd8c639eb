from netconf import parse_port


def test_parses():
    assert parse_port("8080") == 8080
