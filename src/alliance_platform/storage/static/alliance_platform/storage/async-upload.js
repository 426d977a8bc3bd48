/*
 * Async file upload widget for alliance_platform.storage.
 *
 * Every element with [data-async-upload] (rendered by the AsyncFileInput widget) uploads the file the user picks
 * straight to storage: it asks the server for an upload plan, sends the file where the plan says while showing
 * progress, and stores the resulting key in the hidden input that the form submits. The file itself never goes
 * through the form.
 *
 * Large files may get a multipart plan instead (S3 multipart uploads, Azure block lists): the file goes up in
 * parts, several at a time, each part retried on its own, and an interrupted upload resumes (after a dropped
 * connection or a page reload) without sending the parts that storage already has.
 *
 * Served as-is as an ES module: no dependencies, no build step. The browser runs a module once per page however
 * many widgets include it; widgets added later (Django admin inlines, fragments swapped in by other scripts) are
 * picked up by a MutationObserver.
 */

const ROOT_SELECTOR = "[data-async-upload]";

// Roots already set up. A WeakSet rather than a marker attribute, because the admin clones inline rows together
// with their attributes, and a clone must still be set up.
const initialised = new WeakSet();
// Root element -> its widget, for the submit guard and for stopping uploads of rows that were removed.
const widgets = new WeakMap();
// Forms whose submit event is already guarded.
const guardedForms = new WeakSet();

let idCounter = 0;

// Every text the script shows, in one place.
const MESSAGES = {
  uploading: (name) => `Uploading ${name}…`,
  uploaded: (name) => `${name} uploaded.`,
  cancelled: "Upload cancelled.",
  removed: "File removed.",
  removedSaved: "The current file will be removed when you save.",
  tooLarge: (name, size, limit) => `“${name}” is ${size}; files can be at most ${limit}.`,
  wrongType: (name, allowed) => `“${name}” is not an allowed type of file. Allowed: ${allowed}.`,
  oneFile: "Drop one file at a time.",
  planUnreachable: "Could not reach the server to start the upload. Check your connection and try again.",
  planMalformed: "The server sent an unexpected answer. Try again.",
  signedOut: "The server did not accept the upload request; you may have been signed out. Reload the page and try again.",
  planFailed: (status) => `The upload could not be started (error ${status}). Try again.`,
  uploadUnreachable: "The upload failed: the storage server could not be reached. Try again.",
  uploadFailed: (status) => `The upload failed (error ${status}). Try again.`,
  resuming: (name) => `Resuming the upload of ${name}…`,
  serverUnreachable: "Could not reach the server. Check your connection and try again.",
  serverFailed: (status) => `The server could not continue the upload (error ${status}). Try again.`,
  completeFailed: (status) => `The upload could not be completed (error ${status}). Try again.`,
  missingEtag:
    "The storage server did not return the ETag of a part of the file. " +
    "Its CORS configuration must expose the ETag header.",
  unexpected: "Something went wrong with the upload. Try again.",
  submitBlocked: "Please wait until the upload has finished, then save again.",
};

/** An upload failure with the messages to show to the user. */
class UploadError extends Error {
  /**
   * `retryable`: a part upload may succeed when tried again (network failure, expired URL, busy server).
   * `final`: the server gave up on this multipart upload; resuming it is pointless.
   */
  constructor(messages, { retryable = false, final = false } = {}) {
    super(messages.join(" "));
    this.name = "UploadError";
    this.messages = messages;
    this.retryable = retryable;
    this.final = final;
  }
}

const abortError = () => new DOMException("The upload was cancelled.", "AbortError");
const isAbort = (error) => error?.name === "AbortError";

/* ------------------------------------------------------------------------------------------------------------
 * Small pure helpers
 * ---------------------------------------------------------------------------------------------------------- */

