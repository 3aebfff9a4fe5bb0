from selec.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Grant(_message.Message):
    __slots__ = ("request_id", "country", "reference", "requester", "requester_country", "expires_at", "nonce", "handling_code", "handling_note", "purpose")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    HANDLING_CODE_FIELD_NUMBER: _ClassVar[int]
    HANDLING_NOTE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    country: str
    reference: str
    requester: str
    requester_country: str
    expires_at: int
    nonce: str
    handling_code: str
    handling_note: str
    purpose: str
    def __init__(self, request_id: _Optional[str] = ..., country: _Optional[str] = ..., reference: _Optional[str] = ..., requester: _Optional[str] = ..., requester_country: _Optional[str] = ..., expires_at: _Optional[int] = ..., nonce: _Optional[str] = ..., handling_code: _Optional[str] = ..., handling_note: _Optional[str] = ..., purpose: _Optional[str] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("grant", "signature")
    GRANT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    grant: bytes
    signature: bytes
    def __init__(self, grant: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class ReleaseResponse(_message.Message):
    __slots__ = ("reference", "kind", "category", "fields", "handling_code", "handling_note")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    HANDLING_CODE_FIELD_NUMBER: _ClassVar[int]
    HANDLING_NOTE_FIELD_NUMBER: _ClassVar[int]
    reference: str
    kind: _common_pb2.RecordKind
    category: _common_pb2.Category
    fields: _containers.ScalarMap[str, str]
    handling_code: str
    handling_note: str
    def __init__(self, reference: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.RecordKind, str]] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., fields: _Optional[_Mapping[str, str]] = ..., handling_code: _Optional[str] = ..., handling_note: _Optional[str] = ...) -> None: ...

class KeySet(_message.Message):
    __slots__ = ("id", "keys", "sex", "digests")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    DIGESTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    keys: _containers.RepeatedCompositeFieldContainer[_common_pb2.BlindKey]
    sex: _common_pb2.Sex
    digests: bytes
    def __init__(self, id: _Optional[str] = ..., keys: _Optional[_Iterable[_Union[_common_pb2.BlindKey, _Mapping]]] = ..., sex: _Optional[_Union[_common_pb2.Sex, str]] = ..., digests: _Optional[bytes] = ...) -> None: ...

class MatchBatchRequest(_message.Message):
    __slots__ = ("scheme_version", "sets", "search_id")
    SCHEME_VERSION_FIELD_NUMBER: _ClassVar[int]
    SETS_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ID_FIELD_NUMBER: _ClassVar[int]
    scheme_version: str
    sets: _containers.RepeatedCompositeFieldContainer[KeySet]
    search_id: str
    def __init__(self, scheme_version: _Optional[str] = ..., sets: _Optional[_Iterable[_Union[KeySet, _Mapping]]] = ..., search_id: _Optional[str] = ...) -> None: ...

class KeySetHits(_message.Message):
    __slots__ = ("id", "hits")
    ID_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    id: str
    hits: _containers.RepeatedCompositeFieldContainer[_common_pb2.Hit]
    def __init__(self, id: _Optional[str] = ..., hits: _Optional[_Iterable[_Union[_common_pb2.Hit, _Mapping]]] = ...) -> None: ...

class MatchBatchResponse(_message.Message):
    __slots__ = ("country", "results")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    country: str
    results: _containers.RepeatedCompositeFieldContainer[KeySetHits]
    def __init__(self, country: _Optional[str] = ..., results: _Optional[_Iterable[_Union[KeySetHits, _Mapping]]] = ...) -> None: ...

class MatchRequest(_message.Message):
    __slots__ = ("scheme_version", "keys", "search_id", "sex")
    SCHEME_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ID_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    scheme_version: str
    keys: _containers.RepeatedCompositeFieldContainer[_common_pb2.BlindKey]
    search_id: str
    sex: _common_pb2.Sex
    def __init__(self, scheme_version: _Optional[str] = ..., keys: _Optional[_Iterable[_Union[_common_pb2.BlindKey, _Mapping]]] = ..., search_id: _Optional[str] = ..., sex: _Optional[_Union[_common_pb2.Sex, str]] = ...) -> None: ...

class MatchResponse(_message.Message):
    __slots__ = ("country", "hits")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    country: str
    hits: _containers.RepeatedCompositeFieldContainer[_common_pb2.Hit]
    def __init__(self, country: _Optional[str] = ..., hits: _Optional[_Iterable[_Union[_common_pb2.Hit, _Mapping]]] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("country", "scheme_version", "record_counts")
    class RecordCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    SCHEME_VERSION_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNTS_FIELD_NUMBER: _ClassVar[int]
    country: str
    scheme_version: str
    record_counts: _containers.ScalarMap[str, int]
    def __init__(self, country: _Optional[str] = ..., scheme_version: _Optional[str] = ..., record_counts: _Optional[_Mapping[str, int]] = ...) -> None: ...
