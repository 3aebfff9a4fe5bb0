"""The SELEC member states, ISO 3166-1 alpha-2, in the order the federation lists them."""

MEMBER_STATES: tuple[str, ...] = (
    "AL",
    "BA",
    "BG",
    "GR",
    "HU",
    "MD",
    "ME",
    "MK",
    "RO",
    "RS",
    "TR",
)

NAMES: dict[str, str] = {
    "AL": "Albania",
    "BA": "Bosnia and Herzegovina",
    "BG": "Bulgaria",
    "GR": "Greece",
    "HU": "Hungary",
    "MD": "Moldova",
    "ME": "Montenegro",
    "MK": "North Macedonia",
    "RO": "Romania",
    "RS": "Serbia",
    "TR": "Türkiye",
}
