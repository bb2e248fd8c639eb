import os


def read_user_file(base_dir, name):
    """The text of the file ``name`` inside ``base_dir``."""
    with open(os.path.join(base_dir, name), encoding="utf-8") as handle:
        return handle.read()
