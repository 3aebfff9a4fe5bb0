"""`selec search`: the officer's thin client."""

from __future__ import annotations

import argparse
import sys

import grpc

from selec.cli.client import ClientSetupError, add_client_arguments, channel, resolve
from selec.cli.output import JsonPrinter, TablePrinter
from selec.v1 import broker_pb2, broker_pb2_grpc, common_pb2

_SEX = {"M": common_pb2.SEX_MALE, "F": common_pb2.SEX_FEMALE, "X": common_pb2.SEX_OTHER}
_DOCUMENT_TYPES = {
    "passport": common_pb2.DOCUMENT_TYPE_PASSPORT,
    "id_card": common_pb2.DOCUMENT_TYPE_ID_CARD,
    "driving_licence": common_pb2.DOCUMENT_TYPE_DRIVING_LICENCE,
    "residence_permit": common_pb2.DOCUMENT_TYPE_RESIDENCE_PERMIT,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The search options."""
    person = parser.add_argument_group("person")
    person.add_argument("--given", default="", help="given names, any script")
    person.add_argument("--family", default="", help="family names, any script")
    person.add_argument("--dob", default="", metavar="YYYY-MM-DD", help="date of birth")
    person.add_argument("--birth-year", type=int, default=0, help="year of birth")
    person.add_argument("--sex", choices=sorted(_SEX), help="M, F or X")
    person.add_argument("--nationality", default="", help="ISO alpha-2")
    other = parser.add_argument_group("document, vehicle, phone")
    other.add_argument("--document", default="", help="document number")
    other.add_argument("--document-type", choices=sorted(_DOCUMENT_TYPES))
    other.add_argument("--document-country", default="", help="issuing country, ISO alpha-2")
    other.add_argument("--plate", default="", help="registration plate")
    other.add_argument("--plate-country", default="", help="country of registration")
    other.add_argument("--vin", default="", help="vehicle identification number")
    other.add_argument("--phone", default="", help="phone number, +international or national")
    other.add_argument("--phone-region", default="", help="region of a national phone number")
    parser.add_argument("--countries", default="", help="comma-separated, e.g. RS,BG (default all)")
    parser.add_argument("--purpose", default="criminal investigation", help="why you search")
    parser.add_argument(
        "--legal-basis", default="SELEC Convention, art. 2", help="the legal basis of the search"
    )
    parser.add_argument("--deadline", type=float, default=10.0, help="seconds to wait at most")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    add_client_arguments(parser, default_identity="officer.gr")


def build_request(options: argparse.Namespace) -> broker_pb2.SearchRequest:
    """The SearchRequest the options describe."""
    criteria = common_pb2.Criteria(
        person=common_pb2.PersonCriteria(
            given_names=options.given,
            family_names=options.family,
            date_of_birth=options.dob,
            birth_year=options.birth_year,
            sex=_SEX.get(options.sex or "", common_pb2.SEX_UNSPECIFIED),
            nationality=options.nationality,
        ),
        document=common_pb2.DocumentCriteria(
            type=_DOCUMENT_TYPES.get(options.document_type or "", 0),  # type: ignore[arg-type]
            number=options.document,
            issuing_country=options.document_country,
        ),
        vehicle=common_pb2.VehicleCriteria(
            plate=options.plate, plate_country=options.plate_country, vin=options.vin
        ),
        phone=common_pb2.PhoneCriteria(number=options.phone, region=options.phone_region),
    )
    countries = [c.strip().upper() for c in options.countries.split(",") if c.strip()]
    return broker_pb2.SearchRequest(
        criteria=criteria,
        purpose=options.purpose,
        legal_basis=options.legal_basis,
        countries=countries,
    )


def run(options: argparse.Namespace) -> int:
    """Search and print; 0 on an answer, 2 on bad criteria, 1 when the broker fails."""
    request = build_request(options)
    try:
        connection = resolve(options)
    except ClientSetupError as exc:
        print(f"selec search: {exc}", file=sys.stderr)
        return 2
    printer = JsonPrinter(sys.stdout) if options.json else TablePrinter(sys.stdout)
    with channel(connection) as opened:
        stub = broker_pb2_grpc.BrokerServiceStub(opened)
        try:
            for event in stub.Search(
                request, timeout=options.deadline, metadata=connection.metadata()
            ):
                if event.HasField("answer"):
                    printer.answer(event.answer)
                else:
                    printer.summary(event.summary)
        except grpc.RpcError as exc:
            code = exc.code()  # type: ignore[attr-defined]
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                print(f"selec search: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
                return 2
            if code == grpc.StatusCode.UNAVAILABLE:
                print(
                    f"selec search: no broker answers at {options.broker} "
                    "(is `selec demo` running?)",
                    file=sys.stderr,
                )
                return 1
            print(f"selec search: {code.name}: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return 1
    return 0
