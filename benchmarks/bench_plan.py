"""3. ``generate-upload-url``: ours and the reference (alliance-platform-storage 0.0.5) side by side, on SQLite and
on PostgreSQL in one run: plans per second through gunicorn, worker CPU per plan and SQL queries per plan.

The plan section always measures both databases: the one the runner uses (``--database``, SQLite by default) and
the other one, which it sets up for itself (a throwaway PostgreSQL cluster, or a SQLite file in the workspace) and
serves to gunicorn servers started with that database's environment. The reference runs in a virtual environment of
its own (``reference_env``), with the same Django and gunicorn, serving ``benchmarks/reference_project``: the same
model, field arguments, apps and middleware, on its own SQLite file or PostgreSQL database.

Throughput: one ``requests.Session`` (what a browser tab is: one session cookie, the CSRF header) sends plan
requests back to back. The reference answers GET only, so both get the same ``GET generate-upload-url/?fieldId=
&filename=&size=``; ours is also measured with the widget's ``POST`` (CSRF checked). Runs of the three alternate
(ours POST, ours GET, reference GET, then again), so that all three see the same machine. A gunicorn *sync* worker
answers every request with ``Connection: close``, so each request opens a new loopback connection (true of any sync
worker). On the runner's database two more servers show where the time goes: a view without the library in the
same project (the floor), and our endpoint with one database setting changed: on SQLite ``synchronous=OFF``
(commits do not wait for the disk), on PostgreSQL a new connection for every request (``CONN_MAX_AGE=0``).

Queries per plan, counted two ways:

- over HTTP, in the server that answers, for ours and the reference on each database: the plan request after the
  warm-up carries ``X-Bench-Count-Queries`` and ``benchmarks.query_count`` answers with every statement the
  request ran, the session and authentication middleware's included. Neither library creates a session for an
  anonymous browser (ours gives it a signed uploader cookie with its first plan), so neither loads one: both
  browsers are in the same state.
- in-process on the runner's database, with ``CaptureQueriesContext`` around a Django test client request after an
  earlier one of the same client: without a cap (the benchmark settings), with the library's default cap of 50,
  and for a logged-in user with that cap.

What counts against the target (at most 2 per plan): every query of the request, except, for a logged-in user, the
``auth_user`` row that Django's ``AuthenticationMiddleware`` reads for every request of a logged-in user whatever
view serves it. For an anonymous browser there is no exception to make: its uploader token is in a signed cookie,
so no session row is read.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import os
import subprocess
import sys
import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from .browser import Browser, blob_field_id, plan_path
from .database import PostgresDatabase
from .harness import ROOT, BenchmarkError, Section, check, cpu_seconds, summarise
from .query_count import HEADER as COUNT_HEADER
from .reference_env import reference_python

TARGET_QUERIES = 2
WARM_UP_REQUESTS = 50
OURS_APP = "benchmarks.wsgi:application"
REFERENCE_APP = "benchmarks.reference_project.wsgi:application"
REFERENCE_SETTINGS = "benchmarks.reference_project.settings"
REFERENCE_PG_DATABASE = "ap_storage_reference"


def throughput(
    browser: Browser, requests_count: int, url: str | None = None, method: str = "post"
) -> tuple[float, list[float]]:
    """Seconds for ``requests_count`` plan requests (``method`` POST or GET), and each one's latency; every answer
    is checked."""
    session, field_id = browser.session, browser.field_id
    url = url or browser.plan_url
    send = session.post if method == "post" else session.get
    argument = "data" if method == "post" else "params"
    latencies = []
    started = time.perf_counter()
    for i in range(requests_count):
        sent = time.perf_counter()
        response = send(url, **{argument: {"fieldId": field_id, "filename": f"plan-{i}.bin", "size": 1024}})
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
    first = client.post(plan_path(), data)  # gives an anonymous client its uploader cookie
    if first.status_code != 200:
        raise BenchmarkError(f"plan request answered {first.status_code}: {first.content[:300]!r}")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(plan_path(), data)
    if response.status_code != 200:
        raise BenchmarkError(f"plan request answered {response.status_code}: {response.content[:300]!r}")
    return [query["sql"] for query in captured.captured_queries]


def is_user_lookup(sql: str) -> bool:
    """The one query set aside: ``AuthenticationMiddleware``'s read of a logged-in user's row."""
    return sql.lstrip().upper().startswith("SELECT") and 'FROM "auth_user"' in sql


def describe_queries(label: str, queries: list[str], section: Section) -> int:
    """List ``queries`` in the details; the number that counts against the target."""
    counted = [q for q in queries if not is_user_lookup(q)]
    section.note(f"{label}: {len(queries)} queries, {len(counted)} counted (all but the user lookup)")
    for sql in queries:
        tag = "user lookup (not counted)" if is_user_lookup(sql) else "counted"
        section.note(f"    [{tag}] {sql if len(sql) <= 150 else sql[:147] + '...'}")
    return len(counted)


@dataclass
class PlanDatabase:
    """One database the plan section measures on, with the environment its servers get."""

    vendor: str  # "sqlite" or "postgres"
    label: str  # "SQLite" or "PostgreSQL", for the table
    env: dict[str, str]
    description: str


def reference_field_id() -> str:
    """The reference's id of ``refapp.Blob.file``, by the documented rule both registries share."""
    from alliance_platform.storage.async_uploads.registry import field_id_for

    return field_id_for("refapp.Blob", "file")


