/*
 * Getting a file into storage: ask our server for an upload plan, then send the file the way the plan says, in
 * one request or in parts. A file with a remembered multipart session skips planning and continues that session.
 *
 * `field` says whom the upload is for: {planUrl, fieldId, instanceId}. `pending` is the widget's record of the
 * upload ({file, ...}); the multipart session it uses is kept on it as `session` and `resumeKey`.
 */

import { MESSAGES, UploadError, collectMessages } from "./messages.js";
import {
  abortSession,
  completeSession,
  fillMissingEtags,
  listStoredParts,
  multipartSession,
  sendParts,
} from "./multipart.js";
import { abortError, isAbort, readJson } from "./requests.js";
import { claimSession, isSessionFree, releaseSession, resumeStore } from "./resume-store.js";
import { sendFile } from "./single-upload.js";

/** Ask our server where and how to upload. Resolves to {uploadUrl, key}. */
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

function planParams(field, file) {
  const { fieldId, instanceId } = field;
  const params = { fieldId: fieldId ?? "", filename: file.name, size: String(file.size) };
  if (file.type) params.contentType = file.type;
  if (instanceId) params.instanceId = instanceId;
  return params;
}

/** Where the multipart session for `file` in `field` is remembered. */
export function resumeKey(field, file) {
  return resumeStore.keyFor(field.fieldId, field.instanceId, file);
}

/**
 * Get `pending.file` into storage; resolves to its temporary key. `parallel` parts go at once in a multipart
 * upload; `onResume` is called when some of the file turns out to be stored already.
 */
export async function transfer(pending, { field, parallel, token, signal, onProgress, onResume }) {
  const { file } = pending;
  const key = resumeKey(field, file);
  const saved = isSessionFree(key, pending) ? resumeStore.get(key) : null;
  if (saved) {
    claimSession(pending, key, saved);
    const stored = await listStoredParts(saved, { csrf: token, signal });
    if (stored) {
      if (stored.length) onResume();
      return sendMultipart(pending, stored, { parallel, token, signal, onProgress });
    }
    // Expired, completed or aborted on the server: start afresh.
    endSession(pending, { abort: false });
  }

  const plan = await requestPlan({ url: field.planUrl, params: planParams(field, file), token, signal });
  if (String(plan.uploadUrl.method).toUpperCase() === "MULTIPART") {
    const session = multipartSession(plan, field.fieldId ?? "");
    if (!session) throw new UploadError([MESSAGES.planMalformed]);
    claimSession(pending, key, session);
    resumeStore.set(key, session);
    return sendMultipart(pending, [], { parallel, token, signal, onProgress });
  }
  await sendFile(plan.uploadUrl, file, { signal, token, onProgress });
  return plan.key;
}

async function sendMultipart(pending, stored, { parallel, token, signal, onProgress }) {
  const { file, session } = pending;
  const etags = await sendParts({ file, session, stored, parallel, csrf: token, signal, onProgress });
  let key;
  try {
    if ([...etags.values()].some((etag) => !etag)) await fillMissingEtags(session, etags, { csrf: token, signal });
    key = await completeSession(session, etags, { csrf: token, signal });
  } catch (error) {
    // Refused for good (too large, parts missing): resuming would only be refused again.
    if (error instanceof UploadError && error.final) endSession(pending, { abort: true, csrf: token });
    throw error;
  }
  endSession(pending, { abort: false });
  return key;
}

/** Forget `pending`'s multipart session, and have the server discard its parts when `abort` is set. */
export function endSession(pending, { abort, csrf = "" }) {
  const { session } = pending;
  if (!session) return;
  if (abort) abortSession(session, csrf);
  resumeStore.remove(pending.resumeKey, session.token);
  releaseSession(pending);
  pending.session = null;
}
