"""``S3AsyncUploadStorage``: the browser uploads straight to Amazon S3 (or an S3-compatible service).

Built on django-storages' ``S3Storage``, so every ``AWS_*`` setting (bucket, ``AWS_LOCATION``, endpoint,
addressing style, ``AWS_S3_OBJECT_PARAMETERS``...) applies as usual, and each can be passed to the constructor.

* Uploads are presigned POSTs whose policy pins the exact key, the declared Content-Type, the object parameters and
  ``content-length-range`` up to the field's ``max_size``: S3 itself refuses anything else. Stores that do not take
  presigned POSTs (Cloudflare R2) get presigned PUTs instead with ``upload_method="put"``: the key, the declared size
  (as ``Content-Length``), the type and the object parameters are signed (``s3_put``), and multipart part URLs sign
  each part's exact length, so every part but the last has the same size.
* Verification reads a HEAD and a small ranged GET, never the whole object.
* Promotion is a server-side copy (multipart copy for large objects): no object bytes pass through the app.
* What was verified is what is promoted: a presigned POST can be sent again until it expires, so verification
  records the ETag, and reads (``IfMatch``) and the copy (``CopySourceIfMatch``) only accept that version.
* Nothing is overwritten, whatever ``AWS_S3_FILE_OVERWRITE`` says: promotion always picks a free name.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from django.core.checks import CheckMessage, Warning
from django.core.exceptions import ImproperlyConfigured
from django.utils.http import content_disposition_header

try:
    from boto3.s3.transfer import TransferConfig
    from botocore.exceptions import ClientError
    from s3transfer import exceptions as s3transfer_exceptions
    from storages.backends.s3 import S3Storage
    from storages.utils import clean_name
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImproperlyConfigured(
        "S3AsyncUploadStorage needs django-storages with boto3: pip install 'alliance-platform-storage[s3]'"
    ) from exc

from ...settings import storage_settings
from .. import multipart
from ..content_types import NEUTRAL, download_content_type, storable_content_type
from .base import (
    GenerateUploadUrlResponse,
    InvalidUploadParts,
    ObjectChanged,
    StoredObject,
    StoredPart,
    UploadPart,
)
from .cloud import CloudAsyncUploadStorage
from .s3_put import check_signed_headers, header_values

#: The values of ``upload_method``: a presigned POST policy (AWS S3 and most compatible stores) or a presigned PUT.
UPLOAD_METHODS = ("post", "put")

# How object parameters (boto3 names) are spelled as presigned POST form fields.
_POST_FIELD_FOR_PARAMETER = {
    "ACL": "acl",
    "CacheControl": "Cache-Control",
    "ContentDisposition": "Content-Disposition",
    "ContentEncoding": "Content-Encoding",
    "ContentLanguage": "Content-Language",
    "Expires": "Expires",
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
    "StorageClass": "x-amz-storage-class",
    "Tagging": "tagging",
}


def _without_id(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as S3 returns it, comparable with one we build (S3 adds an ``ID`` only when one was set)."""
    return {name: value for name, value in rule.items() if name != "ID"}


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


# s3transfer reports a part of a multipart copy refused by its condition as this error (raised from the 412
# ClientError), not as the ClientError itself; versions before it existed raised the ClientError.
_S3CopyFailedError: type[Exception] = getattr(s3transfer_exceptions, "S3CopyFailedError", ClientError)


def _refused_condition(error: Exception) -> bool:
    """Whether a copy failed because its ``CopySourceIfMatch`` (or s3transfer's own ETag pin) did not hold."""
    cause = error if isinstance(error, ClientError) else error.__cause__ or error.__context__
    return isinstance(cause, ClientError) and _status(cause) == 412


