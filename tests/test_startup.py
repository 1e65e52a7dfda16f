"""`postbot run` and `postbot invite` as an operator meets them (issue #12): a start-up failure is one
line saying what to do (no network, a bad token, the missing intent, the database down), logs are
discord.py's or JSON lines, discord.py's voice warnings are gone, and the invite link is exact.

discord.py's real HTTP and gateway code runs against tests/fake_discord.py on 127.0.0.1 (or against
a closed port there: no network); the database-down case runs the real `postbot run` in its own
process, and so does the run from start to SIGTERM (readiness over HTTP, exit code 0).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import discord
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.client import INVITE_PERMISSIONS, startup_error

from .fake_discord import APPLICATION_ID, GOOD_TOKEN, FakeDiscord
from .helpers import ROOT

PERMISSIONS = 309237763072  # View Channels, Send Messages, Send Messages in Threads, Create Public Threads, Embed Links, Read Message History, Attach Files
runner = CliRunner()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def operator(monkeypatch, tmp_path):
    """A fresh directory, a SQLite store, a token, warnings and errors only in the logs."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'postbot.db'}")
    monkeypatch.setenv("DISCORD_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    for name in ("SHARD_COUNT", "SHARD_IDS", "METRICS_PORT", "LOG_FORMAT", "MESSAGE_CONTENT_INTENT"):
        monkeypatch.delenv(name, raising=False)
    yield
    import logging  # noqa: PLC0415

    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "postbot", False)]:
        root.removeHandler(handler)  # `run` installed it; the next test's output is its own


@pytest.fixture
def fake_discord(monkeypatch):
    with FakeDiscord() as server:
        monkeypatch.setattr(discord.http.Route, "BASE", server.api)
        yield server


def lines(result) -> list[str]:
    return result.output.strip().splitlines()


def test_run_without_network_is_one_line(monkeypatch):
    port = closed_port()
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 1
    [line] = lines(result)
    assert line.startswith(f"error: cannot reach Discord at 127.0.0.1: Connect call failed ('127.0.0.1', {port})"), line
    assert line.endswith("(check the network, DNS or proxy, then start again)")


def test_a_dns_failure_is_the_same_one_line():
    """What `postbot run` met without network in the issue: aiohttp's ClientConnectorDNSError."""
    from aiohttp import ClientConnectorDNSError  # noqa: PLC0415
    from aiohttp.client_reqrep import ConnectionKey  # noqa: PLC0415

    key = ConnectionKey("discord.com", 443, True, True, None, None, None)
    error = ClientConnectorDNSError(key, OSError(-3, "Temporary failure in name resolution"))
    assert str(startup_error(error)) == (
        "cannot reach Discord at discord.com: Temporary failure in name resolution (check the network, DNS or proxy, then start again)"
    )


def test_run_with_a_bad_token_is_one_line(fake_discord, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "not-the-token")
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 1
    assert lines(result) == ["error: Discord rejected DISCORD_TOKEN: copy a fresh token from the developer portal (Bot -> Reset Token)."]


def test_run_without_the_message_content_intent_is_one_line(fake_discord):
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 1
    assert fake_discord.identified == 1  # it got as far as the gateway
    assert lines(result) == [
        "error: the Message Content intent is not enabled for this bot: switch it on in the developer portal "
        "(Bot -> Privileged Gateway Intents) or set MESSAGE_CONTENT_INTENT=false."
    ]


