/*
 * Dropping several files on a Django admin inline: one row per file, each row's upload widget sending its file.
 *
 * Loaded by AsyncUploadInlineMixin (async_uploads/admin.py), which marks the inline's async file input with
 * `data-inline-drop` (a JSON object of the translated texts below). Rows are added with the admin's own "Add
 * another" link, so the admin's bookkeeping (TOTAL_FORMS, max_num, the remove links) stays its own; empty new rows
 * already on the page are filled first. Each row's widget gets its file the way a user picking it would give it:
 * through the row's file input and a "change" event, so the widget itself checks, uploads and shows the file.
 *
 * A single file dropped on a row's widget is left to that widget; several files dropped anywhere on the inline,
 * or one dropped outside the rows' widgets, are taken here.
 */

const MARKER = "input[type=file][data-inline-drop]";
const GROUP_SELECTOR = ".js-inline-admin-formset";
const WIDGET_SELECTOR = "[data-async-upload]";

const groups = new WeakSet();

function hasFiles(event) {
  return Array.from(event.dataTransfer?.types ?? []).includes("Files");
}

/** The inline's prefix ("photos"), as the admin's inlines.js knows it. */
function prefixOf(group) {
  try {
    return JSON.parse(group.dataset.inlineFormset).options.prefix;
  } catch {
    return null;
  }
}

function texts(group) {
  try {
    return JSON.parse(group.querySelector(MARKER).dataset.inlineDrop) ?? {};
  } catch {
    return {};
  }
}

function fill(template, values) {
  return String(template ?? "").replace(/\{(\w+)\}/g, (match, name) => (name in values ? values[name] : match));
}

function managementValue(prefix, name) {
  const value = document.getElementById(`id_${prefix}-${name}`)?.value ?? "";
  return value === "" ? null : Number.parseInt(value, 10);
}

/** New rows (not yet saved) whose widget holds nothing: a file dropped on the inline goes there first. */
function emptyNewRows(group, prefix) {
  const rows = group.querySelectorAll(`[id^="${prefix}-"]:not(.empty-form):not(.has_original)`);
  return Array.from(rows).filter((row) => {
    if (!/^\d+$/.test(row.id.slice(prefix.length + 1))) return false;
    const widget = row.querySelector(WIDGET_SELECTOR);
    return widget?.querySelector(MARKER) && widget.dataset.state === "empty" && !widget.closest(".empty-form");
  });
}

/** Click the admin's "Add another" link and return the row it added, or null when it cannot add one. */
function addRow(group, prefix) {
  const link = group.querySelector(".add-row a");
  if (!link) return null;
  let added = null;
  const take = (event) => {
    if (event.detail?.formsetName === prefix) added = event.target;
  };
  group.addEventListener("formset:added", take);
  link.click();
  group.removeEventListener("formset:added", take);
  return added;
}

/** Hand `file` to the widget of `row` as if the user had picked it. */
function give(row, file) {
  const input = row.querySelector(`${WIDGET_SELECTOR} ${MARKER}`);
  if (!input) return;
  const transfer = new DataTransfer();
  transfer.items.add(file);
  input.files = transfer.files;
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

function announce(group, message) {
  const status = group.querySelector(".ap-inline-drop__status");
  if (status) status.textContent = message;
}

async function distribute(group, files) {
  const prefix = prefixOf(group);
  if (!prefix) return;
  const words = texts(group);
  const rows = emptyNewRows(group, prefix).slice(0, files.length);
  while (rows.length < files.length) {
    const total = managementValue(prefix, "TOTAL_FORMS") ?? 0;
    const max = managementValue(prefix, "MAX_NUM_FORMS");
    if (max !== null && total >= max) break;
    const row = addRow(group, prefix);
    if (!row) break;
    rows.push(row);
  }
  // The widgets of the new rows are set up by the widget script's MutationObserver, whose callbacks run as
  // microtasks: all of them have run before the next task starts.
  await new Promise((resolve) => setTimeout(resolve, 0));
  rows.forEach((row, index) => give(row, files[index]));
  const left = files.length - rows.length;
  announce(
    group,
    left > 0
      ? fill(words.partial, { added: rows.length, total: files.length, max: managementValue(prefix, "MAX_NUM_FORMS") })
      : fill(words.added, { count: rows.length }),
  );
}

function setUp(group) {
  if (groups.has(group) || !group.querySelector(MARKER)) return;
  groups.add(group);
  const words = texts(group);
  const hint = document.createElement("p");
  hint.className = "ap-inline-drop__hint";
  hint.textContent = words.hint ?? "";
  const status = document.createElement("p");
  status.className = "ap-inline-drop__status";
  status.setAttribute("role", "status");
  // Under the inline's heading, unless that heading is the summary of a collapsible inline.
  const heading = group.querySelector("h2");
  if (heading && !heading.closest("summary")) heading.after(hint, status);
  else group.prepend(hint, status);

  let depth = 0;
  const highlight = () => group.classList.toggle("ap-inline-drop--over", depth > 0);
  // Capture phase: several files dropped on a row's widget must reach the inline, not that widget (which takes
  // one file at a time).
  const claims = (event) => {
    const onWidget = event.target.closest?.(WIDGET_SELECTOR);
    return !onWidget || onWidget.closest(".empty-form") || (event.dataTransfer?.items?.length ?? 0) > 1;
  };
  group.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    highlight();
  });
  group.addEventListener("dragleave", (event) => {
    if (!hasFiles(event)) return;
    depth = Math.max(0, depth - 1);
    highlight();
  });
  group.addEventListener(
    "dragover",
    (event) => {
      if (!hasFiles(event) || !claims(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    },
    true,
  );
  group.addEventListener(
    "drop",
    (event) => {
      depth = 0;
      highlight();
      if (!hasFiles(event) || !claims(event)) return;
      event.preventDefault();
      event.stopPropagation();
      const files = Array.from(event.dataTransfer.files ?? []);
      if (files.length) distribute(group, files);
    },
    true,
  );
}

/** Set up every marked inline in `scope`. Safe to call again. */
export function initInlineDrop(scope = document) {
  for (const group of scope.querySelectorAll(GROUP_SELECTOR)) setUp(group);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => initInlineDrop(), { once: true });
else initInlineDrop();
