"""The control-plane commands refuse a bad store setting clearly (exit 2, nothing written)."""
import pytest

from image_repair.cli import main


@pytest.mark.parametrize("argv", [["list"], ["status", "repair-m-x-0"], ["janitor", "--dry-run"]])
def test_a_bad_store_setting_is_a_clear_error(argv, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("IMAGE_REPAIR_STORE", str(tmp_path / "state.db"))   # a path, not sqlite:///path
    assert main(argv) == 2
    assert "expected sqlite:///path or tablestore://instance/table" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
