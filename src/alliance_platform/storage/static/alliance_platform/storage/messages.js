/*
 * What the user is told: every text the widget shows, the error that carries such texts from wherever an upload
 * failed up to the widget, and the reading of the error answers our server and storage send.
 */

export const MESSAGES = {
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
  // The widget for several files.
  queued: (name) => `${name} is waiting to upload…`,
  itemCancelled: (name) => `Upload of ${name} cancelled.`,
  itemRemoved: (name) => `${name} removed.`,
  itemMoved: (name, position, count) => `${name} moved to position ${position} of ${count}.`,
  tooManyFiles: (limit, room) =>
    room > 0
      ? `You can add ${room} more ${room === 1 ? "file" : "files"} (at most ${limit} in all). Choose fewer files.`
      : `You can add at most ${limit} ${limit === 1 ? "file" : "files"}. Remove one before adding another.`,
  submitBlockedFiles: "Please wait until every file has uploaded, and remove the files that failed, then save again.",
  moveUp: (name) => `Move up ${name}`,
  moveDown: (name) => `Move down ${name}`,
  retryItem: (name) => `Try again ${name}`,
  cancelItem: (name) => `Cancel ${name}`,
  removeItem: (name) => `Remove ${name}`,
  progressOf: (name) => `Upload progress of ${name}`,
};

/** An upload failure with the messages to show to the user. */
export class UploadError extends Error {
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

/** Flatten whatever error shape the server sent (strings, lists, {field: [...]}, {message, code}) to strings. */
export function collectMessages(value) {
  if (value == null || value === "") return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(collectMessages);
  if (typeof value === "object") {
    if (typeof value.message === "string") return [value.message];
    return Object.values(value).flatMap(collectMessages);
  }
  return [String(value)];
}

/** The most useful message in a failed upload response: JSON {detail}, S3/Azure XML <Message>, or the status. */
export function uploadFailureMessages(xhr) {
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
