"""3. ``generate-upload-url``: requests per second through gunicorn, and SQL queries per request in-process.

Throughput: one ``requests.Session`` (what a browser tab is: one session cookie, the CSRF header) POSTs plan
requests back to back. A gunicorn *sync* worker answers every request with ``Connection: close``, so despite the
keep-alive session each request opens a new loopback connection (true of any sync worker). Two more servers
show where the time goes: a view without the library in the same project (the floor), and our endpoint with one
database setting changed: on SQLite ``synchronous=OFF`` (commits do not wait for the disk), on PostgreSQL a new
connection for every request (``CONN_MAX_AGE=0``) instead of persistent ones (see ``database.PlanVariant``).

Queries: a Django test client request (in-process) inside ``CaptureQueriesContext``, after one earlier request of
the same session, so session creation is not counted. Queries on ``django_session``/``auth_user`` are reported
apart: they are the project's session and authentication, not the library's.
"""

from __future__ import annotations

from dataclasses import dataclass
import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from .browser import Browser, blob_field_id, plan_path
from .harness import ABOVE_REF, BELOW_REF, BenchmarkError, Section, check, cpu_seconds, summarise

REFERENCE_RPS = (320, 340)
TARGET_LIBRARY_QUERIES = 3
WARM_UP_REQUESTS = 50
SESSION_AUTH_TABLES = ('"django_session"', '"auth_user"')


def throughput(browser: Browser, requests_count: int, url: str | None = None) -> tuple[float, list[float]]:
    """Seconds for ``requests_count`` POSTs of a plan request, and each one's latency; every answer is checked."""
    session, field_id = browser.session, browser.field_id
    url = url or browser.plan_url
    latencies = []
    started = time.perf_counter()
    for i in range(requests_count):
        sent = time.perf_counter()
        response = session.post(url, data={"fieldId": field_id, "filename": f"plan-{i}.bin", "size": 1024})
        latencies.append(time.perf_counter() - sent)
        if response.status_code != 200 or not response.content.startswith(b'{"'):
            raise BenchmarkError(f"request {i} to {url} answered {response.status_code}: {response.text[:300]}")
    return time.perf_counter() - started, latencies


@dataclass
class Measurement:
    rate: float  # requests/s, best or median of the runs per --stat
    rates: list[float]
    latencies: list[float]
    worker_cpu_ms: float  # worker CPU time per request, least of the runs (hardly affected by other processes)


def measure(ctx, label: str, browser: Browser, url: str | None = None) -> Measurement:
    """``--runs`` runs of ``--plan-requests`` requests each, after a warm-up."""
    count = ctx.args.plan_requests
    throughput(browser, WARM_UP_REQUESTS, url)
    pid = browser.server.worker_pid()
    rates, latencies, cpu = [], [], []
    for i in range(ctx.args.runs):
        cpu_before = cpu_seconds(pid)
        seconds, run_latencies = throughput(browser, count, url)
        cpu.append((cpu_seconds(pid) - cpu_before) / count * 1000)
        rates.append(count / seconds)
        latencies.extend(run_latencies)
        ctx.progress(
            f"{label} run {i + 1}/{ctx.args.runs}: {count} requests in {seconds:.2f} s = {rates[-1]:.0f} req/s,"
            f" worker CPU {cpu[-1]:.2f} ms/request"
        )
    return Measurement(summarise(rates, ctx.args.stat), rates, latencies, min(cpu))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def captured_plan_queries(client: Client) -> list[str]:
    data = {"fieldId": blob_field_id(), "filename": "queries.bin", "size": 1024}
    first = client.post(plan_path(), data)  # creates the session for anonymous clients
    if first.status_code != 200:
        raise BenchmarkError(f"plan request answered {first.status_code}: {first.content[:300]!r}")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(plan_path(), data)
    if response.status_code != 200:
        raise BenchmarkError(f"plan request answered {response.status_code}: {response.content[:300]!r}")
    return [query["sql"] for query in captured.captured_queries]


def is_session_or_auth(sql: str) -> bool:
    return any(table in sql for table in SESSION_AUTH_TABLES)


