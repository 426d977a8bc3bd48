/*
 * A few uploads at a time: the widget for several files starts as many as its limit allows, and each one that
 * ends (finished, failed or cancelled) lets the next waiting one start, in the order they were added. One file's
 * multipart parts are a separate, inner limit (multipart.js).
 */

import { abortError } from "./requests.js";

export class Limiter {
  constructor(size) {
    this.size = Number.isInteger(size) && size > 0 ? size : 1;
    this.running = 0;
    this.waiting = [];
  }

  /** Whether a task added now would have to wait. */
  get isFull() {
    return this.running >= this.size;
  }

  /**
   * Run `task` (a function returning a promise) once a slot is free; resolves or rejects as it does. When
   * `signal` aborts while it waits, it is dropped without running and the promise rejects with an AbortError.
   */
  run(task, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError());
        return;
      }
      const onAbort = () => {
        const index = this.waiting.indexOf(entry);
        if (index < 0) return;
        this.waiting.splice(index, 1);
        reject(abortError());
      };
      const entry = () => {
        signal?.removeEventListener("abort", onAbort);
        this.running += 1;
        Promise.resolve()
          .then(task)
          .then(resolve, reject)
          .finally(() => {
            this.running -= 1;
            this.startWaiting();
          });
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
      this.startWaiting();
    });
  }

  startWaiting() {
    while (!this.isFull && this.waiting.length) this.waiting.shift()();
  }
}