class S3AsyncUploadStorage(CloudAsyncUploadStorage, S3Storage):
    provider = "s3"
    delete_batch_size = 1000  # the most keys one DeleteObjects request takes

    #: Objects larger than this are promoted with a multipart copy (CopyObject stops at 5 GiB).
    copy_multipart_threshold = 4 * 1024**3
    copy_multipart_chunksize = 512 * 1024**2

    #: How single uploads are signed: ``"post"`` (a presigned POST whose policy caps the size) or ``"put"`` (a
    #: presigned PUT with the declared size signed, for stores that refuse POST uploads, such as Cloudflare R2).
    #: An OPTIONS key and a constructor argument like django-storages' own options.
    upload_method = "post"

    def __init__(self, **settings: Any):
        for name in ("copy_multipart_threshold", "copy_multipart_chunksize", "upload_method"):
            if name in settings:
                setattr(self, name, settings.pop(name))
        super().__init__(**settings)

    @property
    def _upload_method(self) -> str:
        """``upload_method`` as compared: ``"PUT"`` means ``"put"``. Anything else is reported by a system check
        (W014) and refused when an upload is planned, rather than silently signed as a POST."""
        return str(self.upload_method).lower()

    @property
    def signs_part_lengths(self) -> bool:
        """Whether part URLs sign each part's length: in PUT mode, for stores that need parts of equal sizes."""
        return self._upload_method == "put"

    @property
    def client(self):
        return self.connection.meta.client

    def _stored_name(self, name: str) -> str:
        return self._normalize_name(clean_name(name))

    # Signing.

    @property
    def multipart_threshold(self) -> int:
        return int(storage_settings.S3_MULTIPART_THRESHOLD)

    def multipart_part_size(self, size: int) -> int:
        return multipart.part_size_for(size)

    def single_upload_plan(
        self, name: str, *, expire: int, max_size: int | None, content_type: str | None, size: int | None = None
    ) -> GenerateUploadUrlResponse:
        """A presigned POST, or a presigned PUT when ``upload_method`` is ``"put"``."""
        method = self._upload_method
        if method == "put":
            return self._presigned_put_plan(name, expire=expire, content_type=content_type, size=size)
        if method != "post":
            raise ImproperlyConfigured(
                f"S3AsyncUploadStorage.upload_method is {self.upload_method!r}; it must be one of {UPLOAD_METHODS}."
            )
        return self._presigned_post_plan(name, expire=expire, max_size=max_size, content_type=content_type)

    def _presigned_post_plan(
        self, name: str, *, expire: int, max_size: int | None, content_type: str | None
    ) -> GenerateUploadUrlResponse:
        """A presigned POST whose policy pins the key, the declared type, the object parameters and the size."""
        fields: dict[str, str] = {}
        conditions: list[Any] = []
        content_type = storable_content_type(content_type)
        if content_type:
            fields["Content-Type"] = content_type
        for parameter, value in self._upload_parameters(name).items():
            field = _POST_FIELD_FOR_PARAMETER.get(parameter)
            if field is not None:
                fields[field] = str(value)
            elif parameter == "Metadata":
                fields.update({f"x-amz-meta-{key}": str(item) for key, item in value.items()})
        conditions.extend({field: value} for field, value in fields.items())
        if max_size is not None:
            conditions.append(["content-length-range", 0, max_size])
        post = self.client.generate_presigned_post(
            Bucket=self.bucket_name,
            Key=self._stored_name(name),
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=expire,
        )
        return {
            "url": post["url"],
            "fields": post["fields"],
            "method": "POST",
            "provider": self.provider,
            "fileFieldName": "file",
        }

    def _presigned_put_plan(
        self, name: str, *, expire: int, content_type: str | None, size: int | None
    ) -> GenerateUploadUrlResponse:
        """A presigned PUT of the key with the declared size, the type and the object parameters signed.

        The plan endpoint refused a declared size over the field's limit, and the store refuses a body of any other
        length than the signed one. Without a declared size nothing caps the upload, and verification refuses an
        oversized object once it has arrived (as on Azure). The type is always signed, the neutral one when none
        was declared: otherwise the browser would send its own guess, unsigned, and the object would be stored
        with it.
        """
        params: dict[str, Any] = {
            "Bucket": self.bucket_name,
            "Key": self._stored_name(name),
            "ContentType": storable_content_type(content_type) or NEUTRAL,
            **self._upload_parameters(name),
        }
        headers = header_values(
            self.client, "PutObject", {k: v for k, v in params.items() if k not in ("Bucket", "Key")}
        )
        if size is not None:
            params["ContentLength"] = size
        url = self.client.generate_presigned_url("put_object", Params=params, ExpiresIn=expire, HttpMethod="PUT")
        check_signed_headers(url, headers, length_signed=size is not None)
        return {"url": url, "fields": {}, "method": "PUT", "provider": self.provider, "headers": headers}

    def _upload_parameters(self, name: str) -> dict[str, Any]:
        """Object parameters (``AWS_S3_OBJECT_PARAMETERS``, ``AWS_DEFAULT_ACL``) every upload and copy applies."""
        parameters = {
            parameter: value
            for parameter, value in self.get_object_parameters(name).items()
            if parameter in _POST_FIELD_FOR_PARAMETER or parameter == "Metadata"
        }
        if "ACL" not in parameters and self.default_acl:
            parameters["ACL"] = self.default_acl
        return parameters

    # Multipart uploads.

    def create_multipart_upload(self, name: str, content_type: str | None) -> str:
        content_type = storable_content_type(content_type)
        extra = {"ContentType": content_type} if content_type else {}
        response = self.client.create_multipart_upload(
            Bucket=self.bucket_name, Key=self._stored_name(name), **self._upload_parameters(name), **extra
        )
        return response["UploadId"]

    def sign_upload_parts(
        self, name: str, upload_id: str, part_numbers: list[int], *, part_lengths: dict[int, int] | None = None
    ) -> list[UploadPart]:
        """Presigned UploadPart URLs. In PUT mode, with ``part_lengths`` (the plan's layout, passed by the sign
        endpoint), each URL signs its part's exact length: a part of any other size is refused by the store."""
        key = self._stored_name(name)
        lengths = part_lengths if self.signs_part_lengths and part_lengths else {}
        parts: list[UploadPart] = []
        for number in part_numbers:
            params: dict[str, Any] = {
                "Bucket": self.bucket_name,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": number,
            }
            if number in lengths:
                params["ContentLength"] = lengths[number]
            url = self.client.generate_presigned_url(
                "upload_part", Params=params, ExpiresIn=storage_settings.UPLOAD_URL_EXPIRY, HttpMethod="PUT"
            )
            if number in lengths:
                check_signed_headers(url, {}, length_signed=True)
            parts.append({"partNumber": number, "url": url, "headers": {}})
        return parts

    def list_upload_parts(self, name: str, upload_id: str) -> list[StoredPart] | None:
        """Parts stored so far, or ``None`` when the upload no longer exists (completed or aborted)."""
        parts: list[StoredPart] = []
        try:
            for page in self.client.get_paginator("list_parts").paginate(
                Bucket=self.bucket_name, Key=self._stored_name(name), UploadId=upload_id
            ):
                parts.extend(
                    {"partNumber": part["PartNumber"], "etag": part["ETag"], "size": part["Size"]}
                    for part in page.get("Parts", [])
                )
        except ClientError as error:
            if _status(error) == 404:
                return None
            raise
        return parts

    def complete_multipart_upload(
        self, name: str, upload_id: str, parts: list[StoredPart], *, content_type: str | None = None
    ) -> None:
        # content_type was set when the upload was created.
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket_name,
                Key=self._stored_name(name),
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": p["partNumber"], "ETag": p["etag"]} for p in parts]},
            )
        except ClientError as error:
            if _status(error) == 400:
                raise InvalidUploadParts(error.response.get("Error", {}).get("Code", "InvalidPart")) from error
            raise

    def abort_multipart_upload(self, name: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket_name, Key=self._stored_name(name), UploadId=upload_id)
        except ClientError as error:
            if _status(error) != 404:
                raise

    def generate_download_url(self, key: str, field_id: str, *, filename: str | None = None, **kwargs: Any) -> str:
        filename = filename or key.rsplit("/", 1)[-1]
        params = {"ResponseContentDisposition": content_disposition_header(True, filename), **kwargs}
        # Whatever type the object was stored with, the download never names an active one.
        params["ResponseContentType"] = download_content_type(filename, kwargs.get("ResponseContentType"))
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket_name, "Key": self._stored_name(key), **params},
            ExpiresIn=storage_settings.DOWNLOAD_URL_EXPIRY,
        )

    # Object operations.

    #: After a pinned copy, compare the copy's ETag with the pinned one: a second lock for servers that ignore
    #: ``CopySourceIfMatch``. AWS S3 enforces it, and so does SeaweedFS (4.x, checked for CopyObject, UploadPartCopy
    #: and the HeadObject s3transfer sends first); the check costs one HEAD and holds wherever a copy keeps the
    #: source's ETag. It is skipped on its own where ETags are not comparable (multipart ETags, SSE-KMS and SSE-C
    #: objects); turn it off for a server whose copies always get ETags of their own.
    check_copied_version = True

    def stat_object(self, key: str) -> StoredObject | None:
        try:
            head = self.client.head_object(Bucket=self.bucket_name, Key=self._stored_name(key))
        except ClientError as error:
            if _status(error) == 404:
                return None
            raise
        return StoredObject(size=head["ContentLength"], version=head.get("ETag", ""))

    def _get(self, key: str, version: str, **params: Any) -> dict[str, Any]:
        """GetObject of ``key`` in ``version`` only: ``ObjectChanged``/``FileNotFoundError`` instead of errors."""
        if version:
            params["IfMatch"] = version
        try:
            return self.client.get_object(Bucket=self.bucket_name, Key=self._stored_name(key), **params)
        except ClientError as error:
            status = _status(error)
            if status == 412:
                raise ObjectChanged(key) from error
            if status == 404:
                raise FileNotFoundError(key) from error
            raise

    def read_range(self, key: str, length: int, *, version: str = "") -> bytes:
        try:
            response = self._get(key, version, Range=f"bytes=0-{length - 1}")
        except ClientError as error:
            if _status(error) == 416:
                return b""  # an empty object has no first byte
            raise
        with response["Body"] as body:
            return body.read()

    def open_version(self, key: str, version: str = "") -> IO[bytes]:
        """The body of one GetObject (``IfMatch`` on ``version``), streamed as the caller reads: a single response
        is a single version, even if the object is rewritten while a virus scan is still reading."""
        return self._get(key, version)["Body"]

    def copy_file(self, from_key: str, to_key: str, *, overwrite: bool = False, source_version: str = "") -> None:
        """Server-side copy; refuses to replace an existing object unless ``overwrite``. (S3 replaces objects
        atomically: readers see the old or the new one.)

        With ``source_version`` only that version is copied: s3transfer passes ``CopySourceIfMatch`` on as
        ``IfMatch`` of the HeadObject it starts with and as the condition of the CopyObject, or of every
        UploadPartCopy of a multipart copy (whose parts it discards when one fails), so a changed source fails with
        412 before anything exists at ``to_key``. ``_check_copied_version`` then covers servers that do not.
        """
        if not overwrite and self.stat_object(to_key) is not None:
            raise FileExistsError(to_key)
        extra_args = self._upload_parameters(to_key)
        if source_version:
            extra_args["CopySourceIfMatch"] = source_version
        try:
            self.client.copy(
                {"Bucket": self.bucket_name, "Key": self._stored_name(from_key)},
                self.bucket_name,
                self._stored_name(to_key),
                ExtraArgs=extra_args or None,
                Config=TransferConfig(
                    multipart_threshold=self.copy_multipart_threshold,
                    multipart_chunksize=self.copy_multipart_chunksize,
                    use_threads=False,
                ),
            )
        except (ClientError, _S3CopyFailedError) as error:
            if _refused_condition(error):
                raise ObjectChanged(from_key) from error
            if isinstance(error, ClientError) and _status(error) == 404:
                raise FileNotFoundError(from_key) from error
            raise
        if source_version and self.check_copied_version:
            self._check_copied_version(from_key, to_key, source_version, overwrite=overwrite)

    def _check_copied_version(self, from_key: str, to_key: str, source_version: str, *, overwrite: bool) -> None:
        """Raise ``ObjectChanged``, deleting the copy, when what was copied is not ``source_version``.

        A plain copy keeps the source's ETag, so a copy whose ETag differs holds other bytes. Where ETags are not
        content digests (multipart uploads and copies, SSE-KMS and SSE-C) they cannot be compared and the server's
        own condition is relied on. At a name chosen free for this copy, a mismatch can only be the copy of a
        rewritten source. At a fixed name (``overwrite``) another promotion may have replaced the copy since: the
        object is then removed only when it is a copy of the source as it is now, so that a newer promotion's
        verified file is left alone.
        """
        try:
            head = self.client.head_object(Bucket=self.bucket_name, Key=self._stored_name(to_key))
        except ClientError as error:
            if _status(error) == 404:
                return  # gone already (replaced and removed by someone else): nothing of ours to undo
            raise
        copied = head.get("ETag", "")
        if copied == source_version or "-" in copied or "-" in source_version:
            return
        if head.get("ServerSideEncryption", "").startswith("aws:kms") or head.get("SSECustomerAlgorithm"):
            return
        if overwrite:
            source = self.stat_object(from_key)
            if source is not None and source.version != copied:
                return  # replaced by another writer after this copy: theirs, not a copy of other bytes
        self.delete(to_key)
        raise ObjectChanged(from_key)

    def delete_batch(self, keys_to_delete: list[str]) -> dict[str, Exception]:
        """One ``DeleteObjects`` request; missing keys are not failures."""
        batch = {self._stored_name(key): key for key in keys_to_delete}
        try:
            response = self.client.delete_objects(
                Bucket=self.bucket_name,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
        except ClientError as error:
            return dict.fromkeys(batch.values(), error)
        failures: dict[str, Exception] = {}
        for error in response.get("Errors", []):
            if error.get("Code") != "NoSuchKey":
                failures[batch.get(error["Key"], error["Key"])] = OSError(
                    f"{error.get('Code')}: {error.get('Message')}"
                )
        return failures

    # Listing the temporary area (for the orphan sweep).

    def list_temporary_objects(self, older_than: datetime) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket_name, Prefix=self._temporary_listing_prefix()):
            for item in page.get("Contents", []):
                if item["LastModified"] < older_than:
                    yield self._name(item["Key"])

    def list_incomplete_uploads(self, older_than: datetime) -> Iterator[tuple[str, str]]:
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket_name, Prefix=self._temporary_listing_prefix()):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < older_than:
                    yield self._name(upload["Key"]), upload["UploadId"]

    # CORS and configuration checks.

    def cors_target(self) -> str:
        endpoint = self.endpoint_url or (f"AWS region {self.region_name}" if self.region_name else "AWS")
        return f"S3 bucket {self.bucket_name!r} ({endpoint})"

    def cors_rules(self, origins: list[str]) -> dict[str, list[dict[str, Any]]]:
        """POST for single uploads (PUT in PUT mode), PUT for multipart parts, GET/HEAD for downloads; the ETag of each part must be
        readable by the page to complete a multipart upload. Shaped as ``aws s3api put-bucket-cors`` reads it."""
        rule = {
            "AllowedOrigins": list(origins),
            "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 3000,
        }
        return {"CORSRules": [rule]}

    def apply_cors_rules(self, origins: list[str]) -> None:
        try:
            existing = self.client.get_bucket_cors(Bucket=self.bucket_name).get("CORSRules", [])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchCORSConfiguration":
                raise
            existing = []
        ours = self.cors_rules(origins)["CORSRules"]
        kept = [rule for rule in existing if _without_id(rule) not in ours]
        self.client.put_bucket_cors(Bucket=self.bucket_name, CORSConfiguration={"CORSRules": kept + ours})

    def unsupported_download_params(self, params: dict[str, Any]) -> list[str]:
        # GetObject's own parameters, from botocore's bundled service model (no request is made).
        accepted = set(self.client.meta.service_model.operation_model("GetObject").input_shape.members)
        return [name for name in params if name not in accepted or name in ("Bucket", "Key")]

    def check_configuration(self) -> list[CheckMessage]:
        problems: list[CheckMessage] = []
        if not self.bucket_name:
            problems.append(
                Warning(
                    "S3AsyncUploadStorage has no bucket name, so no upload can be planned.",
                    hint="Set AWS_STORAGE_BUCKET_NAME, or bucket_name in the storage's OPTIONS.",
                    id="alliance_platform_storage.W011",
                )
            )
        if not self.region_name and not self.endpoint_url:
            problems.append(
                Warning(
                    "S3AsyncUploadStorage has neither a region nor an endpoint URL: presigned URLs then name the "
                    "global endpoint, which redirects for buckets outside us-east-1, and browsers do not follow a "
                    "redirected upload.",
                    hint="Set AWS_S3_REGION_NAME to the bucket's region.",
                    id="alliance_platform_storage.W012",
                )
            )
        if self.signature_version not in (None, "s3v4"):
            problems.append(
                Warning(
                    f"S3AsyncUploadStorage uses signature version {self.signature_version!r}; presigned uploads "
                    "need 's3v4' (the older version is refused by most regions and S3-compatible servers).",
                    hint="Set AWS_S3_SIGNATURE_VERSION = 's3v4' or remove it.",
                    id="alliance_platform_storage.W013",
                )
            )
        if self._upload_method not in UPLOAD_METHODS:
            problems.append(
                Warning(
                    f"S3AsyncUploadStorage.upload_method is {self.upload_method!r}, which is neither 'post' nor 'put': "
                    "every upload would be refused when it is planned.",
                    hint="Set upload_method in the storage's OPTIONS to 'post' (presigned POST, the default) or "
                    "'put' (presigned PUT, for stores without POST uploads such as Cloudflare R2).",
                    id="alliance_platform_storage.W014",
                )
            )
        return problems
