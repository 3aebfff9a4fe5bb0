"""Who may call what: one interceptor, one policy table.

Every call but health and reflection needs a bearer token (selec.tokens) naming an officer,
a country and roles; the table below says which roles each RPC needs. Forged, expired or
wrong-audience tokens get UNAUTHENTICATED; a valid token without the role gets
PERMISSION_DENIED; an RPC missing from the table is denied (deny by default). Rules that
depend on the data (only an approver of the owning country decides, only the requester
reveals) are checked by the handlers, which read the caller from `current_identity`.

A node publishes with a token of role `node` for its own country only.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from selec.tokens import Identity, TokenError, TokenVerifier

ANONYMOUS = Identity("anonymous", "", frozenset())
current_identity: contextvars.ContextVar[Identity] = contextvars.ContextVar(
    "current_identity", default=ANONYMOUS
)

OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
POLICY: dict[str, frozenset[str]] = {
    "/selec.v1.BrokerService/Search": frozenset({"officer"}),
    "/selec.v1.BrokerService/Screen": frozenset({"officer"}),
    "/selec.v1.BrokerService/GetStatus": frozenset({"admin"}),
    "/selec.v1.BrokerService/Publish": frozenset({"node", "admin"}),
    "/selec.v1.RequestService/RequestDetails": frozenset({"officer"}),
    "/selec.v1.RequestService/ListRequests": frozenset({"officer", "approver"}),
    "/selec.v1.RequestService/Decide": frozenset({"approver"}),
    "/selec.v1.RequestService/Withdraw": frozenset({"officer"}),
    "/selec.v1.RequestService/Reveal": frozenset({"officer"}),
    "/selec.v1.AuditService/ExportAudit": frozenset({"auditor"}),
    "/selec.v1.AuditService/VerifyAudit": frozenset({"auditor"}),
}
# Without authentication (development), these refuse: they are meaningless without callers.
NEEDS_IDENTITY = ("/selec.v1.RequestService/", "/selec.v1.AuditService/")


def _bearer(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def _refusing(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str) -> Any:
    """A handler of the same shape as handler that refuses with code."""

    async def refuse_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, message)

    async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await context.abort(code, message)
        yield  # pragma: no cover (abort raises)

    shapes = (
        (handler.unary_unary, grpc.unary_unary_rpc_method_handler, refuse_unary),
        (handler.stream_unary, grpc.stream_unary_rpc_method_handler, refuse_unary),
        (handler.unary_stream, grpc.unary_stream_rpc_method_handler, refuse_stream),
        (handler.stream_stream, grpc.stream_stream_rpc_method_handler, refuse_stream),
    )
    for behaviour, make, refuse in shapes:
        if behaviour:
            return make(
                refuse,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    raise AssertionError("handler without behaviour")


def _as(handler: grpc.RpcMethodHandler, identity: Identity) -> Any:
    """handler, run with current_identity set to identity (in the handler's own task)."""

    def unary(behaviour: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
            current_identity.set(identity)
            return await behaviour(request, context)

        return run

    def stream(behaviour: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
        async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            current_identity.set(identity)
            async for response in behaviour(request, context):
                yield response

        return run

    kinds = dict(
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(unary(handler.unary_unary), **kinds)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(unary(handler.stream_unary), **kinds)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(stream(handler.unary_stream), **kinds)
    return grpc.stream_stream_rpc_method_handler(stream(handler.stream_stream), **kinds)


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates tokens and enforces POLICY; verifier None means development mode."""

    def __init__(
        self, verifier: TokenVerifier | None, on_refused: Callable[[str], None] | None = None
    ) -> None:
        self._verifier = verifier
        self._on_refused = on_refused

    def _refuse(self, handler: Any, code: grpc.StatusCode, reason: str, message: str) -> Any:
        if self._on_refused is not None:
            self._on_refused(reason)
        return _refusing(handler, code, message)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Let the call through with its identity, or refuse it before any work."""
        handler = await continuation(details)
        method = details.method
        if handler is None or method.startswith(OPEN_PREFIXES):
            return handler
        if self._verifier is None:
            if method.startswith(NEEDS_IDENTITY):
                return self._refuse(
                    handler,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "no_auth",
                    "this broker runs without authentication (development mode); "
                    "requests and the audit trail need auth configured",
                )
            return handler
        token = _bearer(details.invocation_metadata)
        if token is None:
            return self._refuse(
                handler,
                grpc.StatusCode.UNAUTHENTICATED,
                "unauthenticated",
                "missing bearer token (metadata authorization: Bearer <token>)",
            )
        try:
            identity = self._verifier.verify(token)
        except TokenError as exc:
            return self._refuse(
                handler, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated", str(exc)
            )
        allowed = POLICY.get(method)
        if allowed is None or not (identity.roles & allowed):
            needed = " or ".join(sorted(allowed)) if allowed else "a role this broker grants"
            return self._refuse(
                handler,
                grpc.StatusCode.PERMISSION_DENIED,
                "permission_denied",
                f"{method.rsplit('/', 1)[-1]} needs role {needed}",
            )
        return _as(handler, identity)