def test_logs_are_json_lines_and_voice_libraries_are_not_mentioned(fake_discord, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    monkeypatch.setenv("LOG_FORMAT", "json")
    result = runner.invoke(app, ["run"])
    *logged, error = lines(result)
    assert error.startswith("error: the Message Content intent is not enabled")
    records = [json.loads(line) for line in logged]  # every other line is one JSON object
    assert {"time", "level", "logger", "message"} <= set(records[0])
    messages = [r["message"] for r in records]
    assert "logging in using static token" in messages
    assert any(m.startswith("starting with shards chosen by Discord") for m in messages)
    assert "PyNaCl" not in result.output and "davey" not in result.output and "voice" not in result.output


def test_run_with_the_database_down_is_one_line():
    """The real `postbot run` in its own process; the database is checked before Discord is called."""
    port = closed_port()
    env = {**os.environ, "DISCORD_TOKEN": "any", "DATABASE_URL": f"postgresql://postbot:secret@127.0.0.1:{port}/postbot"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 1
    [line] = (done.stdout + done.stderr).strip().splitlines()
    assert line.startswith(f"error: cannot use the database postgresql+psycopg://postbot:***@127.0.0.1:{port}/postbot: connection failed"), line
    assert "Connection refused" in line and "secret" not in line
    assert line.endswith("(check DATABASE_URL and that the server runs)")


def test_the_command_line_with_the_database_down_is_one_line(monkeypatch):
    """`postbot db upgrade` (and every command that opens the store) says it in one line too."""
    port = closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postbot:secret@127.0.0.1:{port}/postbot")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    [line] = lines(result)
    assert line.startswith(f"error: cannot open the database postgresql+psycopg://postbot:***@127.0.0.1:{port}/postbot: connection failed"), line
    assert "Connection refused" in line and "secret" not in line and "sqlalche.me" not in line


# --------------------------------------------------------------------------- invite


def test_the_invite_asks_for_exactly_the_permissions_the_bot_needs():
    assert INVITE_PERMISSIONS.value == PERMISSIONS
    assert {name for name, granted in INVITE_PERMISSIONS if granted} == {  # read_messages: discord.py's name for View Channels
        "read_messages", "send_messages", "send_messages_in_threads", "create_public_threads", "embed_links",
        "read_message_history", "attach_files",
    }


def test_invite_with_a_client_id_works_offline(monkeypatch):
    monkeypatch.delenv("DISCORD_TOKEN")
    result = runner.invoke(app, ["invite", "--client-id", "123456789012345678"])
    assert result.exit_code == 0
    assert lines(result) == [
        f"https://discord.com/oauth2/authorize?client_id=123456789012345678&scope=bot+applications.commands&permissions={PERMISSIONS}"
    ]


def test_invite_asks_discord_for_the_tokens_application(fake_discord):
    result = runner.invoke(app, ["invite"])
    assert result.exit_code == 0, result.output
    assert lines(result) == [
        f"https://discord.com/oauth2/authorize?client_id={APPLICATION_ID}&scope=bot+applications.commands&permissions={PERMISSIONS}"
    ]


def test_invite_errors_are_one_line(fake_discord, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "wrong")
    result = runner.invoke(app, ["invite"])
    assert result.exit_code == 1
    assert lines(result) == [
        "error: Discord rejected DISCORD_TOKEN: copy a fresh token from the developer portal (Bot -> Reset Token). "
        "Or give --client-id to work offline."
    ]
    monkeypatch.delenv("DISCORD_TOKEN")
    result = runner.invoke(app, ["invite"])
    assert lines(result) == ["error: give --client-id (developer portal -> General Information -> Application ID) or set DISCORD_TOKEN"]


# --------------------------------------------------------------------------- a run, start to stop


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""  # not listening yet


def test_postbot_run_is_not_ready_until_connected_then_sigterm_exits_0(fake_discord, tmp_path):
    """The real `postbot run` in its own process, as systemd runs it: /readyz says why it is not ready
    while it connects, then ready; SIGTERM stops it gracefully with exit code 0 (Restart=on-failure
    leaves it stopped) and JSON log lines saying so."""
    port = closed_port()
    env = {
        **os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'postbot.db'}", "MESSAGE_CONTENT_INTENT": "false",
        "METRICS_PORT": str(port), "LOG_FORMAT": "json", "LOG_LEVEL": "INFO",
    }
    log = tmp_path / "run.log"
    with open(log, "wb") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.startup_child", fake_discord.api, "run"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=errors, stderr=subprocess.STDOUT,
        )
    try:
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            answer = get(f"http://127.0.0.1:{port}/readyz")
            if answer[0] and (not seen or seen[-1] != answer):
                seen.append(answer)
            if answer[0] == 200:
                break
            time.sleep(0.05)
        assert seen and seen[-1] == (200, "ready\n"), (seen, log.read_text(errors="replace")[-3000:])
        assert (503, "not ready: connecting to Discord\n") in seen, seen
        assert get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == 0, log.read_text(errors="replace")[-3000:]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    records = [json.loads(line) for line in log.read_text(errors="replace").splitlines()]  # every line one JSON object
    messages = [r["message"] for r in records]
    assert "SIGTERM: shutting down" in messages and messages[-1] == "stopped", messages[-12:]
    assert fake_discord.identified == 1 and not any(r["level"] in ("ERROR", "CRITICAL") or "exception" in r for r in records), records


def test_run_with_the_metrics_port_taken_is_one_line(fake_discord, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("METRICS_PORT", str(port))
        monkeypatch.setenv("MESSAGE_CONTENT_INTENT", "false")
        result = runner.invoke(app, ["run"])
    assert result.exit_code == 1
    [line] = lines(result)
    assert line.startswith(f"error: cannot serve metrics on 127.0.0.1:{port}: "), line
    assert line.endswith("; set METRICS_PORT to a free port"), line
