"""`selec request`, `requests`, `decide`, `withdraw`, `reveal` and `audit`: step two."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from selec.cli.client import ClientSetupError, add_client_arguments, channel, explain, resolve
from selec.v1 import audit_pb2, audit_pb2_grpc, requests_pb2, requests_pb2_grpc

_CODES = {"H0": 1, "H1": 2, "H2": 3, "H3": 4}


def add_arguments(commands: Any) -> None:
    """Register the step-two subcommands."""
    request = commands.add_parser("request", help="ask the owning country for the details")
    request.add_argument("--country", required=True, help="owning country of the hit")
    request.add_argument("--reference", required=True, help="the hit's reference")
    request.add_argument("--purpose", default="criminal investigation")
    request.add_argument("--legal-basis", default="SELEC Convention, art. 2")
    request.add_argument("--justification", default="", help="for the approver")
    add_client_arguments(request, "officer.gr")

    listing = commands.add_parser("requests", help="list requests (yours, or pending for you)")
    listing.add_argument("--mine", action="store_true")
    listing.add_argument("--pending", action="store_true", help="pending for my country")
    listing.add_argument("--overdue", action="store_true")
    add_client_arguments(listing, "officer.gr")

    decide = commands.add_parser("decide", help="approve or deny a request (approver)")
    decide.add_argument("request_id")
    verdict = decide.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--approve", action="store_true")
    verdict.add_argument("--deny", metavar="REASON")
    decide.add_argument("--handling", choices=sorted(_CODES), help="handling code on approval")
    decide.add_argument("--note", default="", help="restrictions (H3)")
    decide.add_argument("--valid-hours", type=int, default=0)
    add_client_arguments(decide, "approver.rs")

    for name, text in (
        ("withdraw", "withdraw your pending request"),
        ("reveal", "reveal an approved request's record, once"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("request_id")
        add_client_arguments(sub, "officer.gr")

    audit = commands.add_parser("audit", help="verify or export the audit trail (auditor)")
    actions = audit.add_subparsers(dest="audit_action", required=True)
    verify = actions.add_parser("verify", help="check the hash chain")
    add_client_arguments(verify, "auditor.selec")
    export = actions.add_parser("export", help="JSON lines for a supervisory authority")
    export.add_argument("--since", help="YYYY-MM-DD or ISO time (UTC)")
    export.add_argument("--until", help="YYYY-MM-DD or ISO time (UTC)")
    export.add_argument("--officer", default="")
    export.add_argument("--output", type=Path, help="file (default stdout)")
    add_client_arguments(export, "auditor.selec")


def _show(message: Any) -> None:
    print(json.dumps(MessageToDict(message, preserving_proto_field_name=True), ensure_ascii=False))


def _call(options: argparse.Namespace, name: str, call: Callable[..., Any]) -> int:
    try:
        connection = resolve(options)
    except ClientSetupError as exc:
        print(f"selec {name}: {exc}", file=sys.stderr)
        return 2
    with channel(connection) as opened:
        try:
            return call(opened, connection.metadata())
        except grpc.RpcError as exc:
            print(f"selec {name}: {explain(exc, options.broker)}", file=sys.stderr)
            code = exc.code()  # type: ignore[attr-defined]
            return 2 if code == grpc.StatusCode.INVALID_ARGUMENT else 1


def run_request(options: argparse.Namespace) -> int:
    """RequestDetails."""

    def call(opened: grpc.Channel, metadata: Any) -> int:
        reply = requests_pb2_grpc.RequestServiceStub(opened).RequestDetails(
            requests_pb2.RequestDetailsRequest(
                country=options.country,
                reference=options.reference,
                purpose=options.purpose,
                legal_basis=options.legal_basis,
                justification=options.justification,
            ),
            timeout=10,
            metadata=metadata,
        )
        _show(reply)
        return 0

    return _call(options, "request", call)


def run_requests(options: argparse.Namespace) -> int:
    """ListRequests: one JSON line per request."""

    def call(opened: grpc.Channel, metadata: Any) -> int:
        reply = requests_pb2_grpc.RequestServiceStub(opened).ListRequests(
            requests_pb2.ListRequestsRequest(
                mine=options.mine,
                pending_for_my_country=options.pending,
                overdue=options.overdue,
            ),
            timeout=10,
            metadata=metadata,
        )
        for item in reply.requests:
            _show(item)
        return 0

    return _call(options, "requests", call)


def run_decide(options: argparse.Namespace) -> int:
    """Decide."""

    def call(opened: grpc.Channel, metadata: Any) -> int:
        reply = requests_pb2_grpc.RequestServiceStub(opened).Decide(
            requests_pb2.DecideRequest(
                request_id=options.request_id,
                approve=options.approve,
                handling_code=_CODES.get(options.handling or "", 0),  # type: ignore[arg-type]
                handling_note=options.note,
                valid_hours=options.valid_hours,
                reason=options.deny or "",
            ),
            timeout=10,
            metadata=metadata,
        )
        _show(reply)
        return 0

    return _call(options, "decide", call)


def run_withdraw(options: argparse.Namespace) -> int:
    """Withdraw."""

    def call(opened: grpc.Channel, metadata: Any) -> int:
        _show(
            requests_pb2_grpc.RequestServiceStub(opened).Withdraw(
                requests_pb2.WithdrawRequest(request_id=options.request_id),
                timeout=10,
                metadata=metadata,
            )
        )
        return 0

    return _call(options, "withdraw", call)


def run_reveal(options: argparse.Namespace) -> int:
    """Reveal."""

    def call(opened: grpc.Channel, metadata: Any) -> int:
        _show(
            requests_pb2_grpc.RequestServiceStub(opened).Reveal(
                requests_pb2.RevealRequest(request_id=options.request_id),
                timeout=15,
                metadata=metadata,
            )
        )
        return 0

    return _call(options, "reveal", call)


def _moment(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"selec audit: --{name}: expected YYYY-MM-DD or an ISO time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def run_audit(options: argparse.Namespace) -> int:
    """audit verify (exit 1 when tampered) or audit export (JSON lines)."""

    def verify(opened: grpc.Channel, metadata: Any) -> int:
        reply = audit_pb2_grpc.AuditServiceStub(opened).VerifyAudit(
            audit_pb2.VerifyAuditRequest(), timeout=120, metadata=metadata
        )
        if reply.ok:
            print(f"audit chain intact: {reply.checked} event(s) checked")
            return 0
        print(
            f"audit chain BROKEN at event {reply.at_seq}: {reply.problem} ({reply.checked} checked)"
        )
        return 1

    def export(opened: grpc.Channel, metadata: Any) -> int:
        request = audit_pb2.ExportAuditRequest(officer=options.officer)
        for field, value in (("since", options.since), ("until", options.until)):
            moment = _moment(value, field)
            if moment is not None:
                getattr(request, field).FromDatetime(moment)
        out = options.output.open("w", encoding="utf-8") if options.output else sys.stdout
        try:
            for event in audit_pb2_grpc.AuditServiceStub(opened).ExportAudit(
                request, timeout=600, metadata=metadata
            ):
                out.write(
                    json.dumps(
                        MessageToDict(event, preserving_proto_field_name=True), ensure_ascii=False
                    )
                    + "\n"
                )
        finally:
            if options.output:
                out.close()
        return 0

    return _call(options, "audit", verify if options.audit_action == "verify" else export)
