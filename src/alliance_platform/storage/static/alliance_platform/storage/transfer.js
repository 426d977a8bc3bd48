/*
 * Getting a file into storage: ask our server for an upload plan, then send the file the way the plan says, in
 * one request or in parts. A file with a remembered multipart session skips planning and continues that session.
 *
 * `field` says whom the upload is for: {planUrl, discardUrl, fieldId, instanceId}. `pending` is the widget's record
 * of the upload ({file, ...}); the temporary key the server recorded for it is kept on it as `key` (as soon as the
 * plan names it, so that a cancelled upload can be discarded), and the multipart session it uses as `session` and
 * `resumeKey`.
 *
 * An upload that will never be submitted is discarded on the server (`discardUpload`): it would otherwise count
 * against the user's pending uploads until the server's cleanup runs, days later.
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
import { abortError, readJson } from "./requests.js";
import { claimSession, isSessionFree, releaseSession, resumeStore } from "./resume-store.js";
import { sendFile } from "./single-upload.js";

/**
 * Ask our server where and how to upload. Resolves to {uploadUrl, key}.
 *
 * Never aborted midway: the server may record the upload before its answer arrives, and only that answer names
 * the key to discard. The caller discards a plan that arrives after the user cancelled.
 */
async function requestPlan({ url, params, token }) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(params),
      headers: { "X-CSRFToken": token, Accept: "application/json" },
      credentials: "same-origin",
    });
  } catch {
    throw new UploadError([MESSAGES.planUnreachable]);
  }
  const body = await readJson(response);
  if (response.ok) {
    if (typeof body?.uploadUrl?.url === "string" && typeof body.key === "string" && body.key) return body;
    // An expired session typically shows up as a redirect to a login page that answers 200 with HTML.
    throw new UploadError([response.redirected ? MESSAGES.signedOut : MESSAGES.planMalformed]);
  }
  // 400 carries {field: [messages]} (show them all); 403 and 429 carry {detail}. A 400 (the file is not allowed)
  // or a 403 (the user may not upload here) would be the same answer again; a 429 passes.
  const messages = response.status === 400 ? collectMessages(body) : collectMessages(body?.detail);
  const refused = response.status === 400 || response.status === 403;
  throw new UploadError(messages.length ? messages : [MESSAGES.planFailed(response.status)], { refused });
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
      pending.key = saved.key;
      if (stored.length) onResume();
      return sendMultipart(pending, stored, { parallel, token, signal, onProgress });
    }
    // Expired, completed or aborted on the server: start afresh.
    endSession(pending, { abort: false });
  }

  // A new plan: what an earlier attempt of this upload ("Try again") recorded will never be used.
  if (pending.key) {
    discardUpload(field, pending.key, token);
    pending.key = null;
  }
  const plan = await requestPlan({ url: field.planUrl, params: planParams(field, file), token });
  if (signal.aborted) {
    discardUpload(field, plan.key, token);
    throw abortError();
  }
  pending.key = plan.key;
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

/**
 * Tell our server that the upload it recorded as `key` for `field` will never be submitted: it deletes the object
 * (aborting a multipart upload still in progress) and its record, so the upload stops counting against the user's
 * pending uploads. Only ever called with keys that a plan of this page named, never with a saved file's key; the
 * server refuses anything else too. `keepalive`, so that leaving the page right after does not cancel it.
 *
 * Best effort: resolves to whether the server discarded it. Whatever is left, the server's cleanup removes later.
 */
export async function discardUpload(field, key, csrf) {
  if (!field.discardUrl || !key) return false;
  try {
    const response = await fetch(field.discardUrl, {
      method: "POST",
      body: new URLSearchParams({ key, fieldId: field.fieldId ?? "" }),
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin",
      keepalive: true,
    });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Give up `pending`'s upload for good (Cancel, another file picked, the widget removed): abort its multipart
 * session through the session's own token, which works whoever planned it (a session resumed from an earlier
 * visit), and discard the upload on the server, which also removes its record. Both are safe to repeat.
 */
export function abandon(pending, { field, csrf }) {
  const { key } = pending;
  endSession(pending, { abort: true, csrf });
  pending.key = null;
  if (key) discardUpload(field, key, csrf);
}
