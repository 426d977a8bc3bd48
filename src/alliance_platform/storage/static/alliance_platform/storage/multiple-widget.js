/*
 * The widget for several files ([data-async-upload][data-multiple], rendered by AsyncMultipleFileInput): every
 * file picked or dropped gets its own row, and each row is a widget.js widget for that one file, so planning,
 * sending, resuming, retrying, cancelling and discarding work exactly as they do for a single file. This module
 * only keeps the rows: how many upload at once (`data-concurrency`, default 3), how many there may be
 * (`data-max-files`, checked before anything is uploaded), their order, and the hidden input, which holds the JSON
 * array of the finished rows' values in the order of the rows.
 *
 * After a form error the server renders the files it kept as the hidden input's value and those it refused, with
 * the reason, in `data-refused`; both come back as rows.
 */

import { watchDrops } from "./drop-target.js";
import { MESSAGES } from "./messages.js";
import { Limiter } from "./queue.js";
import { recallValue, rememberValue } from "./history-memory.js";
import { AsyncUploadWidget, describe, nameFromField, refusedItems } from "./widget.js";

const DEFAULT_CONCURRENCY = 3;
const ROW_SELECTOR = "[data-upload-item]";
// What a row needs to know of its field, copied from the root: a row reads it from its own dataset.
const FIELD_DATA = ["fieldId", "planUrl", "discardUrl", "instanceId", "maxSize", "isImage", "accept", "parallelParts"];
// Which row states hold a value the form submits.
const WITH_VALUE = new Set(["done", "existing"]);
// Status messages of a row worth announcing for the whole widget (a batch would otherwise announce every wait).
const ANNOUNCED = new Set(["uploaded", "resuming"]);

export class AsyncMultipleUploadWidget {
  constructor(root, { guardForm = () => {} } = {}) {
    this.root = root;
    this.guardForm = guardForm;
    this.errors = [];
    this.blockedMessage = null;
    // Row element -> {widget, state, name}: the state and name it had when last rendered.
    this.rows = new Map();
    const concurrency = Number.parseInt(root.dataset.concurrency || "", 10);
    this.limiter = new Limiter(concurrency > 0 ? concurrency : DEFAULT_CONCURRENCY);
    // The picker is described by the drop zone's hints (allowed types, size, how many files), as a single
    // widget's is; each row's buttons are named after their file instead (labelRow).
    describe(this.fileInput, this.part("hint"), this.part("max-files"));
    nameFromField(root, this.fileInput);
    this.bindEvents();
    this.guardForm(this.hiddenInput?.form);
    this.restore();
    this.render();
  }

  /** The widget's own part with `role`, never one of a row's (rows use the same roles). */
  part(role) {
    return [...this.root.querySelectorAll(`[data-role="${role}"]`)].find((element) => !element.closest(ROW_SELECTOR));
  }

  get hiddenInput() {
    return this.part("value");
  }

  get fileInput() {
    return this.part("file-input");
  }

  get list() {
    return this.part("items");
  }

  get disabled() {
    return Boolean(this.fileInput?.disabled);
  }

  get maxFiles() {
    const value = Number.parseInt(this.root.dataset.maxFiles || "", 10);
    return value > 0 ? value : null;
  }

  /** The rows' widgets, in the order of the rows. */
  get widgets() {
    return [...(this.list?.children ?? [])].map((element) => this.rows.get(element)?.widget).filter(Boolean);
  }

  /** Until every file has uploaded or been removed, the form would submit fewer files than the user sees. */
  get blocksSubmit() {
    return this.widgets.some((widget) => widget.phase !== "idle");
  }

  bindEvents() {
    this.root.addEventListener("change", (event) => {
      if (event.target !== this.fileInput) return;
      const files = [...(event.target.files ?? [])];
      // Reset, so that picking the same files again still fires "change".
      event.target.value = "";
      this.addFiles(files);
    });
    this.root.addEventListener("click", (event) => this.onClick(event));
    watchDrops(this.root, { isDisabled: () => this.disabled, onDrop: (files) => this.addFiles([...files]) });
  }