def migrate(python: str, settings_module: str, env: dict[str, str]) -> None:
    """``migrate --run-syncdb`` of a project in a process of its own (another database or environment than ours)."""
    command = [python, "-m", "django", "migrate", "--run-syncdb", "--verbosity", "0"]
    full_env = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": settings_module, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise BenchmarkError(f"migrate ({settings_module}) failed:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}")


def create_pg_database(env: dict[str, str], name: str) -> None:
    import psycopg

    with psycopg.connect(
        host=env["AP_BENCH_PG_HOST"], port=env["AP_BENCH_PG_PORT"], user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE DATABASE {name}")


def other_database(ctx, started: list) -> PlanDatabase:
    """The database the runner does not use, made ready for our project (a PostgreSQL cluster it starts, or a
    SQLite file), its schema migrated by a process of its own. The runner's environment is left as it was."""
    if ctx.database.vendor == "postgres":
        env = {"AP_BENCH_DB": "sqlite"}
        migrate(sys.executable, "benchmarks.settings", env)
        return PlanDatabase("sqlite", "SQLite", env, "SQLite file database (in the workspace)")
    saved = dict(os.environ)
    postgres = PostgresDatabase(ctx.workspace, ctx.progress)
    started.append(postgres)
    try:
        postgres.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    migrate(sys.executable, "benchmarks.settings", postgres.env)
    return PlanDatabase("postgres", "PostgreSQL", dict(postgres.env), postgres.description)


def runner_database(ctx) -> PlanDatabase:
    database = ctx.database
    if database.vendor == "postgres":
        return PlanDatabase("postgres", "PostgreSQL", dict(database.env), database.description)
    return PlanDatabase("sqlite", "SQLite", {"AP_BENCH_DB": "sqlite"}, database.description)


def reference_environment(database: PlanDatabase) -> dict[str, str]:
    env = {**database.env, "DJANGO_SETTINGS_MODULE": REFERENCE_SETTINGS}
    if database.vendor == "postgres":
        env["AP_BENCH_REF_PG_NAME"] = REFERENCE_PG_DATABASE
    return env


def counted_over_http(browser: Browser, method: str) -> list[str]:
    """The statements one plan request ran in the server, as ``query_count`` reports them."""
    data = {"fieldId": browser.field_id, "filename": "counted.bin", "size": 1024}
    headers = {COUNT_HEADER: "1"}
    if method == "post":
        response = browser.session.post(browser.plan_url, data=data, headers=headers)
    else:
        response = browser.session.get(browser.plan_url, params=data, headers=headers)
    if response.status_code != 200 or "X-Bench-Queries" not in response.headers:
        raise BenchmarkError(f"counted plan request answered {response.status_code}: {response.text[:300]}")
    statements = json.loads(response.headers["X-Bench-Sql"])
    if len(statements) != int(response.headers["X-Bench-Queries"]):
        raise BenchmarkError("the query count and the statements reported disagree")
    return statements


def alternate(ctx, contenders: list[tuple[str, Browser, str]]) -> dict[str, Measurement]:
    """``--runs`` rounds; in each, one run of ``--plan-requests`` requests per contender, in turn."""
    count = ctx.args.plan_requests
    for _label, browser, method in contenders:
        throughput(browser, WARM_UP_REQUESTS, method=method)
    rates: dict[str, list[float]] = {label: [] for label, _b, _m in contenders}
    cpu: dict[str, list[float]] = {label: [] for label, _b, _m in contenders}
    latencies: dict[str, list[float]] = {label: [] for label, _b, _m in contenders}
    for i in range(ctx.args.runs):
        for label, browser, method in contenders:
            pid = browser.server.worker_pid()
            cpu_before = cpu_seconds(pid)
            seconds, run_latencies = throughput(browser, count, method=method)
            cpu[label].append((cpu_seconds(pid) - cpu_before) / count * 1000)
            rates[label].append(count / seconds)
            latencies[label].extend(run_latencies)
            ctx.progress(
                f"{label} run {i + 1}/{ctx.args.runs}: {count} requests in {seconds:.2f} s = {rates[label][-1]:.0f}"
                f" req/s, worker CPU {cpu[label][-1]:.2f} ms/request"
            )
    return {
        label: Measurement(summarise(rates[label], ctx.args.stat), rates[label], latencies[label], min(cpu[label]))
        for label in rates
    }


def side_by_side(ctx, section: Section, database: PlanDatabase, python: str) -> Browser:
    """Ours (POST and GET) and the reference (GET) on ``database``; returns our browser (its server still runs)."""
    label = database.label
    ours_name = "ours" if database.vendor == ctx.database.vendor else f"ours-{database.vendor}"
    ours = Browser(ctx.server(ours_name, database.env, OURS_APP))
    reference_env = reference_environment(database)
    if database.vendor == "postgres":
        create_pg_database(database.env, REFERENCE_PG_DATABASE)
    migrate(python, REFERENCE_SETTINGS, reference_env)
    reference = Browser(ctx.server(f"reference-{database.vendor}", reference_env, REFERENCE_APP, python))
    reference.field_id = reference_field_id()

    results = alternate(
        ctx,
        [
            (f"ours POST ({label})", ours, "post"),
            (f"ours GET ({label})", ours, "get"),
            (f"reference 0.0.5 GET ({label})", reference, "get"),
        ],
    )
    ours_post, ours_get, ref_get = results.values()
    ours_queries = counted_over_http(ours, "get")
    ours_post_queries = counted_over_http(ours, "post")
    ref_queries = counted_over_http(reference, "get")
    reference.close()
    ctx.stop_server(f"reference-{database.vendor}")

    runs, count = ctx.args.runs, ctx.args.plan_requests
    section.add(
        f"{label}: plans/s, same GET ({count:,} req, {ctx.args.stat} of {runs})",
        f"{ours_get.rate:.0f} req/s",
        f"ref 0.0.5: {ref_get.rate:.0f} req/s ({ours_get.rate / ref_get.rate:.2f}x)",
        check(ours_get.rate >= ref_get.rate),
    )
    section.add(f"{label}: plans/s, ours with the widget's POST", f"{ours_post.rate:.0f} req/s")
    section.add(
        f"{label}: worker CPU per plan (GET)",
        f"{ours_get.worker_cpu_ms:.2f} ms",
        f"ref 0.0.5: {ref_get.worker_cpu_ms:.2f} ms",
    )
    counted = len([q for q in ours_queries if not is_user_lookup(q)])
    section.add(
        f"{label}: SQL queries per plan, over HTTP (GET; POST)",
        f"{counted}; {len(ours_post_queries)}",
        f"ref 0.0.5: {len(ref_queries)}; target <= {TARGET_QUERIES}",
        check(counted <= TARGET_QUERIES and len(ours_post_queries) <= TARGET_QUERIES),
    )
    for name, measured in results.items():
        section.note(
            f"{name}: req/s per run "
            + ", ".join(f"{r:.0f}" for r in measured.rates)
            + f"; latency p50 {percentile(measured.latencies, 0.5) * 1000:.2f} ms,"
            f" p99 {percentile(measured.latencies, 0.99) * 1000:.2f} ms (client side, incl. connect);"
            f" worker CPU {measured.worker_cpu_ms:.2f} ms/request (least of runs)"
        )
    for name, queries in (
        (f"ours GET ({label})", ours_queries),
        (f"ours POST ({label})", ours_post_queries),
        (f"reference 0.0.5 GET ({label}), no session", ref_queries),
    ):
        section.note(f"queries over HTTP, {name}: {len(queries)}")
        for sql in queries:
            section.note(f"    {sql}")
    section.note(f"{label}: {database.description}")
    return ours


def run(ctx) -> Section:
    section = Section("3. generate-upload-url (ours and the reference, SQLite and PostgreSQL)")
    python = reference_python(ctx.workspace, ctx.progress)
    started: list = []
    try:
        first = runner_database(ctx)
        browser = side_by_side(ctx, section, first, python)

        # Where the time goes, on the runner's database: the same request to a view without the library, and our
        # view with one database setting changed (SQLite: commits do not wait for the disk; PostgreSQL: a new
        # connection per request).
        variant = ctx.database.plan_variant
        floor = measure(ctx, "floor", browser, f"{browser.server.base_url}{reverse('bench_floor')}")
        browser.close()
        ctx.stop_server("ours")
        variant_browser = Browser(ctx.server("ours-variant"))
        other = measure(ctx, f"plan, {variant.name}", variant_browser)
        variant_browser.close()
        ctx.stop_server("ours-variant")
        section.add(f"  {first.label}: floor, same middleware + session, no library (POST)", f"{floor.rate:.0f} req/s")
        section.add(f"{variant.row} (POST)", f"{other.rate:.0f} req/s")
        section.add(
            "  worker CPU per request: floor",
            f"{floor.worker_cpu_ms:.2f} ms",
            f"{variant.name}: {other.worker_cpu_ms:.2f} ms",
        )
        section.note(
            "floor req/s per run: "
            + ", ".join(f"{r:.0f}" for r in floor.rates)
            + f"; {variant.name} req/s per run: "
            + ", ".join(f"{r:.0f}" for r in other.rates)
        )

        in_process_queries(ctx, section, first.label)

        second = other_database(ctx, started)
        second_browser = side_by_side(ctx, section, second, python)
        second_browser.close()
        ctx.stop_server(f"ours-{second.vendor}")
    finally:
        for postgres in started:
            postgres.stop()
    return section


def in_process_queries(ctx, section: Section, label: str) -> None:
    """Queries per plan with ``CaptureQueriesContext`` on the runner's database, without and with a cap."""
    counted = describe_queries(
        "anonymous browser, MAX_PENDING_UPLOADS=None (as above)", captured_plan_queries(Client()), section
    )
    section.add(
        f"{label}: SQL queries per plan, in-process (anonymous, no cap)",
        f"{counted}",
        f"<= {TARGET_QUERIES}",
        check(counted <= TARGET_QUERIES),
    )
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": {"MAX_PENDING_UPLOADS": 50}}):
        counted = describe_queries(
            "anonymous browser, MAX_PENDING_UPLOADS=50 (library default)", captured_plan_queries(Client()), section
        )
    section.add(
        f"{label}: SQL queries per plan, in-process (anonymous, cap 50)",
        f"{counted}",
        f"<= {TARGET_QUERIES}",
        check(counted <= TARGET_QUERIES),
    )
    user_model = get_user_model()
    user = user_model.objects.filter(username="bench").first() or user_model.objects.create_user("bench")
    client = Client()
    client.force_login(user)
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": {"MAX_PENDING_UPLOADS": 50}}):
        counted = describe_queries("logged-in user, MAX_PENDING_UPLOADS=50", captured_plan_queries(client), section)
    section.add(
        f"{label}: SQL queries per plan, in-process (logged in, cap 50)",
        f"{counted} + user lookup",
        f"<= {TARGET_QUERIES} + user lookup",
        check(counted <= TARGET_QUERIES),
    )
