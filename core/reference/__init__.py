"""Cited reference data: standard-coal coefficients, emission factors, quota standards, Shanxi tariffs.

`get_reference()` returns the validated, cached `ReferenceData`; its accessors return `Cited` values that carry
source and confidence. See docs/reference.md.
"""

from .base import CONFIDENCE_MARKS, Cited, ReferenceLookupError
from .loader import DATA_DIR, ReferenceDataError, get_reference, load_reference
from .models import DATA_FILES, ReferenceData
from .quota import Quota
from .tariff import TouSpan, TwoPartCharges

__all__ = [
    "CONFIDENCE_MARKS",
    "DATA_DIR",
    "DATA_FILES",
    "Cited",
    "Quota",
    "ReferenceData",
    "ReferenceDataError",
    "ReferenceLookupError",
    "TouSpan",
    "TwoPartCharges",
    "get_reference",
    "load_reference",
]
