from selec.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeySet(_message.Message):
    __slots__ = ("id", "keys", "sex")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    id: str
    keys: _containers.RepeatedCompositeFieldContainer[_common_pb2.BlindKey]
    sex: _common_pb2.Sex
    def __init__(self, id: _Optional[str] = ..., keys: _Optional[_Iterable[_Union[_common_pb2.BlindKey, _Mapping]]] = ..., sex: _Optional[_Union[_common_pb2.Sex, str]] = ...) -> None: ...

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
