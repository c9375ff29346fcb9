"""Child processes that cannot outlive their supervisor.

Each child runs in its own session (a terminal's Ctrl-C reaches only the supervisor, which then
stops the children in order) and asks the kernel for SIGTERM when its parent dies, so even a
supervisor killed with SIGKILL leaves no load running.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: BinaryIO = field(repr=False)

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def spawn(name: str, command: Sequence[str], env: Mapping[str, str], log_path: Path) -> Child:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(
        list(command),
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # safe: the supervisor runs no threads
    )
    return Child(name, process, log_path, log)


def terminate(children: Sequence[Child], grace_s: float) -> None:
    """SIGTERM, then SIGKILL whoever is still there after `grace_s`; always reaps."""
    for child in children:
        if child.running:
            _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in children:
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.process.wait()
        child.log.close()


def _signal_group(child: Child, signum: int) -> None:
    try:
        os.killpg(child.process.pid, signum)
    except ProcessLookupError:
        pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers that will bind it do: a port whose last connections linger in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, deadline_s: float, alive: Child | None = None) -> bool:
    """True once `host:port` accepts a TCP connection; False at the deadline or if `alive` exits."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if alive is not None and not alive.running:
            return False
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False
