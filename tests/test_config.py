"""Settings are read once: the key file behind an empty SMEAI_SECRET_KEY is read once per process."""

from pathlib import Path

from smeai.config import Settings, secret_key


def test_the_kept_key_is_made_once_and_read_once(tmp_path, monkeypatch):
    settings = Settings(secret_key="", var_dir=tmp_path / "var")
    first = secret_key(settings)
    assert (tmp_path / "var" / "secret_key").read_text() == first
    reads = []
    real = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: reads.append(self) or real(self, *a, **k))
    assert [secret_key(settings) for _ in range(3)] == [first] * 3
    assert reads == []  # no disk read per page


def test_a_configured_key_wins_and_folders_keep_their_own_key(tmp_path):
    assert secret_key(Settings(secret_key="configured", var_dir=tmp_path)) == "configured"
    one, two = (secret_key(Settings(secret_key="", var_dir=tmp_path / name)) for name in ("a", "b"))
    assert one != two
