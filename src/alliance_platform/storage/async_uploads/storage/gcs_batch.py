"""Batched deletes for Google Cloud Storage: many ``DELETE`` calls of the JSON API in one ``multipart/mixed`` request.

google-cloud-storage has a batch context of its own, but it sends parts without a ``Content-ID``, which GCS
tolerates and the emulator the tests use (fake-gcs-server) silently drops, answering nothing for them. Writing the
request here, with a ``Content-ID`` on every part as GCS's documentation shows it, works on both, and lets each
answer be matched to its object by that id rather than by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.parser import BytesParser
from email.policy import HTTP
import re
import secrets
from urllib.parse import quote

#: The most calls one batch request may carry (GCS's limit).
MAX_BATCH_CALLS = 100

_STATUS_LINE = re.compile(rb"^HTTP/\d(?:\.\d)?\s+(\d{3})")
_RESPONSE_ID = re.compile(r"<response-(\d+)>")


def delete_request_body(bucket: str, names: Sequence[str]) -> tuple[str, bytes]:
    """The content type and body of one batch request deleting ``names`` from ``bucket``; part ``i`` (its
    ``Content-ID``) deletes ``names[i]``."""
    if len(names) > MAX_BATCH_CALLS:
        raise ValueError(f"A batch request takes at most {MAX_BATCH_CALLS} calls, not {len(names)}.")
    boundary = f"batch_{secrets.token_hex(12)}"
    lines: list[str] = []
    for index, name in enumerate(names):
        path = f"/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"
        lines += [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: <{index}>",
            "",
            f"DELETE {path} HTTP/1.1",
            "Content-Length: 0",
            "",
            "",
        ]
    lines += [f"--{boundary}--", ""]
    return f"multipart/mixed; boundary={boundary}", "\r\n".join(lines).encode()


def response_statuses(content_type: str, body: bytes, count: int) -> list[int | None]:
    """The HTTP status of each call of a batch of ``count`` calls, by position; ``None`` for a call the answer
    does not mention (reported by the caller as a failure, never taken as a success)."""
    statuses: list[int | None] = [None] * count
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        return statuses
    for part in message.iter_parts():
        found = _RESPONSE_ID.search(str(part.get("Content-ID", "")))
        payload = part.get_payload(decode=True) or b""
        status = _STATUS_LINE.match(payload.lstrip())
        if found and status and int(found.group(1)) < count:
            statuses[int(found.group(1))] = int(status.group(1))
    return statuses