def describe_queries(label: str, queries: list[str], section: Section) -> tuple[int, int]:
    library = [q for q in queries if not is_session_or_auth(q)]
    section.note(f"{label}: {len(queries)} queries, {len(library)} beyond session/auth")
    for sql in queries:
        tag = "session/auth" if is_session_or_auth(sql) else "library     "
        section.note(f"    [{tag}] {sql if len(sql) <= 150 else sql[:147] + '...'}")
    return len(queries), len(library)


def run(ctx) -> Section:
    section = Section("3. generate-upload-url")
    runs, count = ctx.args.runs, ctx.args.plan_requests
    browser = Browser(ctx.server("ours"))
    ours = measure(ctx, "plan", browser)
    low, high = REFERENCE_RPS
    section.add(
        f"requests/s over HTTP ({count:,} req, {ctx.args.stat} of {runs})",
        f"{ours.rate:.0f} req/s",
        f"ref {low}-{high} req/s",
        ABOVE_REF if ours.rate >= low else BELOW_REF,
    )
    section.note(
        "plan req/s per run: "
        + ", ".join(f"{r:.0f}" for r in ours.rates)
        + f"; latency p50 {percentile(ours.latencies, 0.5) * 1000:.2f} ms,"
        f" p99 {percentile(ours.latencies, 0.99) * 1000:.2f} ms (client side, incl. connect)"
    )

    # Where the time goes: the same request to a view without the library, and our view with one database setting
    # changed (SQLite: commits do not wait for the disk; PostgreSQL: a new connection per request).
    variant = ctx.database.plan_variant
    floor = measure(ctx, "floor", browser, f"{browser.server.base_url}{reverse('bench_floor')}")
    browser.close()
    ctx.stop_server("ours")  # one idle worker less while the next server runs
    variant_browser = Browser(ctx.server("ours-variant"))
    other = measure(ctx, f"plan, {variant.name}", variant_browser)
    variant_browser.close()
    ctx.stop_server("ours-variant")
    section.add("  floor: same middleware + session, no library", f"{floor.rate:.0f} req/s")
    section.add(variant.row, f"{other.rate:.0f} req/s")
    section.add(
        "  worker CPU per request: ours (floor)", f"{ours.worker_cpu_ms:.2f} ms", f"floor: {floor.worker_cpu_ms:.2f} ms"
    )
    section.note(
        "floor req/s per run: "
        + ", ".join(f"{r:.0f}" for r in floor.rates)
        + f"; {variant.name} req/s per run: "
        + ", ".join(f"{r:.0f}" for r in other.rates)
    )
    section.note(
        f"worker CPU ms per request (least of runs): ours {ours.worker_cpu_ms:.2f}, "
        f"ours with {variant.name} {other.worker_cpu_ms:.2f}, floor {floor.worker_cpu_ms:.2f}"
    )

    total, library = describe_queries(
        "anonymous session, MAX_PENDING_UPLOADS=None (as above)", captured_plan_queries(Client()), section
    )
    section.add(
        "SQL queries per plan (anonymous, no cap)",
        f"{total} ({library} library)",
        f"<= {TARGET_LIBRARY_QUERIES} beyond session/auth",
        check(library <= TARGET_LIBRARY_QUERIES),
    )

    with override_settings(ALLIANCE_PLATFORM={"STORAGE": {"MAX_PENDING_UPLOADS": 50}}):
        total, library = describe_queries(
            "anonymous session, MAX_PENDING_UPLOADS=50 (library default)", captured_plan_queries(Client()), section
        )
    section.add(
        "SQL queries per plan (anonymous, default cap 50)",
        f"{total} ({library} library)",
        f"<= {TARGET_LIBRARY_QUERIES} beyond session/auth",
        check(library <= TARGET_LIBRARY_QUERIES),
    )

    user_model = get_user_model()
    user = user_model.objects.filter(username="bench").first() or user_model.objects.create_user("bench")
    client = Client()
    client.force_login(user)
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": {"MAX_PENDING_UPLOADS": 50}}):
        total, library = describe_queries(
            "logged-in user, MAX_PENDING_UPLOADS=50", captured_plan_queries(client), section
        )
    section.add(
        "SQL queries per plan (logged in, default cap 50)",
        f"{total} ({library} library)",
        f"<= {TARGET_LIBRARY_QUERIES} beyond session/auth",
        check(library <= TARGET_LIBRARY_QUERIES),
    )
    return section
