CHECKS = {
    "timeout": lambda v: isinstance(v, int) and v > 0,
    "verbose": lambda v: isinstance(v, bool),
}


def validate(config):
    for key, value in config.items():
        if key not in CHECKS:
            raise ValueError(f"unknown setting {key!r}")
        if not CHECKS[key](value):
            raise ValueError(f"bad value for {key}: {value!r}")
