"""The service plumbing the suite and the benchmarks share (tests/services): port choice and stopping safely."""

from __future__ import annotations

import os
from pathlib import Path
import socket
import subprocess
import sys

from tests.services import SERVICES
from tests.services.process import ROOT, ServerProcess, nothing_listens, pick_ports


def listening_socket() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_ports_move_up_together_while_one_of_them_is_taken():
    with listening_socket() as taken:
        port = taken.getsockname()[1]
        assert not nothing_listens(port)
        chosen = pick_ports((port, port + 1), lambda ports: all(nothing_listens(p) for p in ports), step=2)
    assert chosen[0] != port and chosen[1] - chosen[0] == 1


def test_a_pid_file_naming_another_process_is_never_signalled(tmp_path: Path):
    # A pid file left behind whose pid now belongs to an unrelated process (here: this test's own).
    (tmp_path / "pid").write_text(str(os.getpid()))
    process = ServerProcess(tmp_path / "pid", f"-dir={tmp_path / 'data'}", stop_timeout=1)
    assert process.pid() is None, "the command line does not name the service's directory"
    process.stop()  # a no-op, not a signal to this process
    assert not (tmp_path / "pid").exists()


def test_stop_all_of_a_directory_without_services_does_nothing(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "tests.services", "stop-all", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_service_is_known_by_the_name_the_plugin_takes():
    assert set(SERVICES) == {"postgres", "s3", "azure"}
