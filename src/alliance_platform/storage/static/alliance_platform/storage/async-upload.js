/*
 * Async file upload widget for alliance_platform.storage: the entry point the widget's template loads.
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
 * Served as-is as ES modules: no dependencies, no build step. This one finds the widgets on the page and keeps
 * their forms from being submitted mid-upload; the others, next to it, each do one part of the work:
 *   widget.js         one widget: its states, progress, preview and messages
 *   multiple-widget.js  a widget for several files ([data-multiple]): one widget.js row per file, a few
 *                     uploading at a time (queue.js), in an order the user can change
 *   drop-target.js    dropping files onto a widget
 *   transfer.js       plan an upload, then send the file in one request or in parts; resume; discard an upload
 *                     that will not be submitted (Cancel, Remove), so it stops counting as pending on the server
 *   single-upload.js  a whole file in one request (PUT, or S3 presigned POST)
 *   multipart.js      parts several at a time: signing, retries, completing, aborting
 *   resume-store.js   multipart sessions remembered in localStorage
 *   files.js          what can be told about a file before sending it (size, type, image dimensions)
 *   progress.js       bytes sent, speed and time left of an upload
 *   history-memory.js the widgets' values kept in the history entry, for the Back button
 *   messages.js       every text the user sees, and the error that carries them
 *   requests.js       CSRF token, JSON answers, cancelling and waiting
 *
 * While a file uploads, or an upload is finished but its form not submitted, leaving the page asks first
 * (`beforeunload`).
 *
 * The browser runs a module once per page however many widgets include it; widgets added later (Django admin
 * inlines, fragments swapped in by other scripts) are picked up by a MutationObserver.
 */

import { AsyncMultipleUploadWidget } from "./multiple-widget.js";
import { resumeStore } from "./resume-store.js";
import { AsyncUploadWidget } from "./widget.js";

const ROOT_SELECTOR = "[data-async-upload]";

// Roots already set up. A WeakSet rather than a marker attribute, because the admin clones inline rows together
// with their attributes, and a clone must still be set up.
const initialised = new WeakSet();
// Root element -> its widget, for the submit guard and for stopping uploads of rows that were removed.
const widgets = new WeakMap();
// Forms whose submit event is already guarded.
const guardedForms = new WeakSet();
// Forms the user submitted (and no script stopped): their uploads are on their way to being saved.
const submittedForms = new WeakSet();

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
        if (widget?.blocksSubmit && !busy.includes(widget)) busy.push(widget);
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
  const Widget = root.hasAttribute("data-multiple") ? AsyncMultipleUploadWidget : AsyncUploadWidget;
  widgets.set(root, new Widget(root, { guardForm }));
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

/**
 * Whether leaving the page now would lose an upload: one is still running, or finished in a form that was not
 * submitted. A value the server rendered (a saved file, an upload kept after a form error) is not lost by leaving.
 */
function wouldLoseUploads() {
  return [...document.querySelectorAll(ROOT_SELECTOR)].some((root) => {
    const widget = widgets.get(root);
    return Boolean(widget?.hasUnsavedUpload) && !submittedForms.has(widget.hiddenInput?.form);
  });
}

function guardLeaving() {
  // On the window, in the bubbling phase: it runs after the page's own handlers, which may stop the submission.
  window.addEventListener("submit", (event) => {
    if (!event.defaultPrevented) submittedForms.add(event.target);
  });
  window.addEventListener("beforeunload", (event) => {
    if (!wouldLoseUploads()) return;
    // Browsers show their own text; the page's cannot be changed.
    event.preventDefault();
    event.returnValue = "";
  });
}

function boot() {
  resumeStore.prune();
  initAsyncUploads(document);
  watchForNewWidgets();
  guardLeaving();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot, { once: true });
else boot();
