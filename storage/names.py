"""Normalized exercise names, so that one exercise matches however its name was typed."""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def normalize_exercise_name(name: str) -> str:
    """Return the matching key of an exercise name: NFKC, trimmed, case-folded, single spaces.

    "Bench Press", " bench  press" and "ＢＥＮＣＨ PRESS" all give "bench press".
    """
    folded = unicodedata.normalize("NFKC", name).strip().casefold()
    return _WHITESPACE.sub(" ", folded)
