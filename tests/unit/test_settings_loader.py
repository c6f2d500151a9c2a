"""One TOML-file loader for the app's and the emulator's settings: same sources, same order."""

from __future__ import annotations

from pathlib import Path

import pytest

from naia.app.settings import NaiaSettings, TomlFileSettings, load_settings, load_with_file
from naia.emulator.settings import EmulatorSettings, load_emulator_settings


def test_both_settings_classes_share_the_loader() -> None:
    assert issubclass(NaiaSettings, TomlFileSettings)
    assert issubclass(EmulatorSettings, TomlFileSettings)


def test_emulator_overrides_beat_env_beat_file_beat_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "emulator.toml"
    toml.write_text('server_name = "FROM-FILE"\nlatency_ms = 5\nvalues_per_s = 7\n')
    monkeypatch.setenv("NAIA_EMULATOR__LATENCY_MS", "50")
    settings = load_emulator_settings(toml, values_per_s=70)
    assert type(settings) is EmulatorSettings
    assert (settings.server_name, settings.latency_ms, settings.values_per_s) == (
        "FROM-FILE",
        50,
        70,
    )
    assert load_emulator_settings().server_name == "NAIA-PI"


def test_app_overrides_beat_env_beat_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "naia.toml"
    toml.write_text('log_level = "DEBUG"\n[api]\nport = 7001\n[ingest]\nmax_messages = 9\n')
    monkeypatch.setenv("NAIA_API__PORT", "7002")
    settings = load_settings(toml, log_level="WARNING")
    assert (settings.log_level, settings.api.port, settings.ingest.max_messages) == (
        "WARNING",
        7002,
        9,
    )


@pytest.mark.parametrize(
    ("cls", "what"), [(NaiaSettings, "config file"), (EmulatorSettings, "emulator config file")]
)
def test_a_missing_file_is_named(cls: type[TomlFileSettings], what: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"^{what} not found: .*nope.toml"):
        load_with_file(cls, tmp_path / "nope.toml", what)
