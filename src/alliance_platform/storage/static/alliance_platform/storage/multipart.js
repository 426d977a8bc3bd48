/*
 * Multipart uploads: S3 multipart uploads and Azure block lists, behind one interface.
 *
 * A multipart plan names a session ({token, uploadId, partSize, partCount} and our endpoints to sign, list,
 * complete and abort). Part URLs are signed on demand, a batch at a time, so none waits long enough to expire;
 * parts go straight to storage, several at once, each retried on its own. Completing names each part by an id:
 * S3 answers each part with an ETag; Azure answers a block with nothing useful, so the signing server says up
 * front which id (the block id) the part will have.
 */

import { MESSAGES, UploadError, collectMessages, uploadFailureMessages } from "./messages.js";
import { abortError, delay, isAbort, readJson } from "./requests.js";

const DEFAULT_PARALLEL_PARTS = 4;
const MAX_PARALLEL_PARTS = 16;
// The most part numbers one signing request may name.
const MAX_SIGN_BATCH = 50;
// Waits before the 1st, 2nd, ... retry of a failed part; a part is given up after this many retries.
const PART_RETRY_DELAYS_MS = [500, 1000, 2000, 4000];

/** How many parts to send at once when `requested` were asked for: at most 16, and 4 unless asked. */
export function parallelParts(requested) {
  return requested > 0 ? Math.min(requested, MAX_PARALLEL_PARTS) : DEFAULT_PARALLEL_PARTS;
}

/** The session in a plan, in the shape kept in localStorage; null when the plan is not a usable multipart plan. */
export function multipartSession(plan, fieldId) {
  const multipart = plan.uploadUrl?.multipart;
  const isText = (value) => typeof value === "string" && value !== "";
  const isCount = (value) => Number.isInteger(value) && value > 0;
  if (!multipart || !isText(multipart.token) || !isCount(multipart.partSize) || !isCount(multipart.partCount)) {
    return null;
  }
  const urls = ["signUrl", "listUrl", "completeUrl", "abortUrl"];
  if (!urls.every((name) => isText(multipart[name]))) return null;
  return {
    key: plan.key,
    fieldId,
    token: multipart.token,
    uploadId: multipart.uploadId ?? "",
    partSize: multipart.partSize,
    partCount: multipart.partCount,
    ...Object.fromEntries(urls.map((name) => [name, multipart[name]])),
    savedAt: Date.now(),
  };
}

/* ------------------------------------------------------------------------------------------------------------
 * Our server's session endpoints
 * ---------------------------------------------------------------------------------------------------------- */

/** POST form fields to one of our multipart endpoints. Resolves to {response, body}; a network failure throws. */
async function postToServer(url, params, { csrf, signal, keepalive = false }) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(params),
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin",
      signal,
      keepalive,
    });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new UploadError([MESSAGES.serverUnreachable], { retryable: true });
  }
  const body = await readJson(response);
  if (signal?.aborted) throw abortError();
  return { response, body };
}

/** A failed answer from one of our endpoints as an UploadError: its {detail} (or field errors), else `fallback`. */
function serverError(response, body, fallback) {
  const messages = collectMessages(body?.detail ?? (response.status === 400 ? body : null));
  const status = response.status;
  return new UploadError(messages.length ? messages : [fallback(status)], {
    retryable: status >= 500 || status === 429 || status === 408,
    final: status >= 400 && status < 500 && status !== 429 && status !== 408,
  });
}

/**
 * The parts storage already holds, as [{partNumber, etag, size}], or null when the server no longer knows the
 * session (expired, completed or aborted: 4xx). Other failures throw, so the session is kept for another try.
 */
export async function listStoredParts(session, { csrf, signal }) {
  const { response, body } = await postToServer(session.listUrl, { token: session.token }, { csrf, signal });
  if (response.ok) {
    if (!Array.isArray(body?.parts)) throw new UploadError([MESSAGES.planMalformed]);
    return body.parts;
  }
  if (response.status >= 400 && response.status < 500 && response.status !== 429 && response.status !== 408) {
    return null;
  }
  throw serverError(response, body, MESSAGES.serverFailed);
}

/** Tell the server to discard a session's parts. Best effort: the cleanup command aborts whatever is left. */
export function abortSession(session, csrf) {
  postToServer(session.abortUrl, { token: session.token }, { csrf, keepalive: true }).catch(() => {});
}

