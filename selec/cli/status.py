"""`selec status`: each country's node as the broker sees it, for operators."""

from __future__ import annotations

import argparse
import json
import sys

import grpc

from selec.cli.client import (
    ClientSetupError,
    add_client_arguments,
    channel,
    explain,
    resolve,
)
from selec.v1 import broker_pb2, broker_pb2_grpc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `selec status`."""
    parser.add_argument("--json", action="store_true", help="one JSON object per node")
    add_client_arguments(parser, default_identity="admin.selec")


def _node_json(node: broker_pb2.NodeStatus) -> dict[str, object]:
    return {
        "country": node.country,
        "reachable": node.reachable,
        "suspended": node.suspended,
        "suspended_for_seconds": round(node.suspended_for_seconds, 1),
        "consecutive_failures": node.consecutive_failures,
        "p50_seconds": round(node.p50_seconds, 4),
        "p99_seconds": round(node.p99_seconds, 4),
        "recent_calls": node.recent_calls,
        "published_as_of": node.published_as_of.ToDatetime().isoformat() + "Z"
        if node.HasField("published_as_of")
        else None,
        "published_references": node.published_references,
        "index_only": node.index_only,
        "detail": node.detail,
    }


def run(options: argparse.Namespace) -> int:
    """Print the table (or JSON lines); 1 when the broker cannot be asked."""
    try:
        connection = resolve(options)
    except ClientSetupError as exc:
        print(f"selec status: {exc}", file=sys.stderr)
        return 2
    with channel(connection) as opened:
        try:
            reply = broker_pb2_grpc.BrokerServiceStub(opened).GetStatus(
                broker_pb2.GetStatusRequest(), timeout=10, metadata=connection.metadata()
            )
        except grpc.RpcError as exc:
            print(f"selec status: {explain(exc, options.broker)}", file=sys.stderr)
            return 1
    if options.json:
        for node in reply.nodes:
            print(json.dumps(_node_json(node)))
        return 0
    row = "{:<8} {:<6} {:<16} {:>8} {:>8} {:>6}  {:<21} {:>8}  {}"
    print(
        row.format(
            "COUNTRY",
            "STATE",
            "SUSPENDED",
            "P50",
            "P99",
            "CALLS",
            "PUBLISHED AS OF",
            "REFS",
            "DETAIL",
        )
    )
    for node in reply.nodes:
        shown = _node_json(node)
        state = "up" if node.reachable else "DOWN"
        suspended = f"yes, {node.suspended_for_seconds:.0f} s left" if node.suspended else "no"
        published = str(shown["published_as_of"] or "never")[:19]
        print(
            row.format(
                node.country,
                state,
                suspended,
                f"{node.p50_seconds * 1000:.1f}ms",
                f"{node.p99_seconds * 1000:.1f}ms",
                node.recent_calls,
                published,
                node.published_references,
                ("index-only; " if node.index_only else "") + node.detail,
            )
        )
    print(f"reference index: {'reachable' if reply.index_reachable else 'NOT reachable'}")
    return 0
