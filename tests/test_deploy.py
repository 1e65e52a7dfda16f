"""deploy/: the systemd unit and its settings file name the real command and real settings (issue #12)."""

from __future__ import annotations

import configparser
import re
import tomllib
from dataclasses import fields

from bot.client import SHUTDOWN_GRACE
from bot.settings import Settings

from .helpers import ROOT

UNIT = ROOT / "deploy" / "postbot@.service"
ENV_EXAMPLE = ROOT / "deploy" / "postbot.env.example"
SETTINGS = {f.name.upper() for f in fields(Settings)}


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys as written
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def assignments(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    return found


def test_the_unit_runs_the_real_command_as_a_stoppable_service():
    service = unit()["Service"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    executable, *args = service["ExecStart"].split()
    assert executable.endswith("/.venv/bin/postbot") and "postbot" in scripts and args == ["run"]
    assert executable.startswith(service["WorkingDirectory"] + "/")
    assert service["KillSignal"] == "SIGTERM"  # postbot's graceful shutdown
    assert float(service["TimeoutStopSec"]) > SHUTDOWN_GRACE + 10  # the grace for work in flight, then the flush
    assert service["Restart"] == "on-failure"  # a clean stop exits 0 and stays stopped
    assert "%i" in unit()["Unit"]["Description"]


def test_every_setting_the_unit_and_its_env_file_name_is_a_real_one():
    text = UNIT.read_text(encoding="utf-8").splitlines()
    environment = assignments([line.split("=", 1)[1] for line in text if line.startswith("Environment=")])
    assert set(environment) <= SETTINGS, set(environment) - SETTINGS
    assert environment["SHARD_IDS"] == "%i"
    example = assignments(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines())
    assert {"DISCORD_TOKEN", "DATABASE_URL", "SHARD_COUNT"} <= set(example) <= SETTINGS, set(example) - SETTINGS
    commented = assignments([line.lstrip("# ") for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines() if "=" in line])
    assert "METRICS_PORT" in commented
    documented = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in set(environment) | set(example) | {"METRICS_PORT", "METRICS_HOST", "DATABASE_POOL_SIZE"}:
        assert f"{name}=" in documented, f"{name} is not described in .env.example"


def test_the_instance_names_of_the_examples_are_valid_shard_ids(monkeypatch, tmp_path):
    """postbot@0-1 and postbot@2-3 with SHARD_COUNT=4; postbot@all with no count."""
    for instance, count, expected in (("0-1", "4", (0, 1)), ("2-3", "4", (2, 3)), ("3", "4", (3,)), ("all", "", None)):
        monkeypatch.setenv("SHARD_IDS", instance)
        monkeypatch.setenv("SHARD_COUNT", count)
        settings = Settings.from_env(tmp_path / "none.env")
        assert settings.shard_ids == expected
    text = UNIT.read_text(encoding="utf-8")
    assert "postbot@0-1 postbot@2-3" in text and "postbot@all" in text


def test_every_setting_is_in_the_readme_table_and_in_env_example():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    configuration = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {name for line in configuration.splitlines() if line.startswith("| `") for name in re.findall(r"`([A-Z_]+)`", line.split("|")[1])}
    assert rows == SETTINGS, (SETTINGS - rows, rows - SETTINGS)
    documented = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert [name for name in sorted(SETTINGS) if f"{name}=" not in documented] == []


def test_the_readme_tells_an_operator_how_to_run_it_in_production():
    """The Production section names the real command, settings, endpoints, permissions and files."""
    from bot.client import INVITE_PERMISSIONS  # noqa: PLC0415

    production = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Production", 1)[1].split("\n## ", 1)[0]
    for needed in (
        "postbot invite", str(INVITE_PERMISSIONS.value), "Message Content", "MESSAGE_CONTENT_INTENT=false", "SHARD_COUNT", "SHARD_IDS",
        "METRICS_PORT", "METRICS_HOST", "/healthz", "/readyz", "/metrics", "LOG_FORMAT=json", "deploy/postbot@.service",
        "postbot export", "pg_dump", "pg_restore", "DATABASE_POOL_SIZE",
    ):
        assert needed in production, needed
    for name, granted in INVITE_PERMISSIONS:  # every permission of the invite is explained
        if granted:
            label = {"read_messages": "View Channels"}.get(name, name.replace("_", " ").title().replace(" In ", " in "))
            assert f"| {label} |" in production, label
