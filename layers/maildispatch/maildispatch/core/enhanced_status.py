"""RFC 3463 enhanced status codes ("5.1.1"): the pattern, written once.

class "." subject "." detail, the class 2, 4 or 5 and each of the others up to three digits.
Modules that find a code inside longer text build their patterns from ENHANCED_STATUS.
"""

from __future__ import annotations

import re

ENHANCED_STATUS = r"[245]\.\d{1,3}\.\d{1,3}"
_WHOLE = re.compile(ENHANCED_STATUS)


def is_enhanced_status(text: str | None) -> bool:
    """Whether `text` is exactly one enhanced status code."""
    return text is not None and _WHOLE.fullmatch(text) is not None
