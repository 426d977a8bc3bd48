/*
 * What every request of an upload needs, whichever strategy sends it: the CSRF token, telling our own server from
 * storage, reading JSON answers, and stopping or waiting when the user cancels.
 */

/** Django's CSRF token: the cookie when readable, else the token rendered into the form (CSRF_COOKIE_HTTPONLY). */
export function csrfToken(form) {
  const cookie = document.cookie
    .split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  const input =
    form?.querySelector("input[name=csrfmiddlewaretoken]") ??
    document.querySelector("input[name=csrfmiddlewaretoken]");
  return input?.value ?? "";
}

export function isSameOrigin(url) {
  try {
    return new URL(url, document.baseURI).origin === window.location.origin;
  } catch {
    return false;
  }
}

/** The body of `response` as JSON, or null when it is not JSON (an HTML error page, say). */
export async function readJson(response) {
  try {
    return JSON.parse(await response.text());
  } catch {
    return null;
  }
}

export const abortError = () => new DOMException("The upload was cancelled.", "AbortError");
export const isAbort = (error) => error?.name === "AbortError";

/** Wait `ms`, or reject at once when `signal` aborts. */
export function delay(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