/**
 * Storage answered some parts without an ETag the page may read (the bucket's CORS rules do not expose it): ask
 * the server for the stored parts' ETags instead. One more request, but the upload still completes.
 */
export async function fillMissingEtags(session, etags, { csrf, signal }) {
  const stored = await listStoredParts(session, { csrf, signal });
  if (!stored) throw new UploadError([MESSAGES.missingEtag], { final: true });
  for (const part of stored) {
    if (etags.has(part?.partNumber) && !etags.get(part.partNumber) && typeof part.etag === "string") {
      etags.set(part.partNumber, part.etag);
    }
  }
  if ([...etags.values()].some((etag) => !etag)) throw new UploadError([MESSAGES.missingEtag]);
}

/** Ask the server to assemble the parts into the object. Resolves to the key the hidden input gets. */
export async function completeSession(session, etags, { csrf, signal }) {
  const parts = [...etags.entries()]
    .sort(([a], [b]) => a - b)
    .map(([partNumber, etag]) => ({ partNumber, etag }));
  const params = { token: session.token, parts: JSON.stringify(parts) };
  const { response, body } = await postToServer(session.completeUrl, params, { csrf, signal });
  if (response.ok) return typeof body?.key === "string" && body.key ? body.key : session.key;
  throw serverError(response, body, MESSAGES.completeFailed);
}

/* ------------------------------------------------------------------------------------------------------------
 * Sending the parts
 * ---------------------------------------------------------------------------------------------------------- */

/**
 * Signs part URLs when they are about to be used: asking for part n signs n and the next parts in line that are
 * not signed yet, up to `batchSize`, in one request. A URL is handed out once; a retry asks for a fresh one.
 */
class PartSigner {
  constructor({ session, order, batchSize, csrf, signal }) {
    this.session = session;
    this.order = order;
    this.batchSize = Math.max(1, Math.min(MAX_SIGN_BATCH, batchSize));
    this.csrf = csrf;
    this.signal = signal;
    this.signed = new Map(); // part number -> {url, headers, etag}
    this.signing = new Map(); // part number -> promise of the batch signing it
  }

  async url(partNumber, { fresh = false } = {}) {
    if (fresh) this.signed.delete(partNumber);
    if (!this.signed.has(partNumber)) {
      const inProgress = fresh ? null : this.signing.get(partNumber);
      await (inProgress ?? this.sign(fresh ? [partNumber] : this.batchFrom(partNumber)));
    }
    const target = this.signed.get(partNumber);
    this.signed.delete(partNumber);
    if (!target) throw new UploadError([MESSAGES.planMalformed]);
    return target;
  }

  batchFrom(partNumber) {
    const numbers = [partNumber];
    for (let index = this.order.indexOf(partNumber) + 1; index < this.order.length; index += 1) {
      if (numbers.length >= this.batchSize) break;
      const next = this.order[index];
      if (!this.signed.has(next) && !this.signing.has(next)) numbers.push(next);
    }
    return numbers;
  }

  sign(numbers) {
    const { session, csrf, signal } = this;
    const batch = (async () => {
      const params = { token: session.token, partNumbers: numbers.join(",") };
      const { response, body } = await postToServer(session.signUrl, params, { csrf, signal });
      if (!response.ok) throw serverError(response, body, MESSAGES.serverFailed);
      for (const part of Array.isArray(body?.parts) ? body.parts : []) {
        if (numbers.includes(part?.partNumber) && typeof part.url === "string" && part.url) {
          const etag = typeof part.etag === "string" && part.etag ? part.etag : null;
          this.signed.set(part.partNumber, { url: part.url, headers: part.headers ?? {}, etag });
        }
      }
    })();
    for (const number of numbers) this.signing.set(number, batch);
    const settle = () => {
      for (const number of numbers) if (this.signing.get(number) === batch) this.signing.delete(number);
    };
    batch.then(settle, settle);
    return batch;
  }
}

/**
 * PUT one part's bytes to its presigned URL. Resolves to the part's id: the one the server gave when signing
 * (Azure block ids), else the ETag storage answered with, quotes and all, or null when the bucket's CORS rules
 * hide that header (the ETags are then read from the list of stored parts).
 */
