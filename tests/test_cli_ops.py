"""The operator's command line (issue 17.5): ``check REGION.yaml``, ``token``, ``--version``,
the packaged sample region, an environment variable for every ``serve`` option, and help
text on every option."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tomllib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

import router
from router import cli
from router import serve as serve_module
from router.app import build_app
from router.config import load_region
from router.config.sample import REGION_YAML
from router.config.tokens import ApiChannel, Role, hash_token
from router.service.service import Service, Settings
from tests.test_service_serve import START_TIMEOUT_S, free_port, running, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
SERVE_VARIABLES = (
    "YHTEYS_CONFIG",
    "YHTEYS_HOST",
    "YHTEYS_PORT",
    "YHTEYS_DEMO",
    "YHTEYS_LOG_FORMAT",
    "YHTEYS_ACCESS_LOG",
    "YHTEYS_REDIS_URL",
    "YHTEYS_APPLY_REGION_CHANGES",
    "YHTEYS_NOTIFY_URL",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SERVE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def run_calls(clean_env: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Records what ``yhteys serve`` would run instead of serving."""
    calls: list[dict[str, Any]] = []

    def fake_run(config: str, **kwargs: Any) -> None:
        calls.append({"config": config, **kwargs})

    clean_env.setattr(serve_module, "run", fake_run)
    yield calls


# ------------------------------------------------------------------ check


def test_check_takes_the_region_file_as_an_argument_or_with_config(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\n", encoding="utf-8")
    assert cli.main(["check", "config/region.yaml"]) == 0
    (summary,) = capsys.readouterr().out.splitlines()
    assert summary.startswith("config/region.yaml: region ")
    assert cli.main(["check", "--config", "config/region.yaml"]) == 0
    assert capsys.readouterr().out == summary + "\n"
    assert cli.main(["check", str(broken)]) == 2
    assert str(broken) in capsys.readouterr().err
    assert cli.main(["check", str(broken), "--config", "config/region.yaml"]) == 2
    assert "two region files given" in capsys.readouterr().err
    # Without one named, the file serve would read: $YHTEYS_CONFIG first.
    clean_env.setenv("YHTEYS_CONFIG", str(broken))
    assert cli.main(["check"]) == 2
    assert str(broken) in capsys.readouterr().err


# ------------------------------------------------------------------ the packaged sample


def test_the_packaged_sample_is_the_repository_sample() -> None:
    """config/region.yaml is the source; the package carries a copy of it."""
    source = (ROOT / "config/region.yaml").read_bytes()
    assert REGION_YAML.read_bytes() == source, (
        "router/config/sample/region.yaml differs from config/region.yaml: "
        "cp config/region.yaml router/config/sample/region.yaml"
    )
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = pyproject["tool"]["setuptools"]["package-data"]
    assert "region.yaml" in data["router.config.sample"]


def test_without_a_region_file_commands_read_the_packaged_sample_from_any_directory(
    run_calls: list[dict[str, Any]],
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["serve"]) == 0  # where ./config/region.yaml exists, that one
    assert run_calls[-1]["config"] == "config/region.yaml"
    clean_env.chdir(tmp_path)
    assert cli.main(["check"]) == 0
    assert capsys.readouterr().out.startswith(f"{REGION_YAML}: region ")
    assert cli.main(["serve"]) == 0
    assert run_calls[-1]["config"] == str(REGION_YAML)


async def test_serve_from_another_directory_serves_the_packaged_sample(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A real process started outside the repository, configured by environment only."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "YHTEYS_PORT": str(port)}
    env["YHTEYS_LOG_FORMAT"] = "text"
    env["PYTHONPATH"] = str(ROOT)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "router.cli",
        "serve",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    async with running(proc):
        async with aiohttp.ClientSession() as session:
            await wait_healthy(session, url, proc)
            headers = {"Authorization": "Bearer demo-public"}
            async with session.get(f"{url}/api/public/services", headers=headers) as r:
                assert r.status == 200
                assert "nursing_advice" in await r.text()
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), START_TIMEOUT_S)
    text = err.decode()
    assert f"from {REGION_YAML} on http://127.0.0.1:{port}" in text, text


# ------------------------------------------------------------------ serve's environment


