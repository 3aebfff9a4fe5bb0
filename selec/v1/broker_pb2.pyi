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

class CountryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COUNTRY_STATUS_UNSPECIFIED: _ClassVar[CountryStatus]
    COUNTRY_STATUS_HIT: _ClassVar[CountryStatus]
    COUNTRY_STATUS_NO_HIT: _ClassVar[CountryStatus]
    COUNTRY_STATUS_UNAVAILABLE: _ClassVar[CountryStatus]
    COUNTRY_STATUS_TIMEOUT: _ClassVar[CountryStatus]
    COUNTRY_STATUS_ERROR: _ClassVar[CountryStatus]
    COUNTRY_STATUS_INDEXED_HIT: _ClassVar[CountryStatus]
    COUNTRY_STATUS_INDEXED_NO_HIT: _ClassVar[CountryStatus]
COUNTRY_STATUS_UNSPECIFIED: CountryStatus
COUNTRY_STATUS_HIT: CountryStatus
COUNTRY_STATUS_NO_HIT: CountryStatus
COUNTRY_STATUS_UNAVAILABLE: CountryStatus
COUNTRY_STATUS_TIMEOUT: CountryStatus
COUNTRY_STATUS_ERROR: CountryStatus
COUNTRY_STATUS_INDEXED_HIT: CountryStatus
COUNTRY_STATUS_INDEXED_NO_HIT: CountryStatus

class ScreenHeader(_message.Message):
    __slots__ = ("purpose", "legal_basis", "countries", "grouped_results")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    GROUPED_RESULTS_FIELD_NUMBER: _ClassVar[int]
    purpose: str
    legal_basis: str
    countries: _containers.RepeatedScalarFieldContainer[str]
    grouped_results: bool
    def __init__(self, purpose: _Optional[str] = ..., legal_basis: _Optional[str] = ..., countries: _Optional[_Iterable[str]] = ..., grouped_results: _Optional[bool] = ...) -> None: ...

class ScreenSubjects(_message.Message):
    __slots__ = ("subjects",)
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    subjects: _containers.RepeatedCompositeFieldContainer[ScreenSubject]
    def __init__(self, subjects: _Optional[_Iterable[_Union[ScreenSubject, _Mapping]]] = ...) -> None: ...

class ScreenSubject(_message.Message):
    __slots__ = ("subject_id", "criteria")
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CRITERIA_FIELD_NUMBER: _ClassVar[int]
    subject_id: str
    criteria: _common_pb2.Criteria
    def __init__(self, subject_id: _Optional[str] = ..., criteria: _Optional[_Union[_common_pb2.Criteria, _Mapping]] = ...) -> None: ...

class ScreenRequest(_message.Message):
    __slots__ = ("header", "subject", "subjects")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    header: ScreenHeader
    subject: ScreenSubject
    subjects: ScreenSubjects
    def __init__(self, header: _Optional[_Union[ScreenHeader, _Mapping]] = ..., subject: _Optional[_Union[ScreenSubject, _Mapping]] = ..., subjects: _Optional[_Union[ScreenSubjects, _Mapping]] = ...) -> None: ...

class CountryHit(_message.Message):
    __slots__ = ("country", "hit")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    country: str
    hit: _common_pb2.Hit
    def __init__(self, country: _Optional[str] = ..., hit: _Optional[_Union[_common_pb2.Hit, _Mapping]] = ...) -> None: ...

class SubjectResult(_message.Message):
    __slots__ = ("subject_id", "hits", "error")
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    subject_id: str
    hits: _containers.RepeatedCompositeFieldContainer[CountryHit]
    error: str
    def __init__(self, subject_id: _Optional[str] = ..., hits: _Optional[_Iterable[_Union[CountryHit, _Mapping]]] = ..., error: _Optional[str] = ...) -> None: ...

