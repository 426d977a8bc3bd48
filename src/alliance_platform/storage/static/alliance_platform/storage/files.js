/*
 * What the browser can tell about a picked file before sending it: its size in words, whether the field accepts
 * it, and an image's dimensions. The server checks everything again; these only let users learn of a wrong file
 * at once.
 */

import { MESSAGES, formatNumber } from "./messages.js";

/** Same units as Django's filesizeformat, in the page's language, so client and server messages agree. */
export function formatBytes(bytes) {
  const units = ["sizeBytes", "sizeKB", "sizeMB", "sizeGB", "sizeTB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // Kept on one line, as Django's filesizeformat keeps its sizes.
  return MESSAGES[units[unit]](formatNumber(value, unit === 0 ? 0 : 1)).replace(/ /g, "\u00a0");
}

export function acceptEntries(accept) {
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
export function matchesAccept(file, accept) {
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

/**
 * What is wrong with `file` for a field that takes at most `maxSize` bytes (none when not positive) of the types
 * in `accept`: the messages to show, or none. The server checks everything again.
 */
export function checkFile(file, { maxSize, accept }) {
  const problems = [];
  if (maxSize > 0 && file.size > maxSize) {
    problems.push(MESSAGES.tooLarge(file.name, formatBytes(file.size), formatBytes(maxSize)));
  }
  if (!matchesAccept(file, accept)) problems.push(MESSAGES.wrongType(file.name, acceptEntries(accept).join(", ")));
  return problems;
}

export const isImageFile = (file) => (file.type || "").startsWith("image/");

/** Read an image's natural size by decoding it; resolves to null when the browser cannot decode it. */
export function readImageSize(url) {
  return new Promise((resolve) => {
    const image = new Image();
    image.onload = () =>
      resolve(image.naturalWidth && image.naturalHeight ? { width: image.naturalWidth, height: image.naturalHeight } : null);
    image.onerror = () => resolve(null);
    image.src = url;
  });
}
