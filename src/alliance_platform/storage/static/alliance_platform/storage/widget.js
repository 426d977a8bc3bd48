/*
 * The widget: one [data-async-upload] element, its states and what it shows (drop zone, progress, preview,
 * messages). Getting the bytes into storage is left to transfer.js; the widget only says which file, for which
 * field, and reacts to progress and the outcome.
 */

import { watchDrops } from "./drop-target.js";
import { acceptEntries, checkFile, isImageFile, readImageSize } from "./files.js";
import { recallValue, rememberValue } from "./history-memory.js";
import { MESSAGES, UploadError } from "./messages.js";
import { parallelParts } from "./multipart.js";
import { ProgressMeter } from "./progress.js";
import { csrfToken, isAbort } from "./requests.js";
import { releaseSession } from "./resume-store.js";
import { abandon, discardUpload, resumeKey, transfer } from "./transfer.js";

let idCounter = 0;

// How long "… uploaded." stays in the status region: long enough to be read, then it goes, so that it is not left
// repeated under the file's name (screen readers announce it once, when it appears).
const UPLOADED_STATUS_MS = 5000;

/**
 * Add `parts` (elements, or nothing) to what describes `element` (`aria-describedby`). The ids are made here, not
 * in the template, because the admin only renames "__prefix__" in id/name/for attributes of cloned rows.
 */
