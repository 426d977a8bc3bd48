/*
 * What the user is told: every text the widget shows, the error that carries such texts from wherever an upload
 * failed up to the widget, and the reading of the error answers our server and storage send.
 *
 * The texts themselves live on the server (async_uploads/widget_messages.py), translated there like every other
 * text of the site: the widget's template renders them as JSON in the language of the page, and MESSAGES reads
 * that. A key the scripts call (`MESSAGES.uploading(name)`) is a text with `%(name)s` placeholders and the names of
 * its arguments; the others are plain texts. Without that JSON on the page (a widget template of a project's own
 * that leaves it out) every text shows as its key, and the console says why.
 */

const TABLE_SELECTOR = '[data-ap-upload-messages] > script[type="application/json"]';

let table = null;
const reported = new Set();

function report(problem) {
  if (reported.has(problem)) return;
  reported.add(problem);
  console.error(`alliance_platform.storage: ${problem}`);
}

/** The server's table, read on first use: widgets (and their JSON) may be added to the page after this module. */
function loadTable() {
  if (table) return table;
  const element = document.querySelector(TABLE_SELECTOR);
  if (!element) {
    report("the widget's texts are missing from the page (include widgets/widget_messages.html); showing keys.");
    return null;
  }
  try {
    table = JSON.parse(element.textContent);
  } catch {
    report("the widget's texts on the page are not valid JSON; showing keys.");
  }
  return table;
}

/** Fill the `%(name)s` placeholders of a text translated on the server; `%%` stands for "%". */
function interpolate(text, params, args) {
  const values = Object.fromEntries(params.map((name, index) => [name, args[index]]));
  return text.replace(/%\((\w+)\)s|%%/g, (match, name) => (name === undefined ? "%" : String(values[name] ?? match)));
}

/** A missing text: its key, whether the caller uses it as a string or calls it. */
function keyInstead(key) {
  const show = () => key;
  show.toString = show;
  return show;
}

function lookup(key) {
  const entry = loadTable()?.messages?.[key];
  if (typeof entry === "string") return entry;
  if (entry && typeof entry.text === "string" && Array.isArray(entry.params)) {
    return (...args) => interpolate(entry.text, entry.params, args);
  }
  if (table) report(`no text for "${key}" in the widget's texts; showing the key.`);
  return keyInstead(key);
}

/** `MESSAGES.key` is a text, or a function of the message's values returning one. */
export const MESSAGES = new Proxy(
  {},
  {
    get: (_target, key) => (typeof key === "string" ? lookup(key) : undefined),
  },
);

/**
 * Format a number as the page's language writes it (the one the server rendered the texts in): its decimal sign,
 * no thousands separators (as in Django's filesizeformat).
 */
export function formatNumber(value, maximumFractionDigits = 0) {
  const locale = loadTable()?.locale;
  try {
    return new Intl.NumberFormat(locale || undefined, { maximumFractionDigits, useGrouping: false }).format(value);
  } catch {
    return String(value); // a language code the browser does not know
  }
}

/** An upload failure with the messages to show to the user. */
export class UploadError extends Error {
  /**
   * `retryable`: a part upload may succeed when tried again (network failure, expired URL, busy server).
   * `final`: the server gave up on this multipart upload; resuming it is pointless.
   * `refused`: our server refused this file or this user (not allowed, not permitted); trying the same upload
   * again would be refused again, so the widget offers no "Try again".
   */
  constructor(messages, { retryable = false, final = false, refused = false } = {}) {
    super(messages.join(" "));
    this.name = "UploadError";
    this.messages = messages;
    this.retryable = retryable;
    this.final = final;
    this.refused = refused;
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
