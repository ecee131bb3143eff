"""`gateway serve --config PATH`: run the exchange in one uvloop process until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import sys

import uvloop

from config import ConfigError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway", description="Run the exchange gateway.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="start the server and run until SIGTERM/SIGINT")
    serve_parser.add_argument("--config", default="config/demo.toml", help="TOML settings file")
    arguments = parser.parse_args(argv)
    try:
        settings = load_settings(arguments.config)
    except ConfigError as error:
        print(f"gateway: configuration error: {error}", file=sys.stderr)
        return 2
    from gateway.server import serve

    return uvloop.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
