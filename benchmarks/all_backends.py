"""``--backend all``: the selected benchmarks (``background`` unless ``--only`` says else) on the filesystem, S3 and
Azure backends in one command and one table.

Each backend runs in a ``python -m benchmarks --backend NAME`` process of its own, because the benchmark project's
storage, like any Django project's, is chosen once when its settings load (and the gunicorn servers and workers
inherit that choice). Every child gets the same arguments, with its backend and the selection appended (argparse
keeps the last value), and writes its sections to a JSON file (``--sections-json``); this process prints them
together. A child runs in its own session, so a Ctrl-C reaches this process alone, which passes it on once and
waits while the child stops its services and removes its workspace.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time

from .harness import ERROR, FAIL, ROOT, Row, Section, machine_busy_seconds, render_table

EACH = ("filesystem", "s3", "azure")


def write_sections(path: str, sections: list[Section], title: str, environment: str, errors: int) -> None:
    """What ``--backend all`` reads back from a child: the table's sections, its title and environment line."""
    document = {
        "title": title,
        "environment": environment,
        "errors": errors,
        "sections": [asdict(section) for section in sections],
    }
    Path(path).write_text(json.dumps(document))


def read_sections(path: Path) -> dict:
    document = json.loads(path.read_text())
    document["sections"] = [
        Section(s["title"], [Row(**row) for row in s["rows"]], list(s["details"])) for s in document["sections"]
    ]
    return document


def failed_section(backend: str, why: str) -> Section:
    section = Section(f"--backend {backend}: could not complete")
    section.add(backend, "-", why[:100], ERROR)
    return section


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Run one backend's benchmarks; its table goes nowhere (the JSON has it), its progress to our stderr."""
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        while True:
            try:
                child.wait()
                break
            except KeyboardInterrupt:
                continue  # already passed on; the child is cleaning up
        raise


def run_each_backend(args: argparse.Namespace, argv: list[str]) -> int:
    from .runner import other_load_summary, own_cpu_seconds, server_environment

    started = time.monotonic()
    busy_before, own_before = machine_busy_seconds(), own_cpu_seconds()
    load_before = os.getloadavg()[0]
    sections: list[Section] = []
    titles: list[str] = []
    environments: list[str] = []
    worst = 0
    try:
        with tempfile.TemporaryDirectory(prefix="ap-storage-bench-all-") as scratch:
            for backend in EACH:
                output = Path(scratch, f"{backend}.json")
                command = [
                    sys.executable,
                    "-m",
                    "benchmarks",
                    *argv,
                    "--backend",
                    backend,
                    "--only",
                    ",".join(args.selected),
                    "--sections-json",
                    str(output),
                ]
                print(f"== --backend {backend}", file=sys.stderr, flush=True)
                returncode = run_child(command, server_environment())
                worst = max(worst, returncode)
                if not output.exists():
                    sections.append(failed_section(backend, f"exited with {returncode} before reporting"))
                    continue
                document = read_sections(output)
                sections.extend(document["sections"])
                titles.append(f"{backend}: {document['title']}")
                environments.append(document["environment"])
    except KeyboardInterrupt:
        print("\ninterrupted; the running backend stopped its services", file=sys.stderr)
        return 130

    print()
    print(render_table(sections, colour=sys.stdout.isatty(), title="--backend all (one process per backend)"))
    print("\nSetup per backend")
    for title in titles:
        print(f"  {title}")
    details = [(s.title, s.details) for s in sections if s.details]
    if details:
        print("\nDetails")
        for title, notes in details:
            print(f"  {title}")
            for note in notes:
                print(f"    {note}")
    wall = time.monotonic() - started
    print()
    for environment in environments:
        print(environment)
    print(f"All backends: total {wall:.0f} s")
    busy, own = machine_busy_seconds() - busy_before, own_cpu_seconds() - own_before
    print(other_load_summary(busy, own, wall, load_before))
    missed = any(row.verdict == FAIL for section in sections for row in section.rows)
    if worst >= 2:
        return 2
    return 1 if (missed and args.strict) else 0