  onClick(event) {
    const button = event.target.closest?.("button[data-role]");
    const row = button?.closest(ROW_SELECTOR);
    if (row && this.rows.has(row)) {
      // A row's own buttons are handled by its widget; moving it is ours.
      if (button.dataset.role === "move-up") this.move(row, -1, button);
      if (button.dataset.role === "move-down") this.move(row, 1, button);
      return;
    }
    if (event.target.closest?.('[data-role="drop-zone"]') && !this.disabled) this.fileInput?.click();
  }

  /** The rows that take one of the `max_files` places: all but those that failed for good. */
  get occupied() {
    return this.widgets.filter((widget) => widget.phase !== "error" || widget.pending?.retryable).length;
  }

  addFiles(files) {
    if (this.disabled || files.length === 0) return;
    const limit = this.maxFiles;
    if (limit !== null && this.occupied + files.length > limit) {
      const room = limit - this.occupied;
      this.errors = [room > 0 ? MESSAGES.tooManyFiles(limit, room) : MESSAGES.listFull(limit)];
      this.render();
      return;
    }
    this.errors = [];
    this.blockedMessage = null;
    this.guardForm(this.hiddenInput?.form);
    for (const file of files) this.addRow().start(file);
    this.render();
  }

  /** A new row at the end, holding `value` (a single file's JSON) when given; returns its widget. */
  addRow({ value = "", name = "" } = {}) {
    const template = this.part("item-template");
    const element = template.content.firstElementChild.cloneNode(true);
    for (const key of FIELD_DATA) {
      if (this.root.dataset[key] !== undefined) element.dataset[key] = this.root.dataset[key];
    }
    element.querySelector('[data-role="value"]').value = value;
    element.querySelector('[data-role="filename"]').textContent = name;
    this.list.append(element);
    this.rows.set(element, { widget: null, state: null, name });
    const widget = new AsyncUploadWidget(element, {
      guardForm: this.guardForm,
      limiter: this.limiter,
      acceptsDrops: false,
      isDisabled: () => this.disabled,
      onRender: (row) => this.onRowRender(row),
      onAnnounce: (message, kind) => ANNOUNCED.has(kind) && this.announce(message),
    });
    this.rows.get(element).widget = widget;
    this.onRowRender(widget);
    return widget;
  }

  /**
   * Rows for the files the server kept (the hidden input; or, coming Back to the page, the files it held when
   * the user left) and for those it refused (`data-refused`).
   */
  restore() {
    const input = this.hiddenInput;
    this.renderedValue = input?.value ?? "";
    const restored = recallValue(input);
    if (restored !== null) input.value = restored;
    for (const item of parseList(input?.value)) {
      if (item && typeof item.key === "string") this.addRow({ value: JSON.stringify(item), name: String(item.name ?? "") });
    }
    for (const item of refusedItems(this.root)) this.addRow().showRefused(item.name, [item.error]);
  }

  /** Whether leaving the page would lose work (see AsyncUploadWidget.hasUnsavedUpload). */
  get hasUnsavedUpload() {
    return this.widgets.some((widget) => widget.hasUnsavedUpload);
  }

  /** After any change of a row: a row left empty (cancelled, removed, dismissed) goes; the value follows. */
  onRowRender(widget) {
    const element = widget.root;
    const row = this.rows.get(element);
    if (!row || !row.widget) return; // still being set up
    const { state } = widget;
    if (state === "empty") {
      // A new row is empty until its file starts; afterwards empty means the user let go of the file.
      if (row.state !== null && element.isConnected) this.removeRow(element, row);
      return;
    }
    row.state = state;
    row.name = widget.shownName;
    this.sync();
    this.render();
  }

