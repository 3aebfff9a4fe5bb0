"""The broker and a node as an outside client sees them: grpcurl, no files of ours.

National systems are written in Java, C#, Go... and reach the federation over plain gRPC.
What they rely on is that the servers describe themselves (reflection), answer the
standard health check, and speak the protobuf JSON mapping with clear errors. grpcurl is
such a client: if it can list, describe and search with JSON, so can they.

grpcurl runs as a subprocess while the federation runs in this test's event loop, so it
is awaited with asyncio.create_subprocess_exec: a blocking subprocess.run would stop the
very servers it calls. Without grpcurl the tests fail (CI installs it in .ci/run); a skip
would hide that the contract was never checked.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from selec.countries import MEMBER_STATES
from tests.federation import Federation

pytestmark = pytest.mark.e2e

GRPCURL_VERSION = "v1.9.4"  # keep in step with .ci/run
CALL_SECONDS = 30
BROKER_SERVICE = "selec.v1.BrokerService"
CONNECTOR_SERVICE = "selec.v1.ConnectorService"
HEALTH_SERVICE = "grpc.health.v1.Health"
JOVAN = {"person": {"givenNames": "Jovan", "familyNames": "Petrovic", "dateOfBirth": "1985-03-14"}}
# grpcurl exits with 64 + the gRPC status code when the call fails.
GRPCURL_STATUS_EXIT = 64
INVALID_ARGUMENT = 3


@dataclass
class Outcome:
    """What a grpcurl run printed and how it exited."""

    code: int
    stdout: str
    stderr: str

    def ok(self) -> str:
        """stdout of a run that must have succeeded; a failure shows grpcurl's own words."""
        assert self.code == 0, f"grpcurl exited {self.code}:\n{self.stderr}{self.stdout}"
        return self.stdout


