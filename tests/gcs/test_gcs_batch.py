"""The batch request of deletes and the reading of its answer (gcs_batch), without a server."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

import pytest

from alliance_platform.storage.async_uploads.storage import gcs_batch


def test_each_part_deletes_one_object_and_carries_its_index_as_content_id():
    content_type, body = gcs_batch.delete_request_body("my-bucket", ["a/b c.txt", "ü.pdf"])
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = list(message.iter_parts())
    assert [part["Content-ID"] for part in parts] == ["<0>", "<1>"]
    assert [part.get_content_type() for part in parts] == ["application/http", "application/http"]
    requests = [part.get_payload(decode=True).split(b"\r\n", 1)[0] for part in parts]
    assert requests == [
        b"DELETE /storage/v1/b/my-bucket/o/a%2Fb%20c.txt HTTP/1.1",
        b"DELETE /storage/v1/b/my-bucket/o/%C3%BC.pdf HTTP/1.1",
    ]


def test_a_batch_is_capped_at_what_gcs_takes():
    gcs_batch.delete_request_body("b", ["x"] * gcs_batch.MAX_BATCH_CALLS)
    with pytest.raises(ValueError):
        gcs_batch.delete_request_body("b", ["x"] * (gcs_batch.MAX_BATCH_CALLS + 1))


def _answer(*parts: tuple[str, str]) -> tuple[str, bytes]:
    lines = []
    for content_id, status_line in parts:
        lines += ["--b", "Content-Type: application/http", f"Content-ID: {content_id}", "", status_line, "", ""]
    lines += ["--b--", ""]
    return "multipart/mixed; boundary=b", "\r\n".join(lines).encode()


def test_statuses_are_matched_to_calls_by_content_id_not_by_position():
    content_type, body = _answer(
        ("<response-2>", "HTTP/1.1 500 Internal Server Error"),
        ("<response-0>", "HTTP/1.1 204 No Content"),
        ("<response-1>", "HTTP/1.1 404 Not Found"),
    )
    assert gcs_batch.response_statuses(content_type, body, 4) == [204, 404, 500, None]


def test_an_answer_that_is_not_multipart_gives_no_status_at_all():
    assert gcs_batch.response_statuses("application/json", b"{}", 2) == [None, None]
