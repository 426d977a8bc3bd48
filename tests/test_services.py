"""The service plumbing the suite and the benchmarks share (tests/services): port choice and stopping safely."""

from __future__ import annotations

import os
from pathlib import Path
import socket
import subprocess
import sys

import pytest

from tests.services import SERVICES, ClamAV, FakeGCSServer, Redis, ServiceError, clamd, gcs, redis
from tests.services.plugin import requested
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
    assert set(SERVICES) == {"postgres", "s3", "azure", "gcs", "redis", "clamd"}


def test_all_leaves_out_the_services_only_background_tasks_need_unless_named():
    assert list(requested("all")) == ["postgres", "s3", "azure", "gcs"]
    assert list(requested("all,clamd,redis")) == ["postgres", "s3", "azure", "gcs", "clamd", "redis"]
    assert list(requested("redis,clamd")) == ["redis", "clamd"]


def binary_or_skip(find) -> None:
    """Skips a test whose server is not installed, unless services are required (as in the test command, which
    installs them), where that is a failure."""
    try:
        find()
    except ServiceError as exc:
        if os.environ.get("AP_TEST_REQUIRE_SERVICES"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def stop_by_hand(name: str, directory: Path) -> None:
    """``python -m tests.services stop``: another process than the one that started it."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.services", "stop", name, str(directory)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_redis_starts_answers_and_stops_and_a_second_one_picks_another_port(tmp_path: Path):
    binary_or_skip(redis.redis_server_binary)
    first = Redis(tmp_path / "first").start()
    try:
        assert first.env() == {"AP_TEST_REDIS_URL": f"redis://127.0.0.1:{first.port}/0"}
        assert redis.command(first.port, "SET", "greeting", "hello") == b"OK"
        assert redis.command(first.port, "GET", "greeting") == b"hello"
        assert redis.command(first.port, "GET", "missing") is None
        with pytest.raises(redis.RedisError):
            redis.command(first.port, "NO-SUCH-COMMAND")

        second = Redis(tmp_path / "second").start()
        try:
            assert second.port != first.port
            assert redis.command(second.port, "GET", "greeting") is None, "a server of its own, not the first"
        finally:
            second.stop()
        assert nothing_listens(second.port)
        assert redis.command(first.port, "GET", "greeting") == b"hello", "stopping the second left the first alone"
    finally:
        stop_by_hand("redis", first.directory)
    assert nothing_listens(first.port)
    assert not (first.directory / "pid").exists()


def test_clamd_tells_clean_bytes_from_eicar_and_a_second_one_picks_another_port(tmp_path: Path):
    binary_or_skip(clamd.clamd_binary)
    first = ClamAV(tmp_path / "first").start()
    try:
        socket_path = str(first.socket_path)
        assert first.env() == {
            "AP_TEST_CLAMD_SOCKET": socket_path,
            "AP_TEST_CLAMD_HOST": "127.0.0.1",
            "AP_TEST_CLAMD_PORT": str(first.port),
        }
        assert len(clamd.EICAR) == 68
        for address in (socket_path, ("127.0.0.1", first.port)):
            assert clamd.scan(address, b"nothing to see here\n" * 1000) == clamd.CLEAN
            assert clamd.scan(address, clamd.EICAR) == clamd.FOUND_EICAR
            assert clamd.scan(address, b"") == clamd.CLEAN
        # In several chunks, as a file is streamed: clamd joins them before it matches.
        assert clamd.scan(socket_path, clamd.EICAR, chunk_size=10) == clamd.FOUND_EICAR
        assert clamd.FOUND_EICAR == "stream: Test.EICAR.Local.UNOFFICIAL FOUND"
        # The whole file is signed, not a part of it: EICAR inside other bytes is another file.
        assert clamd.scan(socket_path, clamd.EICAR + b"!") == clamd.CLEAN

        second = ClamAV(tmp_path / "second").start()
        try:
            assert second.port != first.port and second.socket_path != first.socket_path
            assert clamd.scan(str(second.socket_path), clamd.EICAR) == clamd.FOUND_EICAR
        finally:
            second.stop()
        assert nothing_listens(second.port) and not clamd.ping(str(second.socket_path))
        assert clamd.ping(socket_path), "stopping the second left the first alone"
    finally:
        stop_by_hand("clamd", first.directory)
    assert nothing_listens(first.port) and not clamd.ping(str(first.socket_path))
    assert not (first.directory / "pid").exists()


def test_fake_gcs_server_starts_keeps_objects_and_stops_and_a_second_one_picks_another_port(tmp_path: Path):
    import requests

    binary_or_skip(gcs.fake_gcs_server_binary)
    first = FakeGCSServer(tmp_path / "first").start()
    try:
        assert first.env() == {
            "AP_TEST_GCS_ENDPOINT": f"http://127.0.0.1:{first.port}",
            "AP_TEST_GCS_PROJECT": "ap-test",
        }
        api = first.endpoint
        assert requests.post(f"{api}/storage/v1/b?project=p", json={"name": "probe"}, timeout=10).status_code == 200
        upload = requests.post(
            f"{api}/upload/storage/v1/b/probe/o?uploadType=media&name=a.txt", data=b"hello", timeout=10
        )
        assert upload.status_code == 200, upload.text
        assert requests.get(f"{api}/storage/v1/b/probe/o/a.txt?alt=media", timeout=10).content == b"hello"

        second = FakeGCSServer(tmp_path / "second").start()
        try:
            assert second.port != first.port
            missing = requests.get(f"{second.endpoint}/storage/v1/b/probe", timeout=10)
            assert missing.status_code == 404, "a server of its own, not the first"
        finally:
            second.stop()
        assert nothing_listens(second.port)
        assert requests.get(f"{api}/storage/v1/b/probe/o/a.txt?alt=media", timeout=10).content == b"hello"
    finally:
        stop_by_hand("gcs", first.directory)
    assert nothing_listens(first.port)
    assert not (first.directory / "pid").exists()


def test_clamd_refuses_a_directory_too_long_for_its_socket(tmp_path: Path):
    service = ClamAV(tmp_path / ("d" * 120))
    with pytest.raises(ServiceError, match="too long for a Unix socket"):
        service.start()
    assert not (service.directory / "pid").exists()
