import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from selec.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequestState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REQUEST_STATE_UNSPECIFIED: _ClassVar[RequestState]
    REQUEST_STATE_PENDING: _ClassVar[RequestState]
    REQUEST_STATE_APPROVED: _ClassVar[RequestState]
    REQUEST_STATE_DENIED: _ClassVar[RequestState]
    REQUEST_STATE_EXPIRED: _ClassVar[RequestState]
    REQUEST_STATE_WITHDRAWN: _ClassVar[RequestState]
    REQUEST_STATE_REVEALED: _ClassVar[RequestState]

class HandlingCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDLING_CODE_UNSPECIFIED: _ClassVar[HandlingCode]
    HANDLING_CODE_H0: _ClassVar[HandlingCode]
    HANDLING_CODE_H1: _ClassVar[HandlingCode]
    HANDLING_CODE_H2: _ClassVar[HandlingCode]
    HANDLING_CODE_H3: _ClassVar[HandlingCode]
REQUEST_STATE_UNSPECIFIED: RequestState
REQUEST_STATE_PENDING: RequestState
REQUEST_STATE_APPROVED: RequestState
REQUEST_STATE_DENIED: RequestState
REQUEST_STATE_EXPIRED: RequestState
REQUEST_STATE_WITHDRAWN: RequestState
REQUEST_STATE_REVEALED: RequestState
HANDLING_CODE_UNSPECIFIED: HandlingCode
HANDLING_CODE_H0: HandlingCode
HANDLING_CODE_H1: HandlingCode
HANDLING_CODE_H2: HandlingCode
HANDLING_CODE_H3: HandlingCode

class DetailsRequest(_message.Message):
    __slots__ = ("request_id", "country", "reference", "purpose", "legal_basis", "justification", "requester", "requester_country", "state", "created_at", "deadline_at", "overdue", "decided_by", "decided_at", "handling_code", "handling_note", "expires_at", "denial_reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    JUSTIFICATION_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_AT_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    HANDLING_CODE_FIELD_NUMBER: _ClassVar[int]
    HANDLING_NOTE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    DENIAL_REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    country: str
    reference: str
    purpose: str
    legal_basis: str
    justification: str
    requester: str
    requester_country: str
    state: RequestState
    created_at: _timestamp_pb2.Timestamp
    deadline_at: _timestamp_pb2.Timestamp
    overdue: bool
    decided_by: str
    decided_at: _timestamp_pb2.Timestamp
    handling_code: HandlingCode
    handling_note: str
    expires_at: _timestamp_pb2.Timestamp
    denial_reason: str
    def __init__(self, request_id: _Optional[str] = ..., country: _Optional[str] = ..., reference: _Optional[str] = ..., purpose: _Optional[str] = ..., legal_basis: _Optional[str] = ..., justification: _Optional[str] = ..., requester: _Optional[str] = ..., requester_country: _Optional[str] = ..., state: _Optional[_Union[RequestState, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., overdue: _Optional[bool] = ..., decided_by: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., handling_code: _Optional[_Union[HandlingCode, str]] = ..., handling_note: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., denial_reason: _Optional[str] = ...) -> None: ...

class RequestDetailsRequest(_message.Message):
    __slots__ = ("country", "reference", "purpose", "legal_basis", "justification")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    JUSTIFICATION_FIELD_NUMBER: _ClassVar[int]
    country: str
    reference: str
    purpose: str
    legal_basis: str
    justification: str
    def __init__(self, country: _Optional[str] = ..., reference: _Optional[str] = ..., purpose: _Optional[str] = ..., legal_basis: _Optional[str] = ..., justification: _Optional[str] = ...) -> None: ...

class ListRequestsRequest(_message.Message):
    __slots__ = ("mine", "pending_for_my_country", "overdue")
    MINE_FIELD_NUMBER: _ClassVar[int]
    PENDING_FOR_MY_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    mine: bool
    pending_for_my_country: bool
    overdue: bool
    def __init__(self, mine: _Optional[bool] = ..., pending_for_my_country: _Optional[bool] = ..., overdue: _Optional[bool] = ...) -> None: ...

class ListRequestsResponse(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[DetailsRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[DetailsRequest, _Mapping]]] = ...) -> None: ...

class DecideRequest(_message.Message):
    __slots__ = ("request_id", "approve", "handling_code", "handling_note", "valid_hours", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    HANDLING_CODE_FIELD_NUMBER: _ClassVar[int]
    HANDLING_NOTE_FIELD_NUMBER: _ClassVar[int]
    VALID_HOURS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    approve: bool
    handling_code: HandlingCode
    handling_note: str
    valid_hours: int
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., approve: _Optional[bool] = ..., handling_code: _Optional[_Union[HandlingCode, str]] = ..., handling_note: _Optional[str] = ..., valid_hours: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class WithdrawRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class RevealRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class RevealResponse(_message.Message):
    __slots__ = ("request_id", "country", "reference", "kind", "category", "fields", "handling_code", "handling_note")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    HANDLING_CODE_FIELD_NUMBER: _ClassVar[int]
    HANDLING_NOTE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    country: str
    reference: str
    kind: _common_pb2.RecordKind
    category: _common_pb2.Category
    fields: _containers.ScalarMap[str, str]
    handling_code: HandlingCode
    handling_note: str
    def __init__(self, request_id: _Optional[str] = ..., country: _Optional[str] = ..., reference: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.RecordKind, str]] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., fields: _Optional[_Mapping[str, str]] = ..., handling_code: _Optional[_Union[HandlingCode, str]] = ..., handling_note: _Optional[str] = ...) -> None: ...
