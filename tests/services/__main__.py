"""By hand: ``python -m tests.services start NAME DIR`` starts one service (``postgres``, ``s3``, ``azure``, ``gcs``,
``redis`` or ``clamd``) in the fresh directory DIR and prints the environment variables that point the tests at
it; ``stop NAME DIR`` stops it again (from any shell); ``stop-all DIR`` stops every service started under DIR
(what the test command's exit handler runs, in case a run was killed before it could stop its own)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import shlex
import sys

from . import SERVICES, ServiceError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.services", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("start", "stop"):
        sub = commands.add_parser(command)
        sub.add_argument("name", choices=sorted(SERVICES))
        sub.add_argument("directory", type=Path)
    commands.add_parser("stop-all").add_argument("directory", type=Path)
    args = parser.parse_args(argv)

    try:
        if args.command == "start":
            service = SERVICES[args.name](args.directory).start()
            for name, value in service.env().items():
                print(f"export {name}={shlex.quote(value)}")
        elif args.command == "stop":
            SERVICES[args.name].attach(args.directory).stop()
        else:
            for record in sorted(args.directory.glob("**/service.json")):
                SERVICES[json.loads(record.read_text())["name"]].attach(record.parent).stop()
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
