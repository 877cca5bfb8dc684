"""The processes a service benchmark runs and measures: ``yhteys serve`` on a free loopback
port (``ServerProcess``) and, in Redis mode, its own ``redis-server`` without persistence
(``RedisProcess``); both always stopped (SIGTERM, then SIGKILL), their CPU read from
``/proc``. Also the machine's description for the report and the progress log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp
import redis

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PROFILE_ENV = "YHTEYS_BENCH_PROFILE"

STARTUP_TIMEOUT_S = 20.0
REDIS_STARTUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str] = {}
    for package in ("aiohttp", "uvloop"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        **versions,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def proc_cpu_s(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process ``pid`` so far: the scheduler's nanosecond
    count over the process's threads (``/proc/<pid>/task/*/schedstat``), split between
    user and system as the clock-tick counts of ``/proc/<pid>/stat`` split it. The tick
    counts alone move in 10 ms steps, so a short round of a fast server (80 webhooks to
    the bare handler: about 5 ms) read as 0 or 10 ms."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    user, system = int(fields[11]) / ticks, int(fields[12]) / ticks  # utime, stime
    total = _scheduled_s(pid)
    if total is None:
        return user, system
    share = user / (user + system) if user + system > 0 else 1.0
    return total * share, total * (1.0 - share)


def _scheduled_s(pid: int) -> float | None:
    """Seconds the process's threads have run (None where the kernel keeps no schedstat)."""
    total_ns = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):  # a thread that just ended
                total_ns += int((task / "schedstat").read_text().split()[0])
    except OSError:
        return None
    return total_ns / 1e9 if total_ns else None


def stop_process(proc: subprocess.Popen[bytes], what: str, timeout_s: float) -> int | None:
    """SIGTERM, then SIGKILL after ``timeout_s``; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log(f"{what} did not stop on SIGTERM: killing it")
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
    return proc.returncode


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


class RedisProcess:
    """Our own ``redis-server`` on a free loopback port, no persistence, always stopped."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.log_path = directory / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("redis-server is not started")
        return self.proc.pid

    def start(self) -> None:
        """Starts redis-server and waits (bounded) until it answers PING."""
        args = ["redis-server", "--port", str(self.port), "--bind", HOST]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                args, cwd=self.directory, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        deadline = time.monotonic() + REDIS_STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited while starting: {self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        log(f"redis-server pid {self.proc.pid} on {self.url}")
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer in {REDIS_STARTUP_TIMEOUT_S:.0f} s")

    def cpu_s(self) -> tuple[float, float]:
        return proc_cpu_s(self.pid)

    def version(self) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                ["redis-server", "--version"], capture_output=True, timeout=5, check=False
            ).stdout.decode(errors="replace")
            for word in out.split():
                if word.startswith("v="):
                    return word[2:]
        return "unknown"

    def stats(self) -> dict[str, Any]:
        """Commands served (calls, µs per call) and memory, from ``INFO``."""
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=5.0)
        try:
            commands: dict[str, Any] = client.info("commandstats")
            memory: dict[str, Any] = client.info("memory")
            keys: dict[str, Any] = client.info("keyspace")
        except redis.RedisError as exc:
            return {"error": str(exc)}
        finally:
            client.close()
        out: dict[str, Any] = {
            name.removeprefix("cmdstat_"): {
                "calls": v["calls"],
                "usec_per_call": v["usec_per_call"],
            }
            for name, v in commands.items()
            if isinstance(v, dict) and v.get("calls", 0) >= 10
        }
        return {
            "commands": out,
            "used_memory_mib": round(memory.get("used_memory", 0) / 2**20, 1),
            "keyspace": {k: v for k, v in keys.items() if isinstance(v, dict)},
        }

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        return stop_process(self.proc, "redis-server", STOP_TIMEOUT_S)

    def log_tail(self, n: int = 10) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""


class HttpProcess:
    """An HTTP server as a subprocess on ``port``, always stopped: how long it takes to
    answer ``/readyz``, its CPU so far, its stop. ``name`` says it in errors."""

    name = "the server"
    proc: subprocess.Popen[bytes] | None
    port: int

    def exit_detail(self) -> str:
        """What to add when it exits while starting (its log's tail, if it keeps one)."""
        return ""

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{self.name} is not started")
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def wait_ready(
        self, session: aiohttp.ClientSession, timeout_s: float = STARTUP_TIMEOUT_S
    ) -> float:
        """Polls ``/readyz`` until it answers 200 (bounded); returns seconds waited."""
        started = time.perf_counter()
        url = f"http://{HOST}:{self.port}/readyz"
        for _ in range(int(timeout_s / 0.05)):
            if not self.alive():
                raise RuntimeError(f"{self.name} exited while starting{self.exit_detail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} was not ready in {timeout_s:.0f} s")

    def cpu_s(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the process so far."""
        return proc_cpu_s(self.pid)

    def redis_cpu_s(self) -> float:
        """CPU seconds so far of a redis-server the process uses (none: 0)."""
        return 0.0

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


class ServerProcess(HttpProcess):
    """``yhteys serve`` as a subprocess, its log in a file, always stopped."""

    def __init__(
        self,
        config: Path,
        port: int,
        log_path: Path,
        redis_server: RedisProcess | None = None,
        profile: str | None = None,
    ) -> None:
        self.config = config
        self.port = port
        self.log_path = log_path
        self.redis = redis_server
        self.profile = profile if profile is not None else os.environ.get(PROFILE_ENV) or None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        serve = ["-m", "router.cli", "serve", "--config", str(self.config)]
        serve += ["--host", HOST, "--port", str(self.port), "--log-format", "json"]
        if self.redis is not None:
            serve += ["--redis", self.redis.url]
        prefix = ["-m", "cProfile", "-o", self.profile] if self.profile else []
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *prefix, *serve],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        log(f"server pid {self.proc.pid} on http://{HOST}:{self.port}")

    def exit_detail(self) -> str:
        return f":\n{self.log_tail()}"

    def redis_cpu_s(self) -> float:
        """redis-server's CPU seconds so far (0 in memory mode)."""
        return sum(self.redis.cpu_s()) if self.redis is not None else 0.0

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S``; returns the exit code."""
        if self.proc is None:
            return None
        return stop_process(self.proc, "the server", STOP_TIMEOUT_S * (4 if self.profile else 1))

    def kill(self) -> None:
        """SIGKILL, as a crash would: no snapshot, no hand-over of the lease."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT_S)

    def log_lines(self) -> list[str]:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace").splitlines()
        return []

    def log_tail(self, n: int = 20) -> str:
        return "\n".join(self.log_lines()[-n:])

    def log_messages(self, containing: str) -> list[str]:
        return [message for _, message in self.timed_log_messages(containing)]

    def timed_log_messages(self, containing: str) -> list[tuple[float, str]]:
        """(wall clock, message) of the server's JSON log lines containing ``containing``."""
        found: list[tuple[float, str]] = []
        for line in self.log_lines():
            with contextlib.suppress(ValueError, AttributeError, KeyError, TypeError):
                record = json.loads(line)
                message = str(record.get("message", ""))
                if containing in message:
                    stamp = str(record["time"]).replace("Z", "+00:00")
                    found.append((datetime.fromisoformat(stamp).timestamp(), message))
        return found

    def log_levels(self) -> dict[str, int]:
        levels: Counter[str] = Counter()
        for line in self.log_lines():
            try:
                levels[str(json.loads(line).get("level", "?"))] += 1
            except (ValueError, AttributeError):
                levels["unparsed"] += 1
        return dict(levels)
