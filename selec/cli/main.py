"""`selec`: one entry point for the federation's commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from selec.cli import demo, keys_cmd, screen, search, services, status, workflow
from selec.config import ConfigError
from selec.observability import configure_logging
from selec.serving import ServeError


def build_parser() -> argparse.ArgumentParser:
    """The command line: `selec <command> [options]`."""
    parser = argparse.ArgumentParser(
        prog="selec", description="Federated hit/no-hit search across the SELEC member states."
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo.add_arguments(
        commands.add_parser("demo", help="run the 11 nodes and the broker on this machine")
    )
    search.add_arguments(commands.add_parser("search", help="search the federation"))
    screen.add_arguments(
        commands.add_parser("screen", help="screen a list of subjects (CSV or JSONL)")
    )
    services.add_import_arguments(
        commands.add_parser("import", help="import records into a node's database")
    )
    status.add_arguments(
        commands.add_parser("status", help="each country's node as the broker sees it")
    )
    services.add_publish_arguments(
        commands.add_parser("publish", help="publish a node's anonymized references now")
    )
    workflow.add_arguments(commands)
    keys_cmd.add_certs_arguments(
        commands.add_parser("certs", help="create the demo CA, certificates, keys and tokens")
    )
    keys_cmd.add_token_arguments(commands.add_parser("token", help="issue a demo token"))
    services.add_service_arguments(
        commands.add_parser("broker", help="run the broker from a YAML config"),
        default_config=demo.DEMO_CONFIG_DIR / "broker.yaml",
    )
    services.add_service_arguments(
        commands.add_parser("connector", help="run one member-state node from a YAML config"),
        default_config=None,
    )
    return parser


COMMANDS = {
    "demo": demo.run,
    "search": search.run,
    "screen": screen.run,
    "import": services.run_import,
    "publish": services.run_publish,
    "status": status.run,
    "broker": services.run_broker,
    "connector": services.run_connector,
    "request": workflow.run_request,
    "requests": workflow.run_requests,
    "decide": workflow.run_decide,
    "withdraw": workflow.run_withdraw,
    "reveal": workflow.run_reveal,
    "audit": workflow.run_audit,
    "certs": keys_cmd.run_certs,
    "token": keys_cmd.run_token,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; configuration and start-up problems end in one clear line."""
    options = build_parser().parse_args(argv)
    configure_logging(options.log_level)
    try:
        return COMMANDS[options.command](options)
    except (ConfigError, ServeError) as exc:
        print(f"selec {options.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
