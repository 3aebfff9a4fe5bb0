from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecordKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_KIND_UNSPECIFIED: _ClassVar[RecordKind]
    RECORD_KIND_PERSON: _ClassVar[RecordKind]
    RECORD_KIND_DOCUMENT: _ClassVar[RecordKind]
    RECORD_KIND_VEHICLE: _ClassVar[RecordKind]
    RECORD_KIND_PHONE: _ClassVar[RecordKind]

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    CATEGORY_WANTED: _ClassVar[Category]
    CATEGORY_MISSING: _ClassVar[Category]
    CATEGORY_SUSPECT: _ClassVar[Category]
    CATEGORY_STOLEN: _ClassVar[Category]
    CATEGORY_LOST: _ClassVar[Category]
    CATEGORY_FORGED: _ClassVar[Category]
    CATEGORY_INVALIDATED: _ClassVar[Category]
    CATEGORY_MONITORED: _ClassVar[Category]

class MatchStrength(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATCH_STRENGTH_UNSPECIFIED: _ClassVar[MatchStrength]
    MATCH_STRENGTH_WEAK: _ClassVar[MatchStrength]
    MATCH_STRENGTH_MEDIUM: _ClassVar[MatchStrength]
    MATCH_STRENGTH_STRONG: _ClassVar[MatchStrength]
    MATCH_STRENGTH_EXACT: _ClassVar[MatchStrength]

class Sex(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEX_UNSPECIFIED: _ClassVar[Sex]
    SEX_MALE: _ClassVar[Sex]
    SEX_FEMALE: _ClassVar[Sex]
    SEX_OTHER: _ClassVar[Sex]

class DocumentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_TYPE_UNSPECIFIED: _ClassVar[DocumentType]
    DOCUMENT_TYPE_PASSPORT: _ClassVar[DocumentType]
    DOCUMENT_TYPE_ID_CARD: _ClassVar[DocumentType]
    DOCUMENT_TYPE_DRIVING_LICENCE: _ClassVar[DocumentType]
    DOCUMENT_TYPE_RESIDENCE_PERMIT: _ClassVar[DocumentType]
RECORD_KIND_UNSPECIFIED: RecordKind
RECORD_KIND_PERSON: RecordKind
RECORD_KIND_DOCUMENT: RecordKind
RECORD_KIND_VEHICLE: RecordKind
RECORD_KIND_PHONE: RecordKind
CATEGORY_UNSPECIFIED: Category
CATEGORY_WANTED: Category
CATEGORY_MISSING: Category
CATEGORY_SUSPECT: Category
CATEGORY_STOLEN: Category
CATEGORY_LOST: Category
CATEGORY_FORGED: Category
CATEGORY_INVALIDATED: Category
CATEGORY_MONITORED: Category
MATCH_STRENGTH_UNSPECIFIED: MatchStrength
MATCH_STRENGTH_WEAK: MatchStrength
MATCH_STRENGTH_MEDIUM: MatchStrength
MATCH_STRENGTH_STRONG: MatchStrength
MATCH_STRENGTH_EXACT: MatchStrength
SEX_UNSPECIFIED: Sex
SEX_MALE: Sex
SEX_FEMALE: Sex
SEX_OTHER: Sex
DOCUMENT_TYPE_UNSPECIFIED: DocumentType
DOCUMENT_TYPE_PASSPORT: DocumentType
DOCUMENT_TYPE_ID_CARD: DocumentType
DOCUMENT_TYPE_DRIVING_LICENCE: DocumentType
DOCUMENT_TYPE_RESIDENCE_PERMIT: DocumentType

class PersonCriteria(_message.Message):
    __slots__ = ("given_names", "family_names", "date_of_birth", "birth_year", "sex", "nationality")
    GIVEN_NAMES_FIELD_NUMBER: _ClassVar[int]
    FAMILY_NAMES_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    BIRTH_YEAR_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    NATIONALITY_FIELD_NUMBER: _ClassVar[int]
    given_names: str
    family_names: str
    date_of_birth: str
    birth_year: int
    sex: Sex
    nationality: str
    def __init__(self, given_names: _Optional[str] = ..., family_names: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., birth_year: _Optional[int] = ..., sex: _Optional[_Union[Sex, str]] = ..., nationality: _Optional[str] = ...) -> None: ...

class DocumentCriteria(_message.Message):
    __slots__ = ("type", "number", "issuing_country")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    ISSUING_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    type: DocumentType
    number: str
    issuing_country: str
    def __init__(self, type: _Optional[_Union[DocumentType, str]] = ..., number: _Optional[str] = ..., issuing_country: _Optional[str] = ...) -> None: ...

class VehicleCriteria(_message.Message):
    __slots__ = ("plate", "plate_country", "vin")
    PLATE_FIELD_NUMBER: _ClassVar[int]
    PLATE_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    plate: str
    plate_country: str
    vin: str
    def __init__(self, plate: _Optional[str] = ..., plate_country: _Optional[str] = ..., vin: _Optional[str] = ...) -> None: ...

class PhoneCriteria(_message.Message):
    __slots__ = ("number", "region")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    number: str
    region: str
    def __init__(self, number: _Optional[str] = ..., region: _Optional[str] = ...) -> None: ...

class Criteria(_message.Message):
    __slots__ = ("person", "document", "vehicle", "phone")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    person: PersonCriteria
    document: DocumentCriteria
    vehicle: VehicleCriteria
    phone: PhoneCriteria
    def __init__(self, person: _Optional[_Union[PersonCriteria, _Mapping]] = ..., document: _Optional[_Union[DocumentCriteria, _Mapping]] = ..., vehicle: _Optional[_Union[VehicleCriteria, _Mapping]] = ..., phone: _Optional[_Union[PhoneCriteria, _Mapping]] = ...) -> None: ...

class BlindKey(_message.Message):
    __slots__ = ("key_type", "digest")
    KEY_TYPE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    key_type: str
    digest: str
    def __init__(self, key_type: _Optional[str] = ..., digest: _Optional[str] = ...) -> None: ...

class Hit(_message.Message):
    __slots__ = ("reference", "kind", "category", "strength", "matched_key_types")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    MATCHED_KEY_TYPES_FIELD_NUMBER: _ClassVar[int]
    reference: str
    kind: RecordKind
    category: Category
    strength: MatchStrength
    matched_key_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reference: _Optional[str] = ..., kind: _Optional[_Union[RecordKind, str]] = ..., category: _Optional[_Union[Category, str]] = ..., strength: _Optional[_Union[MatchStrength, str]] = ..., matched_key_types: _Optional[_Iterable[str]] = ...) -> None: ...
