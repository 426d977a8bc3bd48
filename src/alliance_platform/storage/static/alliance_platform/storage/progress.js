/*
 * What an upload's progress says besides its percentage: bytes sent of the total, the speed, and the time left
 * ("2.1 MB of 10 MB · 1.3 MB/s · about 6 s left"), in the page's language.
 *
 * Progress events arrive in bursts (a browser reports an upload's bytes as its buffers empty), so the speed is
 * smoothed over samples at least SAMPLE_MS apart, and the time left is only said once the speed has settled
 * (SETTLE_MS after the first bytes): a guess from the first few hundred milliseconds is mostly wrong.
 */

import { formatBytes } from "./files.js";
import { MESSAGES, formatNumber } from "./messages.js";

const SAMPLE_MS = 250;
const SETTLE_MS = 2000;
// How much a new sample moves the speed: low enough to ride out bursts, high enough to follow a real change.
const SMOOTHING = 0.3;

export class ProgressMeter {
  /** An upload of `total` bytes. */
  constructor(total) {
    this.total = Math.max(0, total || 0);
    this.sent = 0;
    this.speed = null; // bytes per second, smoothed
    this.first = null; // the first sample: bytes already stored (a resumed upload) do not count as speed
    this.last = null;
  }

  /** `sent` bytes are sent at `now` (milliseconds; the page's clock unless a test gives its own). */
  update(sent, now = performance.now()) {
    this.sent = Math.min(this.total, Math.max(0, sent));
    if (!this.first) {
      this.first = { time: now, sent: this.sent };
      this.last = this.first;
      return;
    }
    const elapsed = now - this.last.time;
    if (elapsed < SAMPLE_MS) return;
    const rate = ((this.sent - this.last.sent) * 1000) / elapsed;
    this.speed = this.speed === null ? rate : this.speed + SMOOTHING * (rate - this.speed);
    this.last = { time: now, sent: this.sent };
  }

  /** Seconds left, once the speed has settled; null before, or when nothing moves. */
  secondsLeft() {
    if (!this.first || this.speed === null || this.speed <= 0) return null;
    if (this.last.time - this.first.time < SETTLE_MS) return null;
    return (this.total - this.sent) / this.speed;
  }

  /** "2.1 MB of 10 MB · 1.3 MB/s · about 6 s left", each part only when it is known. */
  describe() {
    const parts = [MESSAGES.progressBytes(formatBytes(this.sent), formatBytes(this.total))];
    if (this.speed !== null && this.speed > 0) parts.push(MESSAGES.speed(formatBytes(this.speed)));
    const left = this.secondsLeft();
    if (left !== null && this.sent < this.total) parts.push(describeTimeLeft(left));
    return parts.join(" · ");
  }
}

/** "about 6 s left" up to a minute, then "about 3 min left": more precision than that is never true. */
export function describeTimeLeft(seconds) {
  if (seconds < 60) return MESSAGES.secondsLeft(formatNumber(Math.max(1, Math.ceil(seconds))));
  return MESSAGES.minutesLeft(formatNumber(Math.round(seconds / 60)));
}
