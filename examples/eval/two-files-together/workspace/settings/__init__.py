from settings.defaults import DEFAULTS
from settings.validate import validate


def load_config(values):
    """The defaults updated with ``values``, validated."""
    config = {**DEFAULTS, **values}
    validate(config)
    return config