export function describe(element, ...parts) {
  if (!element) return;
  const ids = parts.filter(Boolean).map((part) => {
    if (!part.id) part.id = `ap-upload-${++idCounter}`;
    return part.id;
  });
  const existing = (element.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  const all = [...new Set([...existing, ...ids])];
  if (all.length) element.setAttribute("aria-describedby", all.join(" "));
}

/**
 * Where the page gives the file input no <label> (an admin tabular inline has column headings instead), name it
 * from the field's label, which the server put on the root (`data-label`).
 */
export function nameFromField(root, input) {
  const label = root.dataset.label;
  const named = input?.labels?.length || input?.hasAttribute("aria-label") || input?.hasAttribute("aria-labelledby");
  if (input && label && !named) input.setAttribute("aria-label", label);
}

const EMPTY = Object.freeze({ kind: "empty", value: "", name: "", url: null, previewUrl: null, ownsPreview: false });

/**
 * The files the server refused when the form was submitted, from the root's `data-refused` (rendered by the
 * widget's template): [{name, error}]. Both widgets show them with `showRefused()`.
 */
export function refusedItems(root) {
  let items = [];
  try {
    items = JSON.parse(root.dataset.refused || "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(items)) return [];
  return items
    .filter((item) => item && typeof item.name === "string")
    .map((item) => ({ name: item.name, error: String(item.error ?? "") }));
}

/**
 * One widget. Its state is:
 *  - `committed`: what the hidden input holds (nothing, the saved file, or a finished upload; `planned` is the
 *    key of an upload this page made, which is discarded on the server once the field lets go of it);
 *  - `phase`: "idle", "uploading" or "error";
 *  - `pending`: the file being uploaded, or the one whose upload failed (kept for "Try again"), with its
 *    multipart session if it has one.
 * `render()` derives the whole DOM from that, so every action only changes state and calls it.
 *
 * `guardForm` is called with the widget's form whenever an upload may start, so the page can keep that form from
 * being submitted meanwhile.
 *
 * The widget for several files (multiple-widget.js) makes one of these per file, a row, with options: `limiter`
 * (a queue.js Limiter) makes its upload wait for a free slot; `acceptsDrops: false` leaves dropping to that
 * widget; `isDisabled` says whether it is disabled (a row has no file input of its own); `onRender(widget)` is
 * called after every render and `onAnnounce(message, kind)` with every status message.
 *
 * Projects can follow what happens through CustomEvents dispatched on the root (bubbling): `ap-upload:uploaded`,
 * `ap-upload:failed` and `ap-upload:removed`, each with `detail` {name, key} (see docs/usage.md, "Events").
 */
export class AsyncUploadWidget {
  constructor(
    root,
    { guardForm = () => {}, limiter = null, acceptsDrops = true, isDisabled = null, onRender = null, onAnnounce = null } = {},
  ) {
    this.root = root;
    this.guardForm = guardForm;
    this.limiter = limiter;
    this.isDisabled = isDisabled;
    this.onRender = onRender;
    this.onAnnounce = onAnnounce;
    this.phase = "idle";
    this.pending = null;
    this.errors = [];
    this.blockedMessage = null;
    this.renderedErrors = null;
    this.brokenPreview = null;
    this.committed = this.readInitialValue();
    this.linkDescriptions();
    this.formatHint();
    this.bindEvents();
    if (acceptsDrops) watchDrops(this.root, { isDisabled: () => this.disabled, onDrop: (files) => this.onDrop(files) });
    this.guardForm(this.hiddenInput?.form);
    // Rows of the widget for several files have no `data-refused`: that widget makes refused rows itself.
    const [refused] = refusedItems(this.root);
    if (refused) this.showRefused(refused.name, [refused.error]);
    // Back from the bfcache: the page is as it was left, but other scripts may have changed the hidden input.
    window.addEventListener("pageshow", (event) => event.persisted && this.adoptInputValue());
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
    return Boolean(this.isDisabled ? this.isDisabled() : this.fileInput?.disabled);
  }

  get isImageField() {
    return this.root.dataset.isImage === "true";
  }

  /** How many parts of a multipart upload are sent at once: `data-parallel-parts` on the root, else 4. */
  get parallelParts() {
    return parallelParts(Number.parseInt(this.root.dataset.parallelParts || "", 10));
  }

  /**
   * Whom uploads are for: where to ask for a plan (and to discard an upload that will not be submitted), the
   * field and the record being edited (if any).
   */
  get field() {
    const { planUrl, discardUrl, fieldId, instanceId } = this.root.dataset;
    return { planUrl, discardUrl, fieldId, instanceId };
  }

  get state() {
    return this.phase === "idle" ? this.committed.kind : this.phase;
  }

  /** Whether the form must wait for this widget: its key is not in the form yet. */
  get blocksSubmit() {
    return this.phase === "uploading";
  }

  /** The name of the file shown: the one uploading or failed, else the one the hidden input holds. */
  get shownName() {
    return this.phase === "idle" ? this.committed.name : (this.pending?.file.name ?? "");
  }

  /**
   * Whether leaving the page would lose work: a file uploading, or one uploaded on this page that its form has
   * not submitted yet (the page asks; see async-upload.js).
   */
  get hasUnsavedUpload() {
    return this.phase === "uploading" || Boolean(this.committed.planned);
  }

  /**
   * What the hidden input holds at the start: what the server rendered (the saved file with its link, an upload
   * kept after a form error, or nothing), or the value the user had when they left the page and came Back.
   */
  readInitialValue() {
    const input = this.hiddenInput;
    // Kept to tell, later, whether the input still holds what the server rendered.
    this.renderedValue = input?.value ?? "";
    const restored = recallValue(input);
    if (restored !== null) input.value = restored;
    return this.readValue(input?.value ?? "", { rendered: restored === null });
  }

  /**
   * The state for `value`. The server-`rendered` value has its name, link and preview in the DOM already;
   * another one (restored, or set by another script) carries them in its JSON.
   */
  readValue(value, { rendered }) {
    if (!value) return EMPTY;
    let parsed = {};
    try {
      parsed = JSON.parse(value) ?? {};
    } catch {
      // Keep the value as it is: the server decides what it means.
    }
    const fromDom = (read) => (rendered ? read() : null);
    const url = fromDom(() => this.part("current-link")?.getAttribute("href")) || parsed.url || null;
    const name = fromDom(() => this.part("filename")?.textContent.trim()) || parsed.name || "";
    const previewUrl = fromDom(() => this.part("preview")?.getAttribute("src")) || (this.isImageField && url) || null;
    return { kind: url ? "existing" : "done", value, name: String(name), url, previewUrl, ownsPreview: false };
  }

  /** The hidden input holds something else than the widget thinks (see the constructor): show that. */
  adoptInputValue() {
    const value = this.hiddenInput?.value ?? "";
    if (this.phase !== "idle" || value === this.committed.value) return;
    this.committed = this.readValue(value, { rendered: value === this.renderedValue });
    this.render();
  }

  /** Tie the hint and the file name to the controls for screen readers (see `describe` and `nameFromField`). */
  linkDescriptions() {
    const hint = this.part("hint");
    const filename = this.part("filename");
    describe(this.fileInput, hint, filename);
    nameFromField(this.root, this.fileInput);
    for (const role of ["replace", "clear", "retry", "cancel"]) describe(this.part(role), filename);
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
    const maxSize = Number.parseInt(this.root.dataset.maxSize || "", 10);
    const accept = this.root.dataset.accept ?? this.fileInput?.getAttribute("accept") ?? "";
    return checkFile(file, { maxSize, accept });
  }

  start(file) {
    if (this.disabled) return;
    // A new file replaces an upload still running or one that failed. Picking the same file again keeps its
    // multipart session, so the upload resumes.
    this.discardPending({ keepSessionOf: file });
    this.guardForm(this.hiddenInput?.form);
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
    pending.meter = new ProgressMeter(file.size);
    this.setProgress(0);
    const queued = Boolean(this.limiter?.isFull);
    if (queued) this.announce(MESSAGES.queued(file.name), "queued");
    else this.announce(MESSAGES.uploading(file.name), "uploading");
    this.render();

    // Decoding runs alongside the upload; the dimensions are only hints, the server reads the real ones.
    const dimensions = this.isImageField && pending.previewUrl ? readImageSize(pending.previewUrl) : null;
    const token = csrfToken(this.hiddenInput?.form);
    const onProgress = (fraction) => isCurrent() && this.setProgress(fraction, pending.meter);
    const send = () => {
      if (queued && isCurrent()) this.announce(MESSAGES.uploading(file.name), "uploading");
      return transfer(pending, {
        field: this.field,
        parallel: this.parallelParts,
        token,
        signal,
        onProgress,
        onResume: () => this.announce(MESSAGES.resuming(file.name), "resuming"),
      });
    };
    try {
      const key = await (this.limiter ? this.limiter.run(send, signal) : send());
      const size = await dimensions;
      if (!isCurrent()) return;
      this.finish(key, file, size);
    } catch (error) {
      if (!isCurrent() || isAbort(error)) return;
      if (!(error instanceof UploadError)) console.error(error);
      // Refused by the server (not allowed, not permitted): the same file would only be refused again.
      if (error instanceof UploadError && error.refused) pending.retryable = false;
      this.fail(error instanceof UploadError ? error.messages : [MESSAGES.unexpected]);
    }
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
      planned: key,
    });
    this.announce(MESSAGES.uploaded(file.name), "uploaded", { forMs: UPLOADED_STATUS_MS });
    this.render();
    this.emit("uploaded", { name: file.name, key });
  }

  /** Show why the file failed. `emit: false` for a refusal the server rendered: nothing happened on this page. */
  fail(messages, { emit = true } = {}) {
    this.phase = "error";
    this.errors = messages;
    this.blockedMessage = null;
    this.announce("", "failed");
    this.render();
    if (emit) this.emit("failed", { name: this.pending?.file.name ?? "", key: this.pending?.key ?? null, messages });
  }

  /**
   * Show a file the server refused (after the form was submitted) and why. There is nothing to retry: the user
   * can choose another file, or dismiss this one and keep what the field held before.
   */
  showRefused(name, messages) {
    this.discardPending();
    this.pending = { file: { name }, previewUrl: null, retryable: false, abort: null };
    this.fail(messages, { emit: false });
  }

  /** Tell the page's own scripts (docs/usage.md, "Events"): `ap-upload:<type>` on the root, bubbling. */
  emit(type, detail) {
    this.root.dispatchEvent(new CustomEvent(`ap-upload:${type}`, { bubbles: true, detail }));
  }

  /** Stop the upload (or dismiss the error) and go back to what the field held before. */
  cancel() {
    const wasUploading = this.phase === "uploading";
    this.discardPending();
    this.phase = "idle";
    this.errors = [];
    this.blockedMessage = null;
    this.announce(wasUploading ? MESSAGES.cancelled : "", "cancelled");
    this.render();
  }

  retry() {
    if (this.phase === "error" && this.pending?.retryable) this.upload();
  }

  /** Empty the field. For a saved file this means "delete it" once the form is saved. */
  clear() {
    const removed = this.committed;
    const hadSavedFile = removed.kind === "existing";
    this.discardPending();
    this.phase = "idle";
    this.errors = [];
    this.setCommitted(EMPTY);
    this.announce(hadSavedFile ? MESSAGES.removedSaved : MESSAGES.removed, "removed");
    this.render();
    if (removed.kind !== "empty") this.emit("removed", { name: removed.name, key: keyOf(removed.value) });
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
   * Stop and drop the pending upload. It is discarded on the server too (with its multipart session), unless it
   * belongs to `keepSessionOf` (the same file picked again, which resumes it).
   */
  discardPending({ keepSessionOf = null } = {}) {
    const { pending } = this;
    if (!pending) return;
    this.pending = null;
    pending.abort?.();
    const sameFile = keepSessionOf && pending.resumeKey === resumeKey(this.field, keepSessionOf);
    if (sameFile) releaseSession(pending);
    else abandon(pending, { field: this.field, csrf: csrfToken(this.hiddenInput?.form) });
    if (pending.previewUrl && pending.previewUrl !== this.committed.previewUrl) URL.revokeObjectURL(pending.previewUrl);
  }

  /**
   * What the hidden input holds from now on. An upload of this page that it held before (removed, or replaced by
   * another upload) will never be submitted, so it is discarded on the server. The saved file and a value the
   * server rendered are never discarded: they carry no `planned` key.
   */
  setCommitted(next) {
    const previous = this.committed;
    if (previous.ownsPreview && previous.previewUrl !== next.previewUrl) URL.revokeObjectURL(previous.previewUrl);
    if (previous.planned && previous.planned !== next.planned) {
      discardUpload(this.field, previous.planned, csrfToken(this.hiddenInput?.form));
    }
    this.committed = next;
    const input = this.hiddenInput;
    if (input && input.value !== next.value) {
      input.value = next.value;
      rememberValue(input, this.renderedValue);
      // Let other scripts (dirty-form warnings, dependent fields) notice, as if the user had typed.
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  /**
   * The bar, the percentage and, with the upload's `meter`, bytes sent, speed and time left. None of these is a
   * live region: screen readers hear the status messages (uploading, uploaded), not every step.
   */
  setProgress(fraction, meter = null) {
    // Hold at 99% until storage has answered: all bytes sent is not the same as stored.
    const percent = fraction >= 1 ? 100 : Math.min(99, Math.max(0, Math.floor(fraction * 100)));
    const progress = this.part("progress");
    const text = this.part("progress-text");
    const detail = this.part("progress-detail");
    if (progress) progress.value = percent;
    if (text) text.textContent = `${percent}%`;
    if (detail) {
      meter?.update(fraction * meter.total);
      detail.textContent = meter ? meter.describe() : "";
    }
  }

  /**
   * Say `message` through the polite live region (and tell `onAnnounce`, with its `kind`); with `forMs`, take it
   * away again after that long.
   */
  announce(message, kind = "", { forMs = 0 } = {}) {
    clearTimeout(this.statusTimer);
    this.onAnnounce?.(message, kind);
    const status = this.part("status");
    if (!status) return;
    status.textContent = message;
    if (forMs > 0) {
      this.statusTimer = setTimeout(() => {
        if (status.textContent === message) status.textContent = "";
      }, forMs);
    }
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
        : { name: this.shownName, url: null, previewUrl: pending?.previewUrl ?? null };
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
    this.onRender?.(this);
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

/** The key in a value the widget holds (JSON {key, name}), or null. */
function keyOf(value) {
  try {
    const key = JSON.parse(value)?.key;
    return typeof key === "string" ? key : null;
  } catch {
    return null;
  }
}
