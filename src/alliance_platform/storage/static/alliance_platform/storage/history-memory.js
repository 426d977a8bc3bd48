/*
 * Keeping a widget's value for the Back button. The widget's value lives in a hidden input, and Chromium does not
 * restore a hidden input that a script changed when the user comes back to the page (it restores only values that
 * differ from the input's default, and a hidden input's default is its value): without this, the upload the user
 * made is gone from the form when they go Back after submitting it.
 *
 * So every value the widget sets is also written into the page's history entry (`history.state`, which belongs to
 * that one entry and is never shared with other tabs), together with the value the server had rendered. Coming
 * back to the entry, a widget whose server-rendered value is still the same takes the remembered one; when the
 * server renders something else now (the record was saved meanwhile), the server wins.
 */

const STATE_KEY = "apAsyncUploads";

function remembered() {
  const state = history.state;
  const values = state && typeof state === "object" ? state[STATE_KEY] : null;
  return values && typeof values === "object" ? values : {};
}

/** Whether this page was reached through Back or Forward (a reload or a new visit starts afresh). */
function cameBack() {
  const [navigation] = performance.getEntriesByType?.("navigation") ?? [];
  return navigation?.type === "back_forward";
}

/** Remember `input`'s value for its history entry; `rendered` is the value the server rendered into it. */
export function rememberValue(input, rendered) {
  if (!input?.name) return;
  const state = history.state && typeof history.state === "object" ? history.state : {};
  const values = { ...remembered(), [input.name]: { rendered, value: input.value } };
  try {
    history.replaceState({ ...state, [STATE_KEY]: values }, "");
  } catch {
    // A history state the page's own scripts made unserialisable: the Back button then forgets the value.
  }
}

/**
 * The value to restore into `input` after coming Back to the page, or null. Call before anything else writes
 * into the input: its value is then still what the server rendered.
 */
export function recallValue(input) {
  if (!input?.name || !cameBack()) return null;
  const saved = remembered()[input.name];
  if (!saved || typeof saved.value !== "string" || saved.rendered !== input.value) return null;
  return saved.value === input.value ? null : saved.value;
}
