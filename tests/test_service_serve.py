"""``yhteys serve``: refusing unsafe settings before binding, and a graceful SIGTERM in a
real process (loopback only, bounded timeouts everywhere)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import prometheus_client
import pytest
from aiohttp import web

from router import cli
from router.serve import is_loopback

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@pytest.fixture
def no_binding(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Records ``web.run_app`` calls instead of serving; restores what ``run`` changes."""
    calls: list[dict[str, Any]] = []

    def fake_run_app(app: object, **kwargs: Any) -> None:
        loop = kwargs.get("loop")
        if isinstance(loop, asyncio.AbstractEventLoop):
            loop.close()
        calls.append(kwargs)

    monkeypatch.setattr(web, "run_app", fake_run_app)
    monkeypatch.setattr(gc, "freeze", lambda: None)
    monkeypatch.setattr(prometheus_client, "disable_created_metrics", lambda: None)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield calls
    root.handlers[:], level = saved
    root.setLevel(level)
    logging.captureWarnings(False)


def test_demo_tokens_off_loopback_are_refused_before_binding(
    no_binding: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    handlers = logging.getLogger().handlers[:]
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert no_binding == []  # never got as far as listening
    assert logging.getLogger().handlers == handlers  # nor touched logging
    assert err.startswith("yhteys serve: refusing to listen on 0.0.0.0")
    assert "published demo token" in err
    for name in ("supervisor", "telephony", "website", "omaolo", "public"):
        assert name in err
    assert "45 agent tokens agent-a001 … agent-kp02" in err
    assert "tokens:" in err and "sha256" in err  # replace them with your own hashes
    assert "127.0.0.1" in err and "--demo" in err  # or stay on loopback, or say it's a demo


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_demo_tokens_on_loopback_are_served(no_binding: list[dict[str, Any]], host: str) -> None:
    assert cli.main(["serve", "--host", host, "--port", "1"]) == 0
    (call,) = no_binding
    assert call["host"] == host and call["port"] == 1
    assert call["access_log"] is None  # the access log halves throughput: off by default


def test_demo_flag_allows_demo_tokens_on_any_address(no_binding: list[dict[str, Any]]) -> None:
    assert cli.main(["serve", "--host", "0.0.0.0", "--demo", "--port", "1"]) == 0
    assert [c["host"] for c in no_binding] == ["0.0.0.0"]


def test_memory_mode_says_once_at_start_up_that_a_restart_loses_everything(
    no_binding: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("YHTEYS_REDIS_URL", raising=False)
    assert cli.main(["serve", "--host", "127.0.0.1", "--port", "1"]) == 0
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    memory = [x for x in logged if "memory mode" in x["message"]]
    assert len(memory) == 1, logged
    (said,) = memory
    assert said["level"] == "warning"
    assert "lost when it stops or restarts" in said["message"]
    assert "--redis" in said["message"]  # and how to keep them
    assert len(no_binding) == 1  # it still serves


def test_a_broken_region_file_exits_2(
    no_binding: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "region.yaml"
    bad.write_text("name: x\nagents: 3\n")
    assert cli.main(["serve", "--config", str(bad)]) == 2
    assert no_binding == []
    assert str(bad) in capsys.readouterr().err


def test_loopback_addresses() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "10.0.0.1", "example.org", "localhost.example.org"):
        assert not is_loopback(host), host


# ------------------------------------------------------------------ a real process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def start(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "router.cli",
        "serve",
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_healthy(session: aiohttp.ClientSession, url: str, proc: Any) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            _, err = await proc.communicate()
            pytest.fail(f"the service exited with {proc.returncode}: {err.decode()}")
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with session.get(f"{url}/healthz") as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.05)
    pytest.fail(f"the service did not answer /healthz within {START_TIMEOUT_S} s")


@contextlib.asynccontextmanager
async def running(proc: asyncio.subprocess.Process) -> Any:
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def json_lines(err: bytes) -> list[dict[str, Any]]:
    entries = []
    for line in err.decode().splitlines():
        if line.strip():
            entry = json.loads(line)  # every line on stderr is one JSON object
            assert {"time", "level", "logger", "message"} <= set(entry), entry
            entries.append(entry)
    return entries


async def test_sigterm_closes_websockets_with_1001_and_exits_0() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = await start("--port", str(port))
    async with running(proc):
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await wait_healthy(session, url, proc)
            ready = await (await session.get(f"{url}/readyz")).json()
            assert ready["status"] == "ready"
            ws = await session.ws_connect(f"{url}/api/agent/ws?access_token=demo-agent-a001")
            state = await asyncio.wait_for(ws.receive_json(), 5)
            assert state["type"] == "state" and state["agent"]["id"] == "a001"
            await ws.send_json({"type": "login", "id": 1})
            ack = await asyncio.wait_for(ws.receive_json(), 5)
            while ack["type"] != "ack":
                ack = await asyncio.wait_for(ws.receive_json(), 5)
            stopping = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            msg = await asyncio.wait_for(ws.receive(), 5)
            while msg.type is aiohttp.WSMsgType.TEXT:  # anything queued is sent first
                msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type is aiohttp.WSMsgType.CLOSE, msg
            assert msg.data == 1001
            assert msg.extra == "service shutting down"
            assert ws.close_code == 1001
        out, err = await asyncio.wait_for(proc.communicate(), STOP_TIMEOUT_S)
        assert proc.returncode == 0, err.decode()
        assert time.monotonic() - stopping < 5
    entries = json_lines(err)
    messages = [e["message"] for e in entries]
    assert any(m.startswith("serving ") for m in messages), messages
    assert any(m.startswith("dispatch loop stopped") for m in messages), messages
    assert messages[-1] == "stopped"
    assert "demo-agent-a001" not in err.decode()
    assert out == b""


async def test_a_taken_port_is_a_clear_error_not_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = await start("--port", str(taken.getsockname()[1]))
        async with running(proc):
            _, err = await asyncio.wait_for(proc.communicate(), START_TIMEOUT_S)
    assert proc.returncode == 2
    text = err.decode()
    assert "yhteys serve: cannot listen on 127.0.0.1:" in text
    assert "Traceback" not in text
    assert "serving " not in text  # said once it listens: here it never did


async def test_port_0_is_served_on_the_port_the_log_names() -> None:
    # The log used to say the port asked for (0), not the one the socket got.
    proc = await start("--port", "0")
    async with running(proc):
        assert proc.stderr is not None
        url = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while url is None and time.monotonic() < deadline:
            line = await asyncio.wait_for(proc.stderr.readline(), START_TIMEOUT_S)
            assert line, "the service exited before saying where it serves"
            message = json.loads(line)["message"]
            if message.startswith("serving "):
                url = message.split(" on ", 1)[1].split(" (", 1)[0]
        assert url is not None and url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
        timeout = aiohttp.ClientTimeout(total=5)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"{url}/healthz") as r,
        ):
            assert r.status == 200
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "http"])
async def test_a_port_number_out_of_range_is_refused_before_anything_starts(port: str) -> None:
    # argparse took 99999 and the socket layer listened on 99999 mod 65536.
    proc = await start("--port", port)
    async with running(proc):
        _, err = await asyncio.wait_for(proc.communicate(), START_TIMEOUT_S)
    assert proc.returncode == 2
    text = err.decode()
    assert "argument --port: expected" in text and repr(port) in text
    assert "serving " not in text


def _single_attempt_region(tmp_path: Path) -> Path:
    text = (ROOT / "config/region.yaml").read_text(encoding="utf-8")
    marker = "  - name: oral_health\n"
    assert marker in text
    path = tmp_path / "region.yaml"
    path.write_text(text.replace(marker, marker + "    callback: {attempts: 1}\n"))
    return path


def test_a_single_attempt_callback_policy_is_a_warning_at_start_up_and_in_check(
    no_binding: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11.6: ``attempts: 1`` is legal, but said so where a person looks."""
    path = _single_attempt_region(tmp_path)
    assert cli.main(["serve", "--config", str(path), "--port", "1", "--log-format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    (warning,) = [x for x in lines if "callback.attempts is 1" in x["message"]]
    assert warning["level"] == "warning"
    assert "(oral_health)" in warning["message"] and str(path) in warning["message"]
    assert cli.main(["check", "--config", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"warning: {path}: services[") and "(oral_health)" in out[0]
    assert out[-1].endswith("1 warning(s)")
    # The sample region as shipped has none.
    assert cli.main(["check"]) == 0
    (summary,) = capsys.readouterr().out.splitlines()
    assert summary.startswith("config/region.yaml: region ")
    assert summary.endswith(" 0 warning(s)")