/** Same units as Django's filesizeformat, so client and server messages agree. */
function formatBytes(bytes) {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : Math.round(value * 10) / 10} ${units[unit]}`;
}

function acceptEntries(accept) {
  return (accept || "")
    .split(",")
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * Whether `file` satisfies an <input accept> list (extensions, MIME types, MIME wildcards).
 *
 * Browsers do not enforce `accept` (drag and drop ignores it, and the picker lets users choose "All files"), so
 * we check before planning. When the browser does not know the file's type we cannot judge MIME entries and leave
 * the decision to the server, which checks again anyway.
 */
function matchesAccept(file, accept) {
  const entries = acceptEntries(accept);
  if (entries.length === 0) return true;
  const name = file.name.toLowerCase();
  const type = (file.type || "").toLowerCase();
  const byExtension = entries.filter((entry) => entry.startsWith("."));
  if (byExtension.some((ext) => name.endsWith(ext))) return true;
  const byType = entries.filter((entry) => !entry.startsWith("."));
  if (!type) return byType.length > 0;
  return byType.some((entry) => (entry.endsWith("/*") ? type.startsWith(entry.slice(0, -1)) : type === entry));
}

const isImageFile = (file) => (file.type || "").startsWith("image/");

/** Flatten whatever error shape the server sent (strings, lists, {field: [...]}, {message, code}) to strings. */
function collectMessages(value) {
  if (value == null || value === "") return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(collectMessages);
  if (typeof value === "object") {
    if (typeof value.message === "string") return [value.message];
    return Object.values(value).flatMap(collectMessages);
  }
  return [String(value)];
}

/** Django's CSRF token: the cookie when readable, else the token rendered into the form (CSRF_COOKIE_HTTPONLY). */
function csrfToken(form) {
  const cookie = document.cookie
    .split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  const input =
    form?.querySelector("input[name=csrfmiddlewaretoken]") ??
    document.querySelector("input[name=csrfmiddlewaretoken]");
  return input?.value ?? "";
}

function isSameOrigin(url) {
  try {
    return new URL(url, document.baseURI).origin === window.location.origin;
  } catch {
    return false;
  }
}

/** Read an image's natural size by decoding it; resolves to null when the browser cannot decode it. */
function readImageSize(url) {
  return new Promise((resolve) => {
    const image = new Image();
    image.onload = () =>
      resolve(image.naturalWidth && image.naturalHeight ? { width: image.naturalWidth, height: image.naturalHeight } : null);
    image.onerror = () => resolve(null);
    image.src = url;
  });
}

/* ------------------------------------------------------------------------------------------------------------
 * Talking to the server and to storage
 * ---------------------------------------------------------------------------------------------------------- */

async function readJson(response) {
  try {
    return JSON.parse(await response.text());
  } catch {
    return null;
  }
}

/** Step 1: ask our server where and how to upload. Resolves to {uploadUrl, key}. */
async function requestPlan({ url, params, token, signal }) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(params),
      headers: { "X-CSRFToken": token, Accept: "application/json" },
      credentials: "same-origin",
      signal,
    });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new UploadError([MESSAGES.planUnreachable]);
  }
  const body = await readJson(response);
  if (signal.aborted) throw abortError();
  if (response.ok) {
    if (typeof body?.uploadUrl?.url === "string" && typeof body.key === "string" && body.key) return body;
    // An expired session typically shows up as a redirect to a login page that answers 200 with HTML.
    throw new UploadError([response.redirected ? MESSAGES.signedOut : MESSAGES.planMalformed]);
  }
  // 400 carries {field: [messages]} (show them all); 403 and 429 carry {detail}.
  const messages = response.status === 400 ? collectMessages(body) : collectMessages(body?.detail);
  throw new UploadError(messages.length ? messages : [MESSAGES.planFailed(response.status)]);
}

/** The most useful message in a failed upload response: JSON {detail}, S3/Azure XML <Message>, or the status. */
function uploadFailureMessages(xhr) {
  const text = typeof xhr.responseText === "string" ? xhr.responseText.trim() : "";
  if (text.startsWith("{") || text.startsWith("[")) {
    try {
      const body = JSON.parse(text);
      const messages = collectMessages(body?.detail ?? body);
      if (messages.length) return messages;
    } catch {
      // Not JSON after all: fall through.
    }
  }
  if (text.startsWith("<")) {
    const xml = new DOMParser().parseFromString(text, "application/xml");
    const message = xml.querySelector("Message")?.textContent?.trim();
    if (message) return [message];
  }
  return [MESSAGES.uploadFailed(xhr.status)];
}

/**
 * Step 2: send the file where the plan says. XMLHttpRequest rather than fetch, because only XHR reports upload
 * progress in every browser.
 */
function sendFile(target, file, { signal, token, onProgress }) {
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

/* ------------------------------------------------------------------------------------------------------------
 * Multipart uploads
 *
 * A multipart plan names a session ({token, uploadId, partSize, partCount} and our endpoints to sign, list,
 * complete and abort). Part URLs are signed on demand, a batch at a time, so none waits long enough to expire;
 * parts go straight to storage, several at once. Completing names each part by an id: S3 answers each part with
 * an ETag; Azure answers a block with nothing useful, so the signing server says up front which id (the block
 * id) the part will have.
 * ---------------------------------------------------------------------------------------------------------- */

const DEFAULT_PARALLEL_PARTS = 4;
const MAX_PARALLEL_PARTS = 16;
// The most part numbers one signing request may name.
const MAX_SIGN_BATCH = 50;
// Waits before the 1st, 2nd, ... retry of a failed part; a part is given up after this many retries.
const PART_RETRY_DELAYS_MS = [500, 1000, 2000, 4000];
// localStorage: where sessions are remembered for resuming after a reload, and how long at most.
const RESUME_PREFIX = "alliance-platform-storage:multipart:";
const RESUME_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
// Resume key -> the pending upload of this page that is using that session. Two widgets of one field (admin
// inline rows) given the same file must not both continue one upload: the second starts its own.
const sessionsInUse = new Map();

/** The session in a plan, in the shape kept in localStorage; null when the plan is not a usable multipart plan. */
function multipartSession(plan, fieldId) {
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

/**
 * Sessions by file, so picking the same file again (after a reload, or "Try again") continues where it stopped.
 * A file is recognised by its name, size and modification time, within one field (and record, when editing).
 * localStorage may be missing or full (private windows, quotas): resuming is then simply not offered.
 */
const resumeStore = {
  keyFor(fieldId, instanceId, file) {
    return RESUME_PREFIX + JSON.stringify([fieldId ?? "", instanceId ?? "", file.name, file.size, file.lastModified]);
  },

  get(key) {
    try {
      const entry = JSON.parse(window.localStorage.getItem(key) ?? "null");
      if (entry && typeof entry.token === "string" && Date.now() - (entry.savedAt ?? 0) < RESUME_MAX_AGE_MS) {
        return entry;
      }
      if (entry) window.localStorage.removeItem(key);
    } catch {
      // Unavailable or not ours to read: nothing to resume.
    }
    return null;
  },

  set(key, entry) {
    try {
      window.localStorage.setItem(key, JSON.stringify(entry));
    } catch {
      // Quota or privacy settings: the upload still works, it just cannot resume after a reload.
    }
  },

  /** Forget the session stored for `key`; only if it is still the one with `token`, when given. */
  remove(key, token = null) {
    try {
      if (token !== null && JSON.parse(window.localStorage.getItem(key) ?? "null")?.token !== token) return;
      window.localStorage.removeItem(key);
    } catch {
      // Nothing stored, then.
    }
  },

  /** Forget sessions too old to be resumed (the server would refuse them anyway). */
  prune() {
    try {
      const keys = [];
      for (let index = 0; index < window.localStorage.length; index += 1) {
        const key = window.localStorage.key(index);
        if (key?.startsWith(RESUME_PREFIX)) keys.push(key);
      }
      for (const key of keys) this.get(key);
    } catch {
      // Unavailable: nothing stored either.
    }
  },
};

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
async function listStoredParts(session, { csrf, signal }) {
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
function abortSession(session, csrf) {
  postToServer(session.abortUrl, { token: session.token }, { csrf, keepalive: true }).catch(() => {});
}

/** Wait `ms`, or reject at once when `signal` aborts. */
function delay(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

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
async function sendParts({ file, session, stored, parallel, csrf, signal, onProgress }) {
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

/**
 * Storage answered some parts without an ETag the page may read (the bucket's CORS rules do not expose it): ask
 * the server for the stored parts' ETags instead. One more request, but the upload still completes.
 */
async function fillMissingEtags(session, etags, { csrf, signal }) {
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
async function completeSession(session, etags, { csrf, signal }) {
  const parts = [...etags.entries()]
    .sort(([a], [b]) => a - b)
    .map(([partNumber, etag]) => ({ partNumber, etag }));
  const params = { token: session.token, parts: JSON.stringify(parts) };
  const { response, body } = await postToServer(session.completeUrl, params, { csrf, signal });
  if (response.ok) return typeof body?.key === "string" && body.key ? body.key : session.key;
  throw serverError(response, body, MESSAGES.completeFailed);
}

/** `pending` (a widget's upload) now uses `session`, remembered under `resumeKey`. */
function claimSession(pending, resumeKey, session) {
  pending.session = session;
  pending.resumeKey = resumeKey;
  sessionsInUse.set(resumeKey, pending);
}

function releaseSession(pending) {
  if (pending.resumeKey && sessionsInUse.get(pending.resumeKey) === pending) sessionsInUse.delete(pending.resumeKey);
}

/* ------------------------------------------------------------------------------------------------------------
 * The widget
 * ---------------------------------------------------------------------------------------------------------- */

const EMPTY = Object.freeze({ kind: "empty", value: "", name: "", url: null, previewUrl: null, ownsPreview: false });

/**
 * One widget. Its state is:
 *  - `committed`: what the hidden input holds (nothing, the saved file, or a finished upload);
 *  - `phase`: "idle", "uploading" or "error";
 *  - `pending`: the file being uploaded, or the one whose upload failed (kept for "Try again"), with its
 *    multipart session if it has one.
 * `render()` derives the whole DOM from that, so every action only changes state and calls it.
 */
class AsyncUploadWidget {
  constructor(root) {
    this.root = root;
    this.phase = "idle";
    this.pending = null;
    this.errors = [];
    this.blockedMessage = null;
    this.renderedErrors = null;
    this.brokenPreview = null;
    this.dragDepth = 0;
    this.committed = this.readInitialValue();
    this.linkDescriptions();
    this.formatHint();
    this.bindEvents();
    guardForm(this.hiddenInput?.form);
    this.render();
  }

  // Parts are looked up when used, never cached: the admin renames inputs of cloned rows.
  part(role) {
    return this.root.querySelector(`[data-role="${role}"]`);
  }

  get hiddenInput() {
    return this.part("value") ?? this.root.querySelector("input[type=hidden]");
  }

  get fileInput() {
    return this.part("file-input");
  }

  get disabled() {
    return Boolean(this.fileInput?.disabled);
  }

  get isImageField() {
    return this.root.dataset.isImage === "true";
  }

  /** How many parts of a multipart upload are sent at once: `data-parallel-parts` on the root, else 4. */
  get parallelParts() {
    const value = Number.parseInt(this.root.dataset.parallelParts || "", 10);
    return value > 0 ? Math.min(value, MAX_PARALLEL_PARTS) : DEFAULT_PARALLEL_PARTS;
  }

  get state() {
    return this.phase === "idle" ? this.committed.kind : this.phase;
  }

  /** What the server rendered: the saved file (with its link), an upload kept after a form error, or nothing. */
  readInitialValue() {
    const value = this.hiddenInput?.value ?? "";
    if (!value) return EMPTY;
    let parsed = {};
    try {
      parsed = JSON.parse(value) ?? {};
    } catch {
      // Keep the value as it is: the server decides what it means.
    }
    const url = this.part("current-link")?.getAttribute("href") || parsed.url || null;
    return {
      kind: url ? "existing" : "done",
      value,
      name: this.part("filename")?.textContent.trim() || parsed.name || "",
      url,
      previewUrl: this.part("preview")?.getAttribute("src") || null,
      ownsPreview: false,
    };
  }

  /**
   * Tie the hint and the file name to the controls for screen readers. The ids are made here, not in the
   * template, because the admin only renames "__prefix__" in id/name/for attributes of cloned rows.
   */
  linkDescriptions() {
    const uid = `ap-upload-${++idCounter}`;
    const hint = this.part("hint");
    const filename = this.part("filename");
    if (hint) hint.id = `${uid}-hint`;
    if (filename) filename.id = `${uid}-filename`;
    const describe = (element, ...ids) => {
      if (!element) return;
      const existing = (element.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      const all = [...new Set([...existing, ...ids.filter(Boolean)])];
      if (all.length) element.setAttribute("aria-describedby", all.join(" "));
    };
    describe(this.fileInput, hint?.id, filename?.id);
    for (const role of ["replace", "clear", "retry", "cancel"]) describe(this.part(role), filename?.id);
  }

  /** "image/*,.pdf" reads better as "image/*, .pdf". */
  formatHint() {
    const list = this.part("accept-list");
    if (list) list.textContent = acceptEntries(list.textContent).join(", ");
  }

  bindEvents() {
    // Delegated to the root, so parts replaced or renamed later still work.
    this.root.addEventListener("change", (event) => {
      if (event.target.matches?.('[data-role="file-input"]')) this.onPick(event.target);
    });
    this.root.addEventListener("click", (event) => this.onClick(event));
    for (const type of ["dragenter", "dragover", "dragleave", "drop"]) {
      this.root.addEventListener(type, (event) => this.onDrag(event));
    }
    // "error" does not bubble, hence the capture phase.
    this.root.addEventListener(
      "error",
      (event) => {
        if (event.target.matches?.('[data-role="preview"]')) {
          this.brokenPreview = event.target.getAttribute("src");
          event.target.hidden = true;
        }
      },
      true,
    );
  }

  onPick(input) {
    const file = input.files?.[0];
    // Reset, so that picking the same file again (say, after a failure) still fires "change".
    input.value = "";
    if (file) this.start(file);
  }

  onClick(event) {
    const button = event.target.closest?.("button[data-role]");
    if (button && this.root.contains(button)) {
      const actions = {
        replace: () => this.openPicker(),
        clear: () => this.clear(),
        cancel: () => this.cancel(),
        retry: () => this.retry(),
      };
      actions[button.dataset.role]?.();
      return;
    }
    // The drop zone is a large click target for the (visually hidden) file input.
    if (event.target.closest?.('[data-role="drop-zone"]')) this.openPicker();
  }

  onDrag(event) {
    const types = Array.from(event.dataTransfer?.types ?? []);
    if (!types.includes("Files")) return;
    // Without preventDefault on dragenter/dragover the browser would open the dropped file instead.
    event.preventDefault();
    if (event.type === "dragenter") this.dragDepth += 1;
    // dragleave also fires when moving between children, hence the counter.
    if (event.type === "dragleave") this.dragDepth = Math.max(0, this.dragDepth - 1);
    if (event.type === "dragover") event.dataTransfer.dropEffect = this.disabled ? "none" : "copy";
    if (event.type === "drop") {
      this.dragDepth = 0;
      this.onDrop(event.dataTransfer.files);
    }
    this.root.classList.toggle("is-dragover", this.dragDepth > 0 && !this.disabled);
  }

  onDrop(files) {
    if (this.disabled || !files || files.length === 0) return;
    if (files.length > 1) {
      this.discardPending();
      this.fail([MESSAGES.oneFile]);
      return;
    }
    this.start(files[0]);
  }

  openPicker() {
    if (!this.disabled) this.fileInput?.click();
  }

  /** Client-side checks, so users learn about a wrong file at once. The server checks everything again. */
  validate(file) {
    const problems = [];
    const maxSize = Number.parseInt(this.root.dataset.maxSize || "", 10);
    if (maxSize > 0 && file.size > maxSize) {
      problems.push(MESSAGES.tooLarge(file.name, formatBytes(file.size), formatBytes(maxSize)));
    }
    const accept = this.root.dataset.accept ?? this.fileInput?.getAttribute("accept") ?? "";
    if (!matchesAccept(file, accept)) problems.push(MESSAGES.wrongType(file.name, acceptEntries(accept).join(", ")));
    return problems;
  }

  start(file) {
    if (this.disabled) return;
    // A new file replaces an upload still running or one that failed. Picking the same file again keeps its
    // multipart session, so the upload resumes.
    this.discardPending({ keepSessionOf: file });
    guardForm(this.hiddenInput?.form);
    const problems = this.validate(file);
    if (problems.length) {
      this.pending = { file, previewUrl: null, retryable: false, abort: null };
      this.fail(problems);
      return;
    }
    this.pending = {
      file,
      previewUrl: isImageFile(file) ? URL.createObjectURL(file) : null,
      retryable: true,
      abort: null,
    };
    this.upload();
  }

  /**
   * Plan, upload, then commit the key. Also used by "Try again", which re-plans because plans expire, unless the
   * file has a multipart session to resume.
   */
  async upload() {
    const pending = this.pending;
    const { file } = pending;
    const controller = new AbortController();
    const { signal } = controller;
    pending.abort = () => controller.abort();
    // Still the upload the user wants? (They may have cancelled, cleared or picked another file meanwhile.)
    const isCurrent = () => this.pending === pending && !signal.aborted;

    this.phase = "uploading";
    this.errors = [];
    this.blockedMessage = null;
    this.setProgress(0);
    this.announce(MESSAGES.uploading(file.name));
    this.render();

    // Decoding runs alongside the upload; the dimensions are only hints, the server reads the real ones.
    const dimensions = this.isImageField && pending.previewUrl ? readImageSize(pending.previewUrl) : null;
    const token = csrfToken(this.hiddenInput?.form);
    const onProgress = (fraction) => isCurrent() && this.setProgress(fraction);
    try {
      const key = await this.transfer(pending, { token, signal, onProgress });
      const size = await dimensions;
      if (!isCurrent()) return;
      this.finish(key, file, size);
    } catch (error) {
      if (!isCurrent() || isAbort(error)) return;
      if (!(error instanceof UploadError)) console.error(error);
      this.fail(error instanceof UploadError ? error.messages : [MESSAGES.unexpected]);
    }
  }

  /** Get `pending.file` into storage; resolves to its temporary key. */
  async transfer(pending, { token, signal, onProgress }) {
    const { file } = pending;
    const resumeKey = this.resumeKey(file);
    const user = sessionsInUse.get(resumeKey);
    const saved = user && user !== pending ? null : resumeStore.get(resumeKey);
    if (saved) {
      claimSession(pending, resumeKey, saved);
      const stored = await listStoredParts(saved, { csrf: token, signal });
      if (stored) {
        if (stored.length) this.announce(MESSAGES.resuming(file.name));
        return this.sendMultipart(pending, stored, { token, signal, onProgress });
      }
      // Expired, completed or aborted on the server: start afresh.
      this.endSession(pending, { abort: false });
    }

    const plan = await requestPlan({ url: this.root.dataset.planUrl, params: this.planParams(file), token, signal });
    if (String(plan.uploadUrl.method).toUpperCase() === "MULTIPART") {
      const session = multipartSession(plan, this.root.dataset.fieldId ?? "");
      if (!session) throw new UploadError([MESSAGES.planMalformed]);
      claimSession(pending, resumeKey, session);
      resumeStore.set(resumeKey, session);
      return this.sendMultipart(pending, [], { token, signal, onProgress });
    }
    await sendFile(plan.uploadUrl, file, { signal, token, onProgress });
    return plan.key;
  }

  async sendMultipart(pending, stored, { token, signal, onProgress }) {
    const { file, session, resumeKey } = pending;
    const etags = await sendParts({
      file,
      session,
      stored,
      parallel: this.parallelParts,
      csrf: token,
      signal,
      onProgress,
    });
    let key;
    try {
      if ([...etags.values()].some((etag) => !etag)) await fillMissingEtags(session, etags, { csrf: token, signal });
      key = await completeSession(session, etags, { csrf: token, signal });
    } catch (error) {
      // Refused for good (too large, parts missing): resuming would only be refused again.
      if (error instanceof UploadError && error.final) this.endSession(pending, { abort: true });
      throw error;
    }
    this.endSession(pending, { abort: false });
    return key;
  }

  /** Forget `pending`'s multipart session, and have the server discard its parts when `abort` is set. */
  endSession(pending, { abort }) {
    const { session } = pending;
    if (!session) return;
    if (abort) abortSession(session, csrfToken(this.hiddenInput?.form));
    resumeStore.remove(pending.resumeKey, session.token);
    releaseSession(pending);
    pending.session = null;
  }

  resumeKey(file) {
    return resumeStore.keyFor(this.root.dataset.fieldId, this.root.dataset.instanceId, file);
  }

  planParams(file) {
    const { fieldId, instanceId } = this.root.dataset;
    const params = { fieldId: fieldId ?? "", filename: file.name, size: String(file.size) };
    if (file.type) params.contentType = file.type;
    if (instanceId) params.instanceId = instanceId;
    return params;
  }

  finish(key, file, size) {
    const { previewUrl } = this.pending;
    const value = { key, name: file.name, ...(size ?? {}) };
    this.pending = null;
    this.phase = "idle";
    this.blockedMessage = null;
    this.setProgress(1);
    this.setCommitted({
      kind: "done",
      value: JSON.stringify(value),
      name: file.name,
      url: null,
      previewUrl,
      ownsPreview: Boolean(previewUrl),
    });
    this.announce(MESSAGES.uploaded(file.name));
    this.render();
  }

  fail(messages) {
    this.phase = "error";
    this.errors = messages;
    this.blockedMessage = null;
    this.announce("");
    this.render();
  }

  /** Stop the upload (or dismiss the error) and go back to what the field held before. */
  cancel() {
    const wasUploading = this.phase === "uploading";
    this.discardPending();
    this.phase = "idle";
    this.errors = [];
    this.announce(wasUploading ? MESSAGES.cancelled : "");
    this.render();
  }

  retry() {
    if (this.phase === "error" && this.pending?.retryable) this.upload();
  }

  /** Empty the field. For a saved file this means "delete it" once the form is saved. */
  clear() {
    const hadSavedFile = this.committed.kind === "existing";
    this.discardPending();
    this.phase = "idle";
    this.errors = [];
    this.setCommitted(EMPTY);
    this.announce(hadSavedFile ? MESSAGES.removedSaved : MESSAGES.removed);
    this.render();
  }

  /** The form was submitted while this widget uploads: say why nothing happens. */
  blockSubmit() {
    this.blockedMessage = MESSAGES.submitBlocked;
    this.render();
  }

  /** Called when the widget left the page (e.g. an inline row was deleted): nobody needs its upload anymore. */
  stop() {
    if (this.phase === "uploading") this.discardPending();
  }

  /**
   * Stop and drop the pending upload. Its multipart session is aborted on the server too, unless it belongs to
   * `keepSessionOf` (the same file picked again, which resumes it).
   */
  discardPending({ keepSessionOf = null } = {}) {
    const { pending } = this;
    if (!pending) return;
    this.pending = null;
    pending.abort?.();
    const sameFile = keepSessionOf && pending.resumeKey === this.resumeKey(keepSessionOf);
    if (sameFile) releaseSession(pending);
    else this.endSession(pending, { abort: true });
    if (pending.previewUrl && pending.previewUrl !== this.committed.previewUrl) URL.revokeObjectURL(pending.previewUrl);
  }

  setCommitted(next) {
    const previous = this.committed;
    if (previous.ownsPreview && previous.previewUrl !== next.previewUrl) URL.revokeObjectURL(previous.previewUrl);
    this.committed = next;
    const input = this.hiddenInput;
    if (input && input.value !== next.value) {
      input.value = next.value;
      // Let other scripts (dirty-form warnings, dependent fields) notice, as if the user had typed.
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  setProgress(fraction) {
    // Hold at 99% until storage has answered: all bytes sent is not the same as stored.
    const percent = fraction >= 1 ? 100 : Math.min(99, Math.max(0, Math.floor(fraction * 100)));
    const progress = this.part("progress");
    const text = this.part("progress-text");
    if (progress) progress.value = percent;
    if (text) text.textContent = `${percent}%`;
  }

  announce(message) {
    const status = this.part("status");
    if (status) status.textContent = message;
  }

  render() {
    const { committed, pending, phase } = this;
    const state = this.state;
    // Remembered before anything is hidden: browsers drop focus from an element the moment it disappears.
    const focused = this.root.contains(document.activeElement) ? document.activeElement : null;
    this.root.dataset.state = state;

    // While uploading or after a failure, show the new file; otherwise what the hidden input holds.
    const shown =
      phase === "idle"
        ? committed
        : { name: pending?.file.name ?? "", url: null, previewUrl: pending?.previewUrl ?? null };
    const show = (role, visible) => {
      const element = this.part(role);
      if (element) element.hidden = !visible;
      return element;
    };

    show("drop-zone", state === "empty" || state === "error");
    show("file", Boolean(shown.name));
    const filename = this.part("filename");
    if (filename) filename.textContent = shown.name;
    const link = show("current-link", Boolean(shown.url));
    if (link && shown.url) link.href = shown.url;
    this.renderPreview(shown.previewUrl);
    show("progress-group", phase === "uploading");

    const hasValue = phase === "idle" && committed.kind !== "empty";
    show("replace", hasValue);
    show("clear", hasValue);
    show("retry", phase === "error" && Boolean(pending?.retryable));
    show("cancel", phase !== "idle");
    for (const role of ["replace", "clear", "retry", "cancel"]) {
      const button = this.part(role);
      if (button) button.disabled = this.disabled;
    }
    this.renderErrors();
    this.rescueFocus(focused);
  }

  renderPreview(url) {
    const image = this.part("preview");
    if (!image) return;
    if (!url) {
      image.hidden = true;
      image.removeAttribute("src");
      return;
    }
    if (image.getAttribute("src") !== url) image.src = url;
    image.hidden = url === this.brokenPreview;
  }

  renderErrors() {
    const region = this.part("error");
    if (!region) return;
    const messages = [...this.errors, ...(this.blockedMessage ? [this.blockedMessage] : [])];
    const key = JSON.stringify(messages);
    // Rewriting identical content would make screen readers announce the alert again.
    if (key === this.renderedErrors) return;
    this.renderedErrors = key;
    region.replaceChildren();
    if (messages.length === 1) {
      region.textContent = messages[0];
    } else if (messages.length > 1) {
      const list = document.createElement("ul");
      for (const message of messages) {
        const item = document.createElement("li");
        item.textContent = message;
        list.append(item);
      }
      region.append(list);
    }
  }

  /** A button that just got hidden must not take keyboard focus with it (keyboard users would land on <body>). */
  rescueFocus(focused) {
    if (!focused?.closest("[hidden]")) return;
    const cancel = this.part("cancel");
    const target = cancel && !cancel.hidden ? cancel : this.fileInput;
    target?.focus({ preventScroll: true });
  }
}

/* ------------------------------------------------------------------------------------------------------------
 * Forms and set-up
 * ---------------------------------------------------------------------------------------------------------- */

/** Block submitting `form` while any of its widgets uploads: the key would not be in the form yet. */
function guardForm(form) {
  if (!form || guardedForms.has(form)) return;
  guardedForms.add(form);
  // Capture phase, so we run before the page's own submit handlers (which may disable buttons or submit by XHR).
  form.addEventListener(
    "submit",
    (event) => {
      const busy = [];
      for (const element of form.elements) {
        const widget = widgets.get(element.closest?.(ROOT_SELECTOR));
        if (widget?.phase === "uploading" && !busy.includes(widget)) busy.push(widget);
      }
      if (busy.length === 0) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      for (const widget of busy) widget.blockSubmit();
      const reduce = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
      busy[0].root.scrollIntoView({ block: "nearest", behavior: reduce ? "auto" : "smooth" });
    },
    true,
  );
}

/** Rows the admin keeps as templates for "Add another" must stay inert; only their clones become widgets. */
function isTemplateRow(root) {
  const name = root.querySelector('[data-role="value"]')?.name ?? "";
  return Boolean(root.closest(".empty-form")) || name.includes("__prefix__");
}

function initRoot(root) {
  if (initialised.has(root) || isTemplateRow(root)) return;
  initialised.add(root);
  widgets.set(root, new AsyncUploadWidget(root));
}

function rootsIn(node) {
  const roots = node.matches?.(ROOT_SELECTOR) ? [node] : [];
  return [...roots, ...(node.querySelectorAll?.(ROOT_SELECTOR) ?? [])];
}

/** Set up every widget in `scope` (the whole document by default). Safe to call again. */
export function initAsyncUploads(scope = document) {
  for (const root of rootsIn(scope)) initRoot(root);
}

function watchForNewWidgets() {
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType === Node.ELEMENT_NODE) initAsyncUploads(node);
      }
      for (const node of record.removedNodes) {
        if (node.nodeType !== Node.ELEMENT_NODE) continue;
        // Checked after the whole batch, so a widget that was merely moved keeps uploading.
        for (const root of rootsIn(node)) if (!root.isConnected) widgets.get(root)?.stop();
      }
    }
  });
  observer.observe(document.documentElement, { childList: true, subtree: true });
}

function boot() {
  resumeStore.prune();
  initAsyncUploads(document);
  watchForNewWidgets();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot, { once: true });
else boot();