def test_every_serve_option_has_an_environment_variable_and_the_command_line_wins(
    run_calls: list[dict[str, Any]], clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert cli.main(["serve"]) == 0
    assert run_calls[-1] == {
        "config": "config/region.yaml",
        "host": "127.0.0.1",
        "port": 8080,
        "demo": False,
        "log_format": "json",
        "access_log": False,
        "redis_url": None,
        "notify_url": None,
        "apply_region_changes": False,
    }
    env = {
        "YHTEYS_CONFIG": str(tmp_path / "r.yaml"),
        "YHTEYS_HOST": "0.0.0.0",
        "YHTEYS_PORT": "9000",
        "YHTEYS_DEMO": "1",
        "YHTEYS_LOG_FORMAT": "text",
        "YHTEYS_ACCESS_LOG": "true",
        "YHTEYS_REDIS_URL": "redis://r:6379/0",
        "YHTEYS_APPLY_REGION_CHANGES": "yes",
        "YHTEYS_NOTIFY_URL": "http://sms/notify",
    }
    for name, value in env.items():
        clean_env.setenv(name, value)
    assert cli.main(["serve"]) == 0
    assert run_calls[-1] == {
        "config": env["YHTEYS_CONFIG"],
        "host": "0.0.0.0",
        "port": 9000,
        "demo": True,
        "log_format": "text",
        "access_log": True,
        "redis_url": "redis://r:6379/0",
        "notify_url": "http://sms/notify",
        "apply_region_changes": True,
    }
    assert (
        cli.main(
            [
                "serve",
                "--config",
                "config/region.yaml",
                "--host",
                "127.0.0.2",
                "--port",
                "8081",
                "--no-demo",
                "--log-format",
                "json",
                "--no-access-log",
                "--redis",
                "redis://other:6379/1",
                "--no-apply-region-changes",
                "--notify-url",
                "https://gw/n",
            ]
        )
        == 0
    )
    assert run_calls[-1] == {
        "config": "config/region.yaml",
        "host": "127.0.0.2",
        "port": 8081,
        "demo": False,
        "log_format": "json",
        "access_log": False,
        "redis_url": "redis://other:6379/1",
        "notify_url": "https://gw/n",
        "apply_region_changes": False,
    }
    # Each variable is named in its option's help.
    serve_help = _subparser(cli.build_parser(), "serve").format_help()
    for name in SERVE_VARIABLES:
        assert name in serve_help, name


def test_a_bad_environment_value_is_refused_naming_the_variable(
    run_calls: list[dict[str, Any]],
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("YHTEYS_PORT", "eighty")
    clean_env.setenv("YHTEYS_DEMO", "maybe")
    clean_env.setenv("YHTEYS_LOG_FORMAT", "xml")
    assert cli.main(["serve"]) == 2
    assert run_calls == []
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "yhteys serve: $YHTEYS_PORT: expected a port number 0..65535, got 'eighty'",
        "yhteys serve: $YHTEYS_LOG_FORMAT: expected one of json, text, got 'xml'",
        "yhteys serve: $YHTEYS_DEMO: expected one of 1, true, yes, on or 0, false, no, off "
        "(or empty), got 'maybe'",
    ]
    # The command line wins over a bad value too.
    assert cli.main(["serve", "--port", "1", "--no-demo", "--log-format", "text"]) == 0
    assert run_calls[-1]["port"] == 1


# ------------------------------------------------------------------ token


def _token(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str, str]:
    assert cli.main(["token", *argv]) == 0
    captured = capsys.readouterr()
    secret, entry = captured.out.splitlines()
    return secret, entry, captured.err


def _region_with(entries: list[str], tmp_path: Path) -> Path:
    text = (ROOT / "config/region.yaml").read_text(encoding="utf-8")
    assert "\ntokens:\n" in text
    path = tmp_path / "region.yaml"
    path.write_text(text.replace("\ntokens:\n", "\ntokens:\n" + "\n".join(entries) + "\n"))
    return path


async def test_a_generated_token_pasted_into_the_region_file_is_accepted_by_the_service(
    aiohttp_client: MakeClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret, entry, warning = _token(["--role", "supervisor", "--name", "ops-1"], capsys)
    assert len(secret) >= 43  # 32 random bytes, URL-safe base64
    assert entry == f"  - {{name: ops-1, role: supervisor, sha256: {hash_token(secret)}}}"
    assert "store it now" in warning and "shown only this once" in warning
    assert secret not in warning
    region = load_region(str(_region_with([entry], tmp_path)))
    region = replace(region, hours={}, after_hours={})
    client = await aiohttp_client(build_app(Service(region, Settings())))
    r = await client.get("/api/supervisor/stats", headers={"Authorization": f"Bearer {secret}"})
    assert r.status == 200, await r.text()
    r = await client.get("/api/supervisor/stats", headers={"Authorization": "Bearer nope"})
    assert r.status == 401
    # Each run draws a new secret.
    again, _, _ = _token(["--role", "supervisor", "--name", "ops-2"], capsys)
    assert again != secret


def test_agent_and_integration_tokens_make_the_entries_the_loader_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, agent, _ = _token(["--role", "agent", "--name", "agent-a001-2", "--agent", "a001"], capsys)
    argv = ["--role", "integration", "--name", "true", "--channel", "workitems"]
    _, omaolo, _ = _token([*argv, "--channel", "phone", "--source", "omaolo"], capsys)
    region = load_region(str(_region_with([agent, omaolo], tmp_path)))
    by_name = {t.name: t for t in region.tokens}
    assert by_name["agent-a001-2"].role is Role.AGENT and by_name["agent-a001-2"].agent == "a001"
    made = by_name["true"]  # quoted in the YAML, so still the name, not a boolean
    assert made.role is Role.INTEGRATION
    assert made.channels == {ApiChannel.WORKITEMS, ApiChannel.PHONE}
    assert made.sources == {"omaolo"}


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--role", "agent", "--name", "x"], "--role agent needs --agent ID"),
        (["--role", "integration", "--name", "x"], "--role integration needs --channel"),
        (["--role", "public", "--name", "x", "--agent", "a001"], "only agent tokens name"),
        (["--role", "public", "--name", "x", "--channel", "web"], "only integration tokens"),
        (["--role", "public", "--name", "-x y"], "--name '-x y': expected an id"),
        (["--role", "public", "--name", "x", "--bytes", "8"], "at least 16 random bytes"),
    ],
)
def test_a_token_the_region_file_would_refuse_is_not_generated(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["token", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no secret printed
    assert problem in captured.err


# ------------------------------------------------------------------ version and help


def test_version_is_the_package_version_from_pyproject(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    version = pyproject["project"]["version"]
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"yhteys {version}\n"
    assert metadata.version("yhteys") == router.__version__ == version


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise AssertionError(f"no sub-command {name}")


def _walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")
        else:
            yield path, action


def test_every_option_of_every_command_has_help_text() -> None:
    missing = [
        f"{path} {'/'.join(action.option_strings) or action.dest}"
        for path, action in _walk(cli.build_parser(), "yhteys")
        if not action.help
    ]
    assert missing == []
    commands = {path for path, _ in _walk(cli.build_parser(), "yhteys")}
    assert {"yhteys serve", "yhteys check", "yhteys token", "yhteys log"} <= commands
