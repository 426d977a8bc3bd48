"""The ClamAV scanner against the run's real clamd: verdicts over both kinds of address, streaming in chunks,
and every way of having no verdict raising ``ScannerUnavailable`` (so that nothing is promoted unscanned)."""

from __future__ import annotations

import io
import socket
import threading

import pytest

from alliance_platform.storage.async_uploads.scanning import ScannerUnavailable, ScanResult
from alliance_platform.storage.async_uploads.scanning.clamav import (
    ClamAVScanner,
    parse_address,
    ping,
    verdict_from_reply,
)
from tests.scanning.conftest import DOWN, EICAR, EICAR_THREAT

CLEAN_BYTES = b"%PDF-1.4\nnothing to see here\n%%EOF\n"
#: Above the run's clamd's StreamMaxLength (8 MiB).
OVER_STREAM_LIMIT = 9 * 1024 * 1024


class CountingFile(io.BytesIO):
    """A file that remembers the largest read asked of it and whether it was closed by the scanner."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.largest_read = 0

    def read(self, size: int | None = -1) -> bytes:
        self.largest_read = max(self.largest_read, size if size is not None and size >= 0 else len(self.getvalue()))
        return super().read(size)


def opener(data: bytes):
    return lambda: io.BytesIO(data)


@pytest.mark.parametrize("kind", ["unix", "tcp"])
def test_clean_bytes_are_clean_and_eicar_is_infected(clamd, kind):
    scanner = ClamAVScanner(clamd[kind])
    assert scanner(opener(CLEAN_BYTES)) == ScanResult.clean()
    verdict = scanner(opener(EICAR))
    assert not verdict.is_clean and verdict.threat == EICAR_THREAT


def test_a_file_is_streamed_in_chunks_never_read_whole(clamd):
    data = CLEAN_BYTES + b"x" * (3 * 1024 * 1024)
    source = CountingFile(data)
    verdict = ClamAVScanner(clamd["unix"], chunk_size=64 * 1024)(lambda: source)
    assert verdict.is_clean
    assert source.largest_read == 64 * 1024
    assert source.closed


def test_the_module_scanner_reads_its_address_and_timeout_from_the_settings(clamd, settings):
    from alliance_platform.storage.async_uploads.scanning.clamav import scan

    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CLAMD_ADDRESS": clamd["tcp"], "CLAMD_TIMEOUT": 10}}
    assert scan(opener(EICAR)).threat == EICAR_THREAT
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CLAMD_ADDRESS": DOWN}}
    with pytest.raises(ScannerUnavailable):
        scan(opener(CLEAN_BYTES))


def test_a_stream_over_clamds_limit_has_no_verdict(clamd):
    with pytest.raises(ScannerUnavailable, match="size limit"):
        ClamAVScanner(clamd["unix"])(opener(b"\0" * OVER_STREAM_LIMIT))


@pytest.fixture
def unused_tcp_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def test_clamd_down_has_no_verdict(unused_tcp_port):
    with pytest.raises(ScannerUnavailable, match="could not scan"):
        ClamAVScanner(DOWN)(opener(CLEAN_BYTES))
    with pytest.raises(ScannerUnavailable, match="could not scan"):
        ClamAVScanner(f"tcp://127.0.0.1:{unused_tcp_port}")(opener(CLEAN_BYTES))


def test_a_daemon_that_never_answers_times_out():
    """A listener that accepts and then says nothing: the scan gives up after its timeout instead of hanging."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        with pytest.raises(ScannerUnavailable, match="timed out"):
            ClamAVScanner(f"tcp://127.0.0.1:{port}", timeout=0.5)(opener(CLEAN_BYTES))
    finally:
        thread.join(5)
        for connection, _ in accepted:
            connection.close()
        listener.close()


def test_a_malformed_address_has_no_verdict():
    with pytest.raises(ScannerUnavailable, match="is not unix"):
        ClamAVScanner("clamd.example:3310")(opener(CLEAN_BYTES))


def test_ping(clamd):
    assert ping(clamd["unix"]) and ping(clamd["tcp"])
    assert not ping(DOWN)
    assert not ping("not an address")


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        ("unix:///run/clamav/clamd.ctl", "/run/clamav/clamd.ctl"),
        ("/run/clamav/clamd.ctl", "/run/clamav/clamd.ctl"),
        ("tcp://127.0.0.1:3310", ("127.0.0.1", 3310)),
        ("tcp://clamd.internal:3310/", ("clamd.internal", 3310)),
        ("tcp://[::1]:3310", ("::1", 3310)),
    ],
)
def test_parse_address(address, parsed):
    assert parse_address(address) == parsed


@pytest.mark.parametrize(
    "address", ["", "clamd:3310", "tcp://127.0.0.1", "tcp://127.0.0.1:notaport", "http://x:1", "unix://", "tcp://h:1/x"]
)
def test_parse_address_refuses(address):
    with pytest.raises(ValueError):
        parse_address(address)


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("stream: OK", ScanResult.clean()),
        ("stream: Win.Test.EICAR_HDB-1 FOUND", ScanResult.infected("Win.Test.EICAR_HDB-1")),
    ],
)
def test_verdicts(reply, verdict):
    assert verdict_from_reply(reply) == verdict


@pytest.mark.parametrize("reply", ["", "INSTREAM size limit exceeded. ERROR", "stream: Can't allocate memory ERROR"])
def test_replies_without_a_verdict(reply):
    with pytest.raises(ScannerUnavailable):
        verdict_from_reply(reply)
