"""Every setting is documented, and settings resolve env > file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from repository.settings import SETTINGS, Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_setting_is_documented(setting) -> None:  # noqa: ANN001
    assert f"| `{setting.name}` |" in DOC.read_text("utf-8"), f"{setting.name} is missing from docs/settings.md"


def test_documented_settings_exist() -> None:
    import re

    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", DOC.read_text("utf-8"), re.M))
    assert documented == {s.name for s in SETTINGS}


def test_precedence(tmp_path: Path) -> None:
    config = tmp_path / "huiju.toml"
    config.write_text('log_level = "WARNING"\nimport_batch_size = 50\n')
    settings = Settings(environ={"HUIJU_CONFIG": str(config), "HUIJU_LOG_LEVEL": "DEBUG"})
    assert settings["LOG_LEVEL"] == "DEBUG"  # env beats file
    assert settings["IMPORT_BATCH_SIZE"] == 50  # file beats default
    assert Settings(environ={})["IMPORT_BATCH_SIZE"] == 1000


def test_unknown_settings_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "huiju.toml"
    config.write_text('databse_url = "typo"\n')
    with pytest.raises(KeyError, match="DATABSE_URL"):
        Settings(environ={"HUIJU_CONFIG": str(config)})
    with pytest.raises(KeyError):
        Settings(environ={}, NOPE=1)


def test_defaults_derive_from_instance_path(tmp_path: Path) -> None:
    settings = Settings(environ={"HUIJU_INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/huiju.db"
    assert settings.index_path == tmp_path / "index"
    key = settings.secret_key()
    assert len(key) == 64 and settings.secret_key() == key  # generated once, then kept
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