class ScreenSummary(_message.Message):
    __slots__ = ("screening_id", "results", "subjects", "subjects_with_hits", "subjects_with_errors", "elapsed_seconds")
    SCREENING_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_WITH_HITS_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_WITH_ERRORS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    screening_id: str
    results: _containers.RepeatedCompositeFieldContainer[CountryResult]
    subjects: int
    subjects_with_hits: int
    subjects_with_errors: int
    elapsed_seconds: float
    def __init__(self, screening_id: _Optional[str] = ..., results: _Optional[_Iterable[_Union[CountryResult, _Mapping]]] = ..., subjects: _Optional[int] = ..., subjects_with_hits: _Optional[int] = ..., subjects_with_errors: _Optional[int] = ..., elapsed_seconds: _Optional[float] = ...) -> None: ...

class SubjectResults(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SubjectResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SubjectResult, _Mapping]]] = ...) -> None: ...

class ScreenEvent(_message.Message):
    __slots__ = ("subject", "summary", "results")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    subject: SubjectResult
    summary: ScreenSummary
    results: SubjectResults
    def __init__(self, subject: _Optional[_Union[SubjectResult, _Mapping]] = ..., summary: _Optional[_Union[ScreenSummary, _Mapping]] = ..., results: _Optional[_Union[SubjectResults, _Mapping]] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ("country", "reachable", "suspended", "suspended_for_seconds", "consecutive_failures", "p50_seconds", "p99_seconds", "recent_calls", "published_as_of", "published_references", "index_only", "detail")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    SUSPENDED_FOR_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    P50_SECONDS_FIELD_NUMBER: _ClassVar[int]
    P99_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RECENT_CALLS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AS_OF_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_REFERENCES_FIELD_NUMBER: _ClassVar[int]
    INDEX_ONLY_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    country: str
    reachable: bool
    suspended: bool
    suspended_for_seconds: float
    consecutive_failures: int
    p50_seconds: float
    p99_seconds: float
    recent_calls: int
    published_as_of: _timestamp_pb2.Timestamp
    published_references: int
    index_only: bool
    detail: str
    def __init__(self, country: _Optional[str] = ..., reachable: _Optional[bool] = ..., suspended: _Optional[bool] = ..., suspended_for_seconds: _Optional[float] = ..., consecutive_failures: _Optional[int] = ..., p50_seconds: _Optional[float] = ..., p99_seconds: _Optional[float] = ..., recent_calls: _Optional[int] = ..., published_as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., published_references: _Optional[int] = ..., index_only: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("nodes", "index_reachable")
    NODES_FIELD_NUMBER: _ClassVar[int]
    INDEX_REACHABLE_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[NodeStatus]
    index_reachable: bool
    def __init__(self, nodes: _Optional[_Iterable[_Union[NodeStatus, _Mapping]]] = ..., index_reachable: _Optional[bool] = ...) -> None: ...

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
    __slots__ = ("country", "status", "latency_seconds", "hit_count", "detail", "indexed_as_of")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HIT_COUNT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    INDEXED_AS_OF_FIELD_NUMBER: _ClassVar[int]
    country: str
    status: CountryStatus
    latency_seconds: float
    hit_count: int
    detail: str
    indexed_as_of: _timestamp_pb2.Timestamp
    def __init__(self, country: _Optional[str] = ..., status: _Optional[_Union[CountryStatus, str]] = ..., latency_seconds: _Optional[float] = ..., hit_count: _Optional[int] = ..., detail: _Optional[str] = ..., indexed_as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CountryAnswer(_message.Message):
    __slots__ = ("result", "hits")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    result: CountryResult
    hits: _containers.RepeatedCompositeFieldContainer[_common_pb2.Hit]
    def __init__(self, result: _Optional[_Union[CountryResult, _Mapping]] = ..., hits: _Optional[_Iterable[_Union[_common_pb2.Hit, _Mapping]]] = ...) -> None: ...

class SearchSummary(_message.Message):
    __slots__ = ("search_id", "results", "elapsed_seconds", "subjects")
    SEARCH_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    search_id: str
    results: _containers.RepeatedCompositeFieldContainer[CountryResult]
    elapsed_seconds: float
    subjects: _containers.RepeatedCompositeFieldContainer[CorrelatedSubject]
    def __init__(self, search_id: _Optional[str] = ..., results: _Optional[_Iterable[_Union[CountryResult, _Mapping]]] = ..., elapsed_seconds: _Optional[float] = ..., subjects: _Optional[_Iterable[_Union[CorrelatedSubject, _Mapping]]] = ...) -> None: ...

class SubjectMember(_message.Message):
    __slots__ = ("country", "reference")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    country: str
    reference: str
    def __init__(self, country: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class CorrelatedSubject(_message.Message):
    __slots__ = ("subject_id", "members", "strength", "shared_key_types")
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    SHARED_KEY_TYPES_FIELD_NUMBER: _ClassVar[int]
    subject_id: str
    members: _containers.RepeatedCompositeFieldContainer[SubjectMember]
    strength: _common_pb2.MatchStrength
    shared_key_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, subject_id: _Optional[str] = ..., members: _Optional[_Iterable[_Union[SubjectMember, _Mapping]]] = ..., strength: _Optional[_Union[_common_pb2.MatchStrength, str]] = ..., shared_key_types: _Optional[_Iterable[str]] = ...) -> None: ...

class PublishedKey(_message.Message):
    __slots__ = ("key_type", "strength", "digest")
    KEY_TYPE_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    key_type: str
    strength: _common_pb2.MatchStrength
    digest: str
    def __init__(self, key_type: _Optional[str] = ..., strength: _Optional[_Union[_common_pb2.MatchStrength, str]] = ..., digest: _Optional[str] = ...) -> None: ...

class PublishedReference(_message.Message):
    __slots__ = ("reference", "kind", "category", "keys")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    reference: str
    kind: _common_pb2.RecordKind
    category: _common_pb2.Category
    keys: _containers.RepeatedCompositeFieldContainer[PublishedKey]
    def __init__(self, reference: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.RecordKind, str]] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., keys: _Optional[_Iterable[_Union[PublishedKey, _Mapping]]] = ...) -> None: ...

class PublishHeader(_message.Message):
    __slots__ = ("country", "as_of", "scheme_version")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SCHEME_VERSION_FIELD_NUMBER: _ClassVar[int]
    country: str
    as_of: _timestamp_pb2.Timestamp
    scheme_version: str
    def __init__(self, country: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scheme_version: _Optional[str] = ...) -> None: ...

class PublishRequest(_message.Message):
    __slots__ = ("header", "references", "end")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    header: PublishHeader
    references: PublishedReferences
    end: PublishEnd
    def __init__(self, header: _Optional[_Union[PublishHeader, _Mapping]] = ..., references: _Optional[_Union[PublishedReferences, _Mapping]] = ..., end: _Optional[_Union[PublishEnd, _Mapping]] = ...) -> None: ...

class PublishEnd(_message.Message):
    __slots__ = ("reference_count",)
    REFERENCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    reference_count: int
    def __init__(self, reference_count: _Optional[int] = ...) -> None: ...

class PublishedReferences(_message.Message):
    __slots__ = ("references",)
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    references: _containers.RepeatedCompositeFieldContainer[PublishedReference]
    def __init__(self, references: _Optional[_Iterable[_Union[PublishedReference, _Mapping]]] = ...) -> None: ...

class PublishResponse(_message.Message):
    __slots__ = ("country", "reference_count", "as_of")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    country: str
    reference_count: int
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, country: _Optional[str] = ..., reference_count: _Optional[int] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SearchEvent(_message.Message):
    __slots__ = ("answer", "summary")
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    answer: CountryAnswer
    summary: SearchSummary
    def __init__(self, answer: _Optional[_Union[CountryAnswer, _Mapping]] = ..., summary: _Optional[_Union[SearchSummary, _Mapping]] = ...) -> None: ...
