"""Command line entry point: ``python -m benchmarks [--backend filesystem|s3|azure] [--quick] [--size MIB]
[--only LIST] [--database sqlite|postgres]``."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import signal
import sys
import time

from .azure import Azurite
from .database import DATABASES, Database, make_database
from .harness import (
    ERROR,
    MIB,
    ROOT,
    BenchmarkError,
    GunicornServer,
    Section,
    Workspace,
    machine_busy_seconds,
    render_table,
)
from .s3 import SeaweedFS

# Per storage backend, the benchmarks it has, always run in this order.
BENCHMARKS = {
    "filesystem": ("upload", "submit", "background", "plan", "cleanup"),
    "s3": ("upload", "promotion", "background", "cleanup"),
    "azure": ("upload", "promotion", "background", "cleanup"),
}
CLOUD_BACKENDS = ("s3", "azure")
BACKENDS = tuple(BENCHMARKS)
# ``--backend all`` runs each backend in turn (see all_backends.py): the benchmarks every backend has, background
# unless --only says else.
ALL = "all"
EVERY_BACKEND = tuple(name for name in BENCHMARKS["filesystem"] if all(name in b for b in BENCHMARKS.values()))
# Server name -> WSGI application. All run with the same gunicorn settings. "ours-variant" is our project with one
# database setting changed, for the plan benchmark (the database's PlanVariant adds its environment);
# "ours-single-post" / "ours-single-put" our project with a multipart (block) threshold above the S3 (Azure) upload's
# size.
APPS = {
    "ours": "benchmarks.wsgi:application",
    "ours-variant": "benchmarks.wsgi:application",
    "ours-single-post": "benchmarks.wsgi:application",
    "ours-single-put": "benchmarks.wsgi:application",
    "bare": "benchmarks.bare_wsgi:application",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks of the async upload endpoints, form submit and cleanup (see benchmarks/README.md).",
    )
    parser.add_argument(
        "--backend",
        choices=(*BACKENDS, ALL),
        default="filesystem",
        help="filesystem: the filesystem backend (default); s3: the S3 backend on a throwaway SeaweedFS; azure: the "
        "Azure backend on a throwaway Azurite; both with browser uploads in headless Chromium; all: each of the "
        "three in turn, in one table (--only defaults to background)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="64 MiB upload and cleanup of 20,000 rows only (unless --size/--cleanup-rows say else); "
        "with --backend s3 or azure: 128 MiB, one run, cleanup of 1,000 objects",
    )
    parser.add_argument(
        "--size",
        type=int,
        metavar="MIB",
        help="upload size in MiB (default 512; 64 with --quick, 128 with --backend s3/azure --quick)",
    )
    parser.add_argument(
        "--only",
        metavar="LIST",
        help="comma-separated subset of the backend's benchmarks: filesystem "
        f"{','.join(BENCHMARKS['filesystem'])}; s3 and azure {','.join(BENCHMARKS['s3'])} (default: all); "
        f"--backend all: {','.join(EVERY_BACKEND)} (default: background)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        help="repetitions of each upload, submit, plan and promotion measurement (default 3; with --backend s3 5, "
        "with --backend azure 3; 1 with --quick for either)",
    )
    parser.add_argument(
        "--plan-requests", type=int, default=2000, metavar="N", help="plan requests per throughput run (default 2000)"
    )
    parser.add_argument(
        "--cleanup-rows",
        metavar="LIST",
        help="comma-separated row counts for cleanup (default 20000,100000; 20000 with --quick)",
    )
    parser.add_argument(
        "--stat",
        choices=("best", "median"),
        default="median",
        help="how repeated runs are summarised (default median; best: the fastest run)",
    )
    parser.add_argument(
        "--cleanup-model-rows",
        type=int,
        default=0,
        metavar="N",
        help="records to add to the benchmark model's table before the cleanup runs (default 0)",
    )
    parser.add_argument(
        "--database",
        choices=DATABASES,
        default="sqlite",
        help="sqlite: a file in the workspace (default); postgres: a throwaway PostgreSQL cluster started for the run",
    )
    parser.add_argument(
        "--s3-objects",
        type=int,
        metavar="N",
        help="--backend s3: expired temp objects for the cleanup benchmark (default 10000; 1000 with --quick)",
    )
    parser.add_argument(
        "--azure-blobs",
        type=int,
        metavar="N",
        help="--backend azure: expired temp blobs for the cleanup benchmark (default 10000; 1000 with --quick)",
    )
    parser.add_argument(
        "--parallel-parts",
        metavar="LIST",
        default="1,2,4",
        help="--backend s3 or azure: parts (blocks) in flight for the browser's split uploads (default 1,2,4)",
    )
    parser.add_argument(
        "--s3-ports",
        metavar="S3,FILER,MASTER,VOLUME",
        help="--backend s3: SeaweedFS's ports, each + 10000 too (default 7333,7338,7343,7348, or 50 higher while "
        "taken)",
    )
    parser.add_argument(
        "--azure-port",
        type=int,
        metavar="PORT",
        help="--backend azure: Azurite's blob port (default 6100, or 10 higher while taken)",
    )
    parser.add_argument(
        "--sections-json",
        metavar="PATH",
        help="also write the table's sections to PATH as JSON (how --backend all collects each backend's)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace (database, logs)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = parser.parse_args(argv)

    available = EVERY_BACKEND if args.backend == ALL else BENCHMARKS[args.backend]
    default = "background" if args.backend == ALL else ",".join(available)
    selected = [name.strip() for name in (args.only or default).split(",") if name.strip()]
    unknown = sorted(set(selected) - set(available))
    if unknown or not selected:
        parser.error(
            f"--only takes a comma-separated subset of {','.join(available)} for --backend {args.backend} "
            f"(got {args.only!r})"
        )
    args.selected = [name for name in available if name in selected]
    if args.size is None:
        args.size = 512 if not args.quick else (128 if args.backend in CLOUD_BACKENDS else 64)
    if args.size < 1:
        parser.error("--size must be at least 1 (MiB)")
    if args.runs is None:
        args.runs = 1 if args.quick and args.backend in CLOUD_BACKENDS else (5 if args.backend == "s3" else 3)
    if args.runs < 1 or args.plan_requests < 1:
        parser.error("--runs and --plan-requests must be at least 1")
    if args.s3_objects is None:
        args.s3_objects = 1000 if args.quick else 10_000
    if args.azure_blobs is None:
        args.azure_blobs = 1000 if args.quick else 10_000
    if args.s3_objects < 1 or args.azure_blobs < 1:
        parser.error("--s3-objects and --azure-blobs must be at least 1")
    if args.azure_port is not None and not 0 < args.azure_port < 65536:
        parser.error("--azure-port takes a port number")
    try:
        args.parallel = [int(n) for n in args.parallel_parts.split(",") if n.strip()]
    except ValueError:
        parser.error("--parallel-parts takes comma-separated integers")
    if not args.parallel or min(args.parallel) < 1 or max(args.parallel) > 16:
        parser.error("--parallel-parts takes integers from 1 to 16 (the widget's maximum)")
    args.ports = None
    if args.s3_ports:
        try:
            args.ports = tuple(int(n) for n in args.s3_ports.split(","))
        except ValueError:
            args.ports = ()
        if len(args.ports) != 4 or not all(0 < port < 55536 for port in args.ports):
            parser.error("--s3-ports takes four port numbers S3,FILER,MASTER,VOLUME (each below 55536)")
    default_rows = "20000" if args.quick else "20000,100000"
    try:
        args.cleanup_counts = [int(n) for n in (args.cleanup_rows or default_rows).split(",") if n.strip()]
    except ValueError:
        parser.error("--cleanup-rows takes comma-separated integers")
    if not args.cleanup_counts or min(args.cleanup_counts) < 1:
        parser.error("--cleanup-rows takes positive integers")
    return args


class Context:
    """What the benchmarks share: options, the workspace and the running servers."""

    def __init__(
        self,
        args: argparse.Namespace,
        workspace: Workspace,
        database: Database,
        s3: SeaweedFS | None = None,
        azure: Azurite | None = None,
    ):
        self.args = args
        self.workspace = workspace
        self.database = database
        self.s3 = s3
        self.azure = azure
        self.parallel = args.parallel
        self._s3_clients: dict[int, object] = {}
        self.selected = args.selected
        self.size_bytes = args.size * MIB
        self.size_label = f"{args.size} MiB"
        self.cleanup_counts = args.cleanup_counts
        self._servers: dict[str, GunicornServer] = {}

    def server(
        self, name: str, env: dict[str, str] | None = None, app: str | None = None, python: str | None = None
    ) -> GunicornServer:
        """The running server ``name``, started on first use with ``env`` added to its environment; ``app`` and
        ``python`` for a server not in ``APPS`` (the plan benchmark's second database and the reference)."""
        if name not in self._servers:
            app = app or APPS[name]
            extra_env = {**(self.database.plan_variant.env if name == "ours-variant" else {}), **(env or {})}
            server = GunicornServer(name, app, self.workspace, {**server_environment(), **extra_env}, python)
            self._servers[name] = server  # registered before starting, so a failed start is still stopped
            settings = "".join(f" {key}={value}" for key, value in extra_env.items())
            self.progress(f"starting gunicorn ({name}: {app}{settings})")
            server.start()
        return self._servers[name]

    @property
    def s3_client(self):
        """The runner's own boto3 client for the S3 server (set-up and checks; never the storage's client)."""
        return self.s3_client_for_threads(10)

    def s3_client_for_threads(self, threads: int):
        if threads not in self._s3_clients:
            self._s3_clients[threads] = self.s3.client(max_pool_connections=threads)
        return self._s3_clients[threads]

    def stop_server(self, name: str) -> None:
        server = self._servers.pop(name, None)
        if server is not None:
            server.stop()

    def close(self) -> None:
        for name in list(self._servers):
            self.stop_server(name)

    @staticmethod
    def progress(message: str) -> None:
        print(f"  .. {message}", file=sys.stderr, flush=True)


def server_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    # The library's migrations, and the benchmark app's table (it has no migrations).
    call_command("migrate", run_syncdb=True, verbosity=0)


def environment_summary(
    args: argparse.Namespace, database: Database, s3: SeaweedFS | None = None, azure: Azurite | None = None
) -> str:
    import django
    import gunicorn

    storage = "filesystem backend"
    if s3 is not None:
        import boto3
        import storages

        storage = f"S3 backend (django-storages {storages.__version__}, boto3 {boto3.__version__}) on {s3.description}"
    if azure is not None:
        import azure.storage.blob as blob_sdk
        import storages

        storage = (
            f"Azure backend (django-storages {storages.__version__}, azure-storage-blob {blob_sdk.__version__}) "
            f"on {azure.description}"
        )
    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, gunicorn {gunicorn.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}; {database.description}; {storage}; "
        f"upload size {args.size} MiB; runs {args.runs}"
    )


