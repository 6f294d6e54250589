"""`logfire-notebook`: serve the local backend, create read tokens, run the demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_PORT = 8787


def default_data_dir() -> Path:
    """Where the local backend keeps its data unless `--data-dir` says otherwise."""
    env = os.environ.get("LOGFIRE_NOTEBOOK_DATA_DIR")
    return Path(env) if env else Path.home() / ".local" / "share" / "logfire-notebook"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logfire-notebook", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the local Logfire-compatible backend")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--data-dir", type=Path, default=None)
    serve.add_argument(
        "--query-timeout", type=float, default=30.0, help="seconds a query may run before it is stopped"
    )

    token = commands.add_parser("token", help="manage read tokens of the local backend")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="print a new read token (only its hash is stored)")
    create.add_argument("--data-dir", type=Path, default=None)

    demo = commands.add_parser(
        "demo", help="fill the local backend with demo telemetry, then open JupyterLab on the example"
    )
    demo.add_argument("--data-dir", type=Path, default=None)
    demo.add_argument("--port", type=int, default=DEFAULT_PORT)
    demo.add_argument("--records", type=int, default=100_000, help="about how many records to make")
    front_end = demo.add_mutually_exclusive_group()
    front_end.add_argument(
        "--no-lab", action="store_true", help="fill the backend and stop; do not start JupyterLab"
    )
    front_end.add_argument(
        "--marimo",
        action="store_true",
        help="open examples/marimo_quickstart.py in marimo instead of JupyterLab",
    )
    front_end.add_argument(
        "--headless",
        action="store_true",
        help="serve the backend with live telemetry, no front end, until Ctrl-C",
    )
    demo.add_argument(
        "--live-per-minute",
        type=float,
        default=None,
        help="records a minute the live services send while the demo runs (default: the fill's density; 0: none)",
    )
    return parser


def _front_end(args: argparse.Namespace) -> str | None:
    if args.no_lab:
        return None
    return "marimo" if args.marimo else "none" if args.headless else "lab"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir: Path = args.data_dir or default_data_dir()
    try:
        if args.command == "serve":
            from logfire_notebook.server.app import serve

            serve(host=args.host, port=args.port, data_dir=data_dir, query_timeout=args.query_timeout)
        elif args.command == "token":
            from logfire_notebook.server.tokens import TokenFileError, create_token

            try:
                print(create_token(data_dir))
            except TokenFileError as exc:
                print(f"logfire-notebook: {exc}", file=sys.stderr)
                return 1
        elif args.command == "demo":
            from logfire_notebook.server.demo import run_demo

            run_demo(
                data_dir=data_dir,
                port=args.port,
                records=args.records,
                front_end=_front_end(args),
                live_per_minute=args.live_per_minute,
            )
    except ModuleNotFoundError as exc:
        print(
            f"logfire-notebook: {exc.name} is missing; install the local backend with "
            "`pip install 'logfire-notebook[server]'` (or `[demo]` for the demo).",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
