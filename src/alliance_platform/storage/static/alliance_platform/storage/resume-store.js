/*
 * Multipart sessions remembered for resuming: in localStorage, so an upload continues after a reload, and which
 * pending upload of this page is using each of them.
 */

const RESUME_PREFIX = "alliance-platform-storage:multipart:";
// The longest a session is kept; the server would refuse older ones anyway.
const RESUME_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * Sessions by file, so picking the same file again (after a reload, or "Try again") continues where it stopped.
 * A file is recognised by its name, size and modification time, within one field (and record, when editing).
 * localStorage may be missing or full (private windows, quotas): resuming is then simply not offered.
 */
export const resumeStore = {
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

// Resume key -> the pending upload of this page that is using that session. Two widgets of one field (admin
// inline rows) given the same file must not both continue one upload: the second starts its own.
const sessionsInUse = new Map();

/** Whether `pending` may continue the session stored under `resumeKey`: no other upload of this page uses it. */
export function isSessionFree(resumeKey, pending) {
  const user = sessionsInUse.get(resumeKey);
  return !user || user === pending;
}

/** `pending` (a widget's upload) now uses `session`, remembered under `resumeKey`. */
export function claimSession(pending, resumeKey, session) {
  pending.session = session;
  pending.resumeKey = resumeKey;
  sessionsInUse.set(resumeKey, pending);
}

export function releaseSession(pending) {
  if (pending.resumeKey && sessionsInUse.get(pending.resumeKey) === pending) sessionsInUse.delete(pending.resumeKey);
}
