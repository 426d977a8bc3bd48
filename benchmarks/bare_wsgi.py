"""The baseline for the upload benchmark: the least a WSGI app can do with an upload.

It streams ``wsgi.input`` to a new file in 1 MiB chunks (what the filesystem backend does too) and answers 201. No
framework, no database, no signing: whatever our endpoint achieves below this is the cost of Django and the library.
Run under exactly the same gunicorn settings as the Django project (``benchmarks.bare_wsgi:application``).
"""

import os
import uuid

CHUNK_SIZE = 1024 * 1024
OUTPUT_DIR = os.path.join(os.environ["AP_BENCH_DIR"], "bare-uploads")


def application(environ, start_response):
    if environ["REQUEST_METHOD"] != "PUT":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        start_response("411 Length Required", [("Content-Length", "0")])
        return [b""]
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    path = os.path.join(OUTPUT_DIR, uuid.uuid4().hex)
    stream = environ["wsgi.input"]
    received = 0
    with open(path, "xb", buffering=0) as out:
        while received < length:
            chunk = stream.read(min(CHUNK_SIZE, length - received))
            if not chunk:
                break
            out.write(chunk)
            received += len(chunk)
    status = "201 Created" if received == length else "400 Bad Request"
    headers = [("Content-Length", "0"), ("X-Upload-Size", str(received)), ("X-Upload-Path", os.path.basename(path))]
    start_response(status, headers)
    return [b""]