  removeRow(element, row) {
    const hadFocus = element.contains(document.activeElement) || document.activeElement === document.body;
    const next = element.nextElementSibling ?? element.previousElementSibling;
    element.remove();
    this.rows.delete(element);
    this.announce(row.state === "uploading" ? MESSAGES.itemCancelled(row.name) : MESSAGES.itemRemoved(row.name));
    this.sync();
    this.render();
    // The button that removed the row went with it: keyboard users continue from the neighbouring row.
    if (hadFocus) {
      const target = next ? [...next.querySelectorAll("button")].find((button) => !button.hidden && !button.disabled) : null;
      (target ?? this.fileInput)?.focus({ preventScroll: true });
    }
  }

  move(element, step, button) {
    const sibling = step < 0 ? element.previousElementSibling : element.nextElementSibling;
    if (!sibling) return;
    if (step < 0) sibling.before(element);
    else sibling.after(element);
    const rows = [...this.list.children];
    this.announce(MESSAGES.itemMoved(this.rows.get(element).name, rows.indexOf(element) + 1, rows.length));
    this.sync();
    this.render();
    // Keep the keyboard where it was; at either end the other move button takes over.
    const other = element.querySelector(`[data-role="${step < 0 ? "move-down" : "move-up"}"]`);
    (button.disabled ? other : button).focus({ preventScroll: true });
  }

  /** The hidden input: the finished rows' values, in the order of the rows. */
  sync() {
    const items = [];
    for (const widget of this.widgets) {
      if (!WITH_VALUE.has(widget.state)) continue;
      try {
        items.push(JSON.parse(widget.committed.value));
      } catch {
        // A row always holds JSON it or the server wrote; nothing else to submit.
      }
    }
    const value = items.length ? JSON.stringify(items) : "";
    const input = this.hiddenInput;
    if (input && input.value !== value) {
      input.value = value;
      rememberValue(input, this.renderedValue);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  blockSubmit() {
    this.blockedMessage = MESSAGES.submitBlockedFiles;
    this.render();
  }

  /** The widget left the page: nobody needs its uploads anymore. */
  stop() {
    for (const widget of this.widgets) widget.stop();
  }

  announce(message) {
    const status = this.part("status");
    if (status) status.textContent = message;
  }

  render() {
    const widgets = this.widgets;
    const states = widgets.map((widget) => widget.state);
    let state = "empty";
    if (states.includes("uploading")) state = "uploading";
    else if (states.includes("error")) state = "error";
    else if (states.some((each) => WITH_VALUE.has(each))) state = "done";
    this.root.dataset.state = state;
    if (!this.blocksSubmit) this.blockedMessage = null;

    widgets.forEach((widget, index) => this.labelRow(widget, index, widgets.length));
    const list = this.list;
    if (list) list.hidden = widgets.length === 0;

    const region = this.part("error");
    const messages = [...this.errors, ...(this.blockedMessage ? [this.blockedMessage] : [])];
    const text = messages.join(" ");
    // Rewriting identical content would make screen readers announce the alert again.
    if (region && region.textContent !== text) region.textContent = text;
  }

  /** Buttons named after their file ("Remove photo.jpg"): a list of rows of "Remove" buttons says nothing. */
  labelRow(widget, index, count) {
    const name = widget.shownName;
    const labels = {
      "move-up": MESSAGES.moveUp(name),
      "move-down": MESSAGES.moveDown(name),
      retry: MESSAGES.retryItem(name),
      cancel: MESSAGES.cancelItem(name),
      clear: MESSAGES.removeItem(name),
      progress: MESSAGES.progressOf(name),
    };
    for (const [role, label] of Object.entries(labels)) {
      const element = widget.part(role);
      if (element && element.getAttribute("aria-label") !== label) element.setAttribute("aria-label", label);
    }
    const up = widget.part("move-up");
    const down = widget.part("move-down");
    for (const button of [up, down]) if (button) button.hidden = count < 2;
    if (up) up.disabled = this.disabled || index === 0;
    if (down) down.disabled = this.disabled || index === count - 1;
  }
}

function parseList(value) {
  if (!value) return [];
  try {
    const parsed = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}
