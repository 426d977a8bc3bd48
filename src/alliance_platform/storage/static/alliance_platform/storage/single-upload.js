/*
 * Sending a whole file in one request, where the plan says: a PUT of the raw bytes (Azure SAS, our filesystem
 * endpoint) or an S3 presigned POST, reporting progress as it goes.
 */

import { MESSAGES, UploadError, uploadFailureMessages } from "./messages.js";
import { abortError, isSameOrigin } from "./requests.js";

/**
 * XMLHttpRequest rather than fetch, because only XHR reports upload progress in every browser. Resolves once
 * storage has accepted the file.
 */
export function sendFile(target, file, { signal, token, onProgress }) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError());
      return;
    }
    const method = (target.method || "PUT").toUpperCase();
    const fields = target.fields ?? {};
    // Presigned POST (S3) wants a multipart form: the policy fields first, the file last. Everything else
    // (Azure SAS, our own filesystem endpoint) takes the raw bytes as the body.
    const multipart = method === "POST" && Object.keys(fields).length > 0;
    let body = file;
    if (multipart) {
      body = new FormData();
      for (const [name, value] of Object.entries(fields)) body.append(name, value);
      body.append(target.fileFieldName || "file", file);
    }

    const xhr = new XMLHttpRequest();
    xhr.open(method, target.url);
    for (const [name, value] of Object.entries(target.headers ?? {})) {
      // The browser must write a multipart Content-Type itself, with its boundary.
      if (multipart && name.toLowerCase() === "content-type") continue;
      xhr.setRequestHeader(name, value);
    }
    // Only for our own server: a custom header would make a cross-origin request need CORS approval.
    if (token && isSameOrigin(target.url)) xhr.setRequestHeader("X-CSRFToken", token);

    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new UploadError(uploadFailureMessages(xhr)));
    });
    xhr.addEventListener("error", () => reject(new UploadError([MESSAGES.uploadUnreachable])));
    xhr.addEventListener("abort", () => reject(abortError()));
    signal.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}
