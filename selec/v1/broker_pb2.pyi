from selec.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CountryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COUNTRY_STATUS_UNSPECIFIED: _ClassVar[CountryStatus]
    COUNTRY_STATUS_HIT: _ClassVar[CountryStatus]
    COUNTRY_STATUS_NO_HIT: _ClassVar[CountryStatus]
    COUNTRY_STATUS_UNAVAILABLE: _ClassVar[CountryStatus]
    COUNTRY_STATUS_TIMEOUT: _ClassVar[CountryStatus]
    COUNTRY_STATUS_ERROR: _ClassVar[CountryStatus]
COUNTRY_STATUS_UNSPECIFIED: CountryStatus
COUNTRY_STATUS_HIT: CountryStatus
COUNTRY_STATUS_NO_HIT: CountryStatus
COUNTRY_STATUS_UNAVAILABLE: CountryStatus
COUNTRY_STATUS_TIMEOUT: CountryStatus
COUNTRY_STATUS_ERROR: CountryStatus

class SearchRequest(_message.Message):
    __slots__ = ("criteria", "purpose", "legal_basis", "countries")
    CRITERIA_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    criteria: _common_pb2.Criteria
    purpose: str
    legal_basis: str
    countries: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, criteria: _Optional[_Union[_common_pb2.Criteria, _Mapping]] = ..., purpose: _Optional[str] = ..., legal_basis: _Optional[str] = ..., countries: _Optional[_Iterable[str]] = ...) -> None: ...

class CountryResult(_message.Message):
    __slots__ = ("country", "status", "latency_seconds", "hit_count", "detail")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HIT_COUNT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    country: str
    status: CountryStatus
    latency_seconds: float
    hit_count: int
    detail: str
    def __init__(self, country: _Optional[str] = ..., status: _Optional[_Union[CountryStatus, str]] = ..., latency_seconds: _Optional[float] = ..., hit_count: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...

class CountryAnswer(_message.Message):
    __slots__ = ("result", "hits")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    result: CountryResult
    hits: _containers.RepeatedCompositeFieldContainer[_common_pb2.Hit]
    def __init__(self, result: _Optional[_Union[CountryResult, _Mapping]] = ..., hits: _Optional[_Iterable[_Union[_common_pb2.Hit, _Mapping]]] = ...) -> None: ...

class SearchSummary(_message.Message):
    __slots__ = ("search_id", "results", "elapsed_seconds")
    SEARCH_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    search_id: str
    results: _containers.RepeatedCompositeFieldContainer[CountryResult]
    elapsed_seconds: float
    def __init__(self, search_id: _Optional[str] = ..., results: _Optional[_Iterable[_Union[CountryResult, _Mapping]]] = ..., elapsed_seconds: _Optional[float] = ...) -> None: ...

class SearchEvent(_message.Message):
    __slots__ = ("answer", "summary")
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    answer: CountryAnswer
    summary: SearchSummary
    def __init__(self, answer: _Optional[_Union[CountryAnswer, _Mapping]] = ..., summary: _Optional[_Union[SearchSummary, _Mapping]] = ...) -> None: ...