def grpcurl_binary() -> str:
    """grpcurl on PATH or in Go's bin directory; fail, naming the install, when absent."""
    found = shutil.which("grpcurl")
    if found:
        return found
    candidates = []
    if os.environ.get("GOBIN"):
        candidates.append(Path(os.environ["GOBIN"]) / "grpcurl")
    go = shutil.which("go")
    if go:
        gopath = subprocess.run(
            [go, "env", "GOPATH"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if gopath:
            candidates.append(Path(gopath.split(os.pathsep)[0]) / "bin" / "grpcurl")
    candidates.append(Path.home() / "go" / "bin" / "grpcurl")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.fail(
        "grpcurl is not installed (not on PATH, nor in GOBIN or $(go env GOPATH)/bin); "
        f"install it with `go install github.com/fullstorydev/grpcurl/cmd/grpcurl@"
        f"{GRPCURL_VERSION}` (.ci/run does)",
        pytrace=False,
    )


async def grpcurl(*args: str) -> Outcome:
    """Run grpcurl without blocking the event loop the servers run in."""
    process = await asyncio.create_subprocess_exec(
        grpcurl_binary(),
        "-plaintext",
        "-max-time",
        str(CALL_SECONDS),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), CALL_SECONDS + 10)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Outcome(process.returncode, stdout.decode(), stderr.decode())


def json_messages(text: str) -> list[dict]:
    """grpcurl prints a streamed answer as one pretty-printed JSON object per message."""
    decoder = json.JSONDecoder()
    messages, position = [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        message, position = decoder.raw_decode(text, position)
        messages.append(message)
    return messages


def search_body(criteria: dict, **extra: object) -> str:
    """A SearchRequest in the protobuf JSON mapping, as a national system would send it.

    Requests use the mapping's lowerCamelCase names (what protobuf's JSON printers emit in
    Java, C#, Go); grpcurl prints answers with the proto's own snake_case names.
    """
    return json.dumps(
        {
            "criteria": criteria,
            "purpose": "criminal investigation",
            "legalBasis": "SELEC Convention art. 2",
            **extra,
        }
    )


async def test_broker_lists_its_services_by_reflection(federation: Federation) -> None:
    services = (await grpcurl(federation.broker.address, "list")).ok().split()
    assert BROKER_SERVICE in services
    assert HEALTH_SERVICE in services


async def test_broker_describes_search_without_our_proto_files(federation: Federation) -> None:
    text = (await grpcurl(federation.broker.address, "describe", BROKER_SERVICE)).ok()
    assert "rpc Search ( .selec.v1.SearchRequest ) returns ( stream .selec.v1.SearchEvent )" in (
        text
    )
    request = (await grpcurl(federation.broker.address, "describe", "selec.v1.SearchRequest")).ok()
    for field in ("criteria", "purpose", "legal_basis", "countries"):
        assert field in request


async def test_broker_answers_the_standard_health_check(federation: Federation) -> None:
    address = federation.broker.address
    overall = json.loads((await grpcurl(address, f"{HEALTH_SERVICE}/Check")).ok())
    assert overall == {"status": "SERVING"}
    # What an L7 load balancer asks: the health of the one service it routes to.
    body = json.dumps({"service": BROKER_SERVICE})
    named = json.loads((await grpcurl("-d", body, address, f"{HEALTH_SERVICE}/Check")).ok())
    assert named == {"status": "SERVING"}


async def test_search_with_a_json_body_streams_answers_then_the_summary(
    federation: Federation,
) -> None:
    outcome = await grpcurl(
        "-d", search_body(JOVAN), federation.broker.address, f"{BROKER_SERVICE}/Search"
    )
    events = json_messages(outcome.ok())
    answers = [e["answer"] for e in events[:-1]]
    assert all("answer" in e for e in events[:-1]), events
    summary = events[-1].get("summary")
    assert summary is not None, f"the last event is not the summary: {events[-1]}"

    statuses = {r["country"]: r["status"] for r in summary["results"]}
    assert list(statuses) == list(MEMBER_STATES)
    assert statuses["RS"] == "COUNTRY_STATUS_HIT"
    assert set(statuses.values()) <= {"COUNTRY_STATUS_HIT", "COUNTRY_STATUS_NO_HIT"}
    assert summary["search_id"]
    assert sorted(a["result"]["country"] for a in answers) == sorted(MEMBER_STATES)

    rs = next(a for a in answers if a["result"]["country"] == "RS")
    hit = rs["hits"][0]
    assert hit["reference"].startswith("RS-")
    assert hit["kind"] == "RECORD_KIND_PERSON"
    assert hit["category"] == "CATEGORY_WANTED"
    assert hit["strength"] in {"MATCH_STRENGTH_STRONG", "MATCH_STRENGTH_EXACT"}
    assert rs["result"]["hit_count"] == len(rs["hits"])


async def test_search_of_chosen_countries_answers_exactly_those(federation: Federation) -> None:
    body = search_body(JOVAN, countries=["RS", "BG"])
    outcome = await grpcurl("-d", body, federation.broker.address, f"{BROKER_SERVICE}/Search")
    summary = json_messages(outcome.ok())[-1]["summary"]
    assert [r["country"] for r in summary["results"]] == ["RS", "BG"]


async def test_a_bad_request_is_invalid_argument_naming_the_field(
    federation: Federation,
) -> None:
    address = federation.broker.address
    only_given = {"person": {"givenNames": "Jovan"}}
    outcome = await grpcurl("-d", search_body(only_given), address, f"{BROKER_SERVICE}/Search")
    assert outcome.code == GRPCURL_STATUS_EXIT + INVALID_ARGUMENT, outcome
    assert "Code: InvalidArgument" in outcome.stderr
    assert "criteria.person.family_names: required" in outcome.stderr

    no_purpose = json.dumps({"criteria": JOVAN, "legalBasis": "SELEC Convention art. 2"})
    outcome = await grpcurl("-d", no_purpose, address, f"{BROKER_SERVICE}/Search")
    assert "Code: InvalidArgument" in outcome.stderr
    assert "purpose: required" in outcome.stderr


async def test_a_node_lists_and_describes_itself(federation: Federation) -> None:
    address = federation.nodes["RS"].address
    services = (await grpcurl(address, "list")).ok().split()
    assert CONNECTOR_SERVICE in services
    assert HEALTH_SERVICE in services
    text = (await grpcurl(address, "describe", CONNECTOR_SERVICE)).ok()
    assert "rpc Describe ( .selec.v1.DescribeRequest )" in text
    assert "rpc Match ( .selec.v1.MatchRequest )" in text

    described = json.loads((await grpcurl(address, f"{CONNECTOR_SERVICE}/Describe")).ok())
    assert described["country"] == "RS"
    assert described["scheme_version"]
    # int64 is a JSON string in the protobuf JSON mapping.
    assert int(described["record_counts"]["person"]) > 0
