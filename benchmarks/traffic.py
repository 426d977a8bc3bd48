"""What one storage client sent and received between two readings: requests by kind, and bytes. Filled in by a
backend's counter (:class:`benchmarks.s3.S3Traffic`, :class:`benchmarks.azure.AzureTraffic`), compared by the
promotion and cleanup benchmarks of every cloud backend."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Traffic:
    """What a client sent and received between two readings."""

    requests: Counter = field(default_factory=Counter)  # request kind -> HTTP requests (retries included)
    sent: int = 0  # bytes: request lines, headers and bodies
    received: int = 0  # bytes: status lines, headers and bodies (streamed bodies: as far as they were read)
    # Operations carried inside one request (the deletes of an Azure blob batch), by kind.
    batched: Counter = field(default_factory=Counter)
    # Seconds spent waiting for the service's answers (request sent .. response headers read), by request kind.
    waited: Counter = field(default_factory=Counter)

    def __sub__(self, other: Traffic) -> Traffic:
        return Traffic(
            self.requests - other.requests,
            self.sent - other.sent,
            self.received - other.received,
            self.batched - other.batched,
            Counter({kind: self.waited[kind] - other.waited.get(kind, 0.0) for kind in self.waited}),
        )

    def copy(self) -> Traffic:
        return Traffic(Counter(self.requests), self.sent, self.received, Counter(self.batched), Counter(self.waited))

    @property
    def request_count(self) -> int:
        return sum(self.requests.values())

    @property
    def waited_seconds(self) -> float:
        return sum(self.waited.values())

    def describe_waits(self) -> str:
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in sorted(self.waited.items()))

    def describe_requests(self) -> str:
        text = ", ".join(f"{name} x{count}" for name, count in sorted(self.requests.items())) or "none"
        if self.batched:
            text += " (carrying " + ", ".join(f"{name} x{count}" for name, count in sorted(self.batched.items())) + ")"
        return text


def header_bytes(headers) -> int:
    """Bytes of ``name: value\\r\\n`` lines."""
    return sum(len(str(name)) + len(value if isinstance(value, bytes) else str(value)) + 4 for name, value in headers)


def fmt_bytes(count: int) -> str:
    if count < 10_000:
        return f"{count:,} B"
    if count < 10 * 1024 * 1024:
        return f"{count / 1024:,.1f} KiB"
    return f"{count / 1024 / 1024:,.1f} MiB"
