from storage import read_user_file


def test_reads_inside(tmp_path):
    (tmp_path / "a.txt").write_text("hi")
    assert read_user_file(str(tmp_path), "a.txt") == "hi"
