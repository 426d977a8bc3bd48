"""Presigned PUTs for S3-compatible stores that do not take presigned POSTs (Cloudflare R2 answers them ``501``).

A POST policy can state a size range; a presigned PUT cannot. What it can do is sign request headers: the browser
must then send exactly those values or the store refuses the signature. So a PUT plan signs ``Content-Length`` (the
declared size, which the plan endpoint already held against the field's limit), ``Content-Type`` and the object
parameters as headers, and lists in the plan every header the browser has to send with the value signed.

botocore decides which headers it signs. Should a later version sign one this module does not hand the browser (a
checksum, say), every upload would fail with a signature error nobody could explain; ``check_signed_headers``
turns that into an error at planning time that names the header.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.utils import parse_to_aware_datetime


class UnsignableHeaders(RuntimeError):
    """botocore signed headers a browser would not send as signed (a change in botocore, not a user error)."""


def header_values(client: Any, operation: str, parameters: Mapping[str, Any]) -> dict[str, str]:
    """The request headers boto3 sends for ``parameters`` of ``operation``, read from botocore's service model.

    The model knows each parameter's header name (``CacheControl`` is ``Cache-Control``, ``ACL`` is
    ``x-amz-acl``, ``Metadata`` is a ``x-amz-meta-`` prefix), so no table of ours can drift from it. Parameters that
    are not headers raise ``ValueError``: they cannot be part of a browser's PUT.
    """
    members = client.meta.service_model.operation_model(operation).input_shape.members
    headers: dict[str, str] = {}
    for parameter, value in parameters.items():
        shape = members[parameter]
        location = shape.serialization.get("location")
        name = shape.serialization.get("name", parameter)
        if location == "header":
            headers[name] = _header_value(shape.type_name, value)
        elif location == "headers":
            headers.update({f"{name}{key}": str(item) for key, item in value.items()})
        else:
            raise ValueError(f"{operation} takes {parameter} in its {location or 'body'}, not as a header")
    return headers


def _header_value(type_name: str, value: Any) -> str:
    # As botocore writes headers: timestamps as RFC 7231 dates, everything else as text.
    if type_name == "timestamp":
        moment = parse_to_aware_datetime(value)
        return formatdate(calendar.timegm(moment.utctimetuple()), usegmt=True)
    return str(value)


def signed_header_names(url: str) -> set[str]:
    """The header names a SigV4 presigned URL signs (its ``X-Amz-SignedHeaders``), lower case."""
    values = parse_qs(urlsplit(url).query).get("X-Amz-SignedHeaders", [""])
    return {name for name in values[0].lower().split(";") if name}


def check_signed_headers(url: str, headers: Mapping[str, str], *, length_signed: bool) -> None:
    """Raise ``UnsignableHeaders`` unless ``url`` signs exactly ``headers``, ``host`` and (when ``length_signed``)
    ``content-length``: a header signed but not in the plan would make the store refuse every upload, and a
    length we meant to sign but did not would leave the upload's size uncapped."""
    signed = signed_header_names(url)
    expected = {name.lower() for name in headers} | {"host"}
    if length_signed:
        expected.add("content-length")
    if signed != expected:
        missing = sorted(expected - signed)
        extra = sorted(signed - expected)
        raise UnsignableHeaders(
            f"The presigned PUT signs {sorted(signed)}; expected {sorted(expected)} (not signed: {missing}, "
            f"signed but not sent by the browser: {extra})."
        )
