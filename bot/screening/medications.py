"""Finds medicines a clinician should review in the visitor's own list (a flag, never a decision).

The table is data/clinic/medications.yml: generic, brand and street names and known misspellings by group.
A typed word (or two words, for a two-word name) matches a name exactly, or for a long enough word within a
small OSA edit distance (rapidfuzz): one letter added, dropped, changed or two swapped. Short words match only
exactly, so "add" is never Adderall; ordinary words listed in `not_medicines` never match.
"""

from __future__ import annotations

import re
import unicodedata
from typing import List, Optional, Tuple

from rapidfuzz.distance import OSA

from bot.screening.content import MedicationTable, ScreeningContent
from bot.screening.content import content as default_content

# Letters and digits apart: "xanax0.5mg" -> xanax 0 5 mg; "tylenol #3" -> tylenol 3.
_TOKEN = re.compile(r"[a-z]+|\d+")


def words_of(text: str) -> List[str]:
    """The reply's words, lower case, apostrophes dropped ("benzo's" -> "benzos")."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("'", "").replace("\u2019", "")
    return _TOKEN.findall(text)


def _edits_allowed(typed: str, table: MedicationTable) -> int:
    if typed.isdigit() or len(typed) < table.min_length_one_edit:
        return 0
    return 2 if len(typed) >= table.min_length_two_edits else 1


def name_matches(typed: str, name: str, table: MedicationTable) -> bool:
    """Is `typed` (one or more words, single-spaced) this medicine name, its plural with "s" ("xannys",
    "klonopins"), or a near misspelling of it?"""
    if typed == name or (typed.endswith("s") and typed[:-1] == name):
        return True
    if typed in table.not_medicines or (table.same_first_letter and typed[:1] != name[:1]):
        return False
    if any(word.isdigit() for word in typed.split()) or any(word.isdigit() for word in name.split()):
        return False  # "tylenol 3" is not "tylenol 4"
    allowed = _edits_allowed(typed, table)
    return allowed > 0 and OSA.distance(typed, name, score_cutoff=allowed) <= allowed


def _phrases(words: List[str], length: int) -> List[str]:
    return [" ".join(words[i : i + length]) for i in range(len(words) - length + 1)]


def matches(medication_text: str, table: MedicationTable) -> List[Tuple[str, str, str]]:
    """(group, name, what was typed) for every name found, in data order."""
    words = words_of(medication_text)
    found: List[Tuple[str, str, str]] = []
    for group, names in table.groups.items():
        for name in names:
            for typed in _phrases(words, len(name.split())):
                if name_matches(typed, name, table):
                    found.append((group, name, typed))
                    break
    return found


def interacting_groups(medication_text: object, content: Optional[ScreeningContent] = None) -> List[str]:
    """Group names ("benzodiazepine", "opioid", ...) with a name in the text, in data order."""
    if not isinstance(medication_text, str) or not medication_text.strip():
        return []
    content = content or default_content()
    if content.medications is None:
        return []
    groups: List[str] = []
    for group, _, _ in matches(medication_text, content.medications):
        if group not in groups:
            groups.append(group)
    return groups
