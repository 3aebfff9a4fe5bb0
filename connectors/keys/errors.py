"""Exception raised for identifiers that cannot be keyed."""

from __future__ import annotations

__all__ = ["InvalidIdentifier"]


class InvalidIdentifier(ValueError):
    """An identifier is malformed (empty, wrong length, bad check digit, unparseable number).

    The message says what is wrong and never contains more of the input than needed to act on
    it, because exception messages end up in logs that are not cleared for personal data.
    """