function sendPart(target, blob, { signal, onProgress }) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError());
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const settle = (callback, value) => {
      signal.removeEventListener("abort", onAbort);
      callback(value);
    };
    xhr.open("PUT", target.url);
    for (const [name, value] of Object.entries(target.headers ?? {})) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => onProgress(Math.min(event.loaded, blob.size)));
    xhr.addEventListener("load", () => {
      const status = xhr.status;
      if (status >= 200 && status < 300) {
        settle(resolve, target.etag || xhr.getResponseHeader("ETag") || null);
        return;
      }
      // 403 is typically a URL that expired while it waited: a freshly signed one will do.
      const retryable = status >= 500 || status === 403 || status === 408 || status === 429;
      settle(reject, new UploadError(uploadFailureMessages(xhr), { retryable }));
    });
    xhr.addEventListener("error", () => {
      settle(reject, new UploadError([MESSAGES.uploadUnreachable], { retryable: true }));
    });
    xhr.addEventListener("abort", () => settle(reject, abortError()));
    signal.addEventListener("abort", onAbort, { once: true });
    xhr.send(blob);
  });
}

/**
 * Send every part that storage does not hold yet, `parallel` at a time. `stored` are the parts the server listed
 * (resuming); a listed part whose size is not what this file needs is sent again. Progress counts the bytes of
 * finished parts plus what the parts in flight have sent. Resolves to a Map of part number -> ETag (null when
 * storage's answer did not show it) for all parts.
 */
export async function sendParts({ file, session, stored, parallel, csrf, signal, onProgress }) {
  const { partSize, partCount } = session;
  const bounds = (number) => [(number - 1) * partSize, Math.min(number * partSize, file.size)];
  const lengthOf = (number) => {
    const [start, end] = bounds(number);
    return Math.max(0, end - start);
  };

  const etags = new Map();
  let finishedBytes = 0;
  for (const part of stored) {
    const number = part?.partNumber;
    if (!Number.isInteger(number) || number < 1 || number > partCount || etags.has(number)) continue;
    if (typeof part.etag !== "string" || !part.etag) continue;
    if (part.size != null && part.size !== lengthOf(number)) continue;
    etags.set(number, part.etag);
    finishedBytes += lengthOf(number);
  }
  const order = [];
  for (let number = 1; number <= partCount; number += 1) if (!etags.has(number)) order.push(number);

  const inFlight = new Map(); // part number -> bytes sent so far
  const report = () => {
    let sending = 0;
    for (const bytes of inFlight.values()) sending += bytes;
    onProgress(file.size > 0 ? (finishedBytes + sending) / file.size : 0);
  };
  report();
  if (order.length === 0) return etags;

  // The first part that fails for good stops the others: the upload failed, and resuming sends what is missing.
  const run = new AbortController();
  const stopRun = () => run.abort();
  signal.addEventListener("abort", stopRun, { once: true });
  const workers = Math.max(1, Math.min(parallel, order.length));
  const signer = new PartSigner({ session, order, batchSize: workers * 4, csrf, signal: run.signal });

  const sendWithRetries = async (number) => {
    const [start, end] = bounds(number);
    const blob = file.slice(start, end);
    for (let attempt = 0; ; attempt += 1) {
      try {
        // Retries re-sign: the URL may have expired while the part waited or failed.
        const target = await signer.url(number, { fresh: attempt > 0 });
        const etag = await sendPart(target, blob, {
          signal: run.signal,
          onProgress: (bytes) => {
            inFlight.set(number, bytes);
            report();
          },
        });
        inFlight.delete(number);
        etags.set(number, etag);
        finishedBytes += blob.size;
        report();
        return;
      } catch (error) {
        inFlight.delete(number);
        report();
        if (isAbort(error) || !error?.retryable || attempt >= PART_RETRY_DELAYS_MS.length) throw error;
        await delay(PART_RETRY_DELAYS_MS[attempt], run.signal);
      }
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < order.length) {
      const number = order[next];
      next += 1;
      await sendWithRetries(number);
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } catch (error) {
    run.abort();
    throw signal.aborted ? abortError() : error;
  } finally {
    signal.removeEventListener("abort", stopRun);
  }
  return etags;
}