def benchmark_modules(backend: str) -> dict:
    from . import bench_background

    if backend == "s3":
        from . import bench_s3_cleanup, bench_s3_promotion, bench_s3_upload

        return {
            "upload": bench_s3_upload,
            "promotion": bench_s3_promotion,
            "background": bench_background,
            "cleanup": bench_s3_cleanup,
        }
    if backend == "azure":
        from . import bench_azure_cleanup, bench_azure_promotion, bench_azure_upload

        return {
            "upload": bench_azure_upload,
            "promotion": bench_azure_promotion,
            "background": bench_background,
            "cleanup": bench_azure_cleanup,
        }
    from . import bench_cleanup, bench_plan, bench_submit, bench_upload

    return {
        "upload": bench_upload,
        "submit": bench_submit,
        "background": bench_background,
        "plan": bench_plan,
        "cleanup": bench_cleanup,
    }


def close_django_connections() -> None:
    """Close the runner's own database connections (before the database server stops), if Django was set up."""
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        with contextlib.suppress(Exception):  # an interrupted query may leave a connection that cannot close cleanly
            connections.close_all()


def own_cpu_seconds() -> float:
    """CPU time of this process and of the children it waited for (the gunicorn servers, once stopped)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def other_load_summary(busy_seconds: float, own_seconds: float, wall_seconds: float, load_before: float) -> str:
    """How much CPU other processes took while we ran: a noise indicator for every number above.

    Approximate: the kernel's own work on our behalf (writing uploaded files out, for one) counts as "other".
    """
    cpus = os.cpu_count() or 1
    others = max(0.0, busy_seconds - own_seconds)
    share = others / (wall_seconds * cpus) if wall_seconds > 0 else 0.0
    text = (
        f"Other processes used {share:.0%} of the machine's {cpus} CPUs during the run "
        f"(load average {load_before:.2f} at the start)."
    )
    if share > 0.10:
        text += " The machine was busy: expect noisy numbers; rerun on an idle machine to compare with references."
    return text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # Ctrl-C, kill and a closed terminal all end in the same clean-up (servers stopped, workspace removed), even
    # when SIGINT was ignored by whoever started us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_interrupt)

    if args.backend == ALL:
        from .all_backends import run_each_backend

        return run_each_backend(args, argv)

    workspace = Workspace(keep=args.keep)
    os.environ["AP_BENCH_DIR"] = str(workspace.path)
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    database = make_database(args.database, workspace, Context.progress)
    s3 = SeaweedFS(workspace, Context.progress, args.ports) if args.backend == "s3" else None
    azure = Azurite(workspace, Context.progress, args.azure_port) if args.backend == "azure" else None
    service = s3 or azure
    ctx = Context(args, workspace, database, s3, azure)
    sections: list[Section] = []
    errors = 0
    started = time.monotonic()
    busy_before, own_before = machine_busy_seconds(), own_cpu_seconds()
    load_before = os.getloadavg()[0]
    try:
        try:
            database.start()
        except BenchmarkError as exc:
            print(f"!! could not start the database: {exc}", file=sys.stderr)
            return 2
        if service is not None:
            try:
                service.start()
            except BenchmarkError as exc:
                print(f"!! could not start {'SeaweedFS' if s3 is not None else 'Azurite'}: {exc}", file=sys.stderr)
                return 2
        setup_django()
        modules = benchmark_modules(args.backend)
        print(
            f"Running: {', '.join(args.selected)}  ({environment_summary(args, database, s3, azure)})",
            file=sys.stderr,
            flush=True,
        )
        for name in args.selected:
            print(f"[{name}]", file=sys.stderr, flush=True)
            try:
                sections.append(modules[name].run(ctx))
            except BenchmarkError as exc:
                errors += 1
                failed = Section(f"{name} ({args.backend}): could not complete")
                failed.add(name, "-", str(exc).splitlines()[0][:100], ERROR)
                failed.note(f"{name} failed: {exc}")
                sections.append(failed)
                print(f"  !! {name} failed: {exc}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping servers and removing the workspace", file=sys.stderr)
        return 130
    finally:
        ctx.close()
        close_django_connections()
        if service is not None:
            service.stop()
        database.stop()
        workspace.cleanup()

    print()
    table_title = f"Database: {database.description}"
    if service is not None:
        table_title += f"; storage: {service.description}"
    print(render_table(sections, colour=sys.stdout.isatty(), title=table_title))
    details = [(s.title, s.details) for s in sections if s.details]
    if details:
        print("\nDetails")
        for title, notes in details:
            print(f"  {title}")
            for note in notes:
                print(f"    {note}")
    wall = time.monotonic() - started
    print(f"\n{environment_summary(args, database, s3, azure)}; total {wall:.0f} s")
    if args.sections_json:
        from .all_backends import write_sections

        write_sections(
            args.sections_json, sections, table_title, environment_summary(args, database, s3, azure), errors
        )
    busy, own = machine_busy_seconds() - busy_before, own_cpu_seconds() - own_before
    print(other_load_summary(busy, own, wall, load_before))
    missed = any(row.verdict == "FAIL" for section in sections for row in section.rows)
    if errors:
        return 2
    return 1 if (missed and args.strict) else 0
