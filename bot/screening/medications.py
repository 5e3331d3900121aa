"""Finds medicines that can interact with ketamine in the visitor's own list (a flag, never a decision)."""

from __future__ import annotations

import re
from typing import List, Optional

from bot.screening.content import ScreeningContent
from bot.screening.content import content as default_content


def interacting_groups(medication_text: object, content: Optional[ScreeningContent] = None) -> List[str]:
    """Group names ("benzodiazepine", "opioid", ...) whose names appear as whole words, in data order."""
    if not isinstance(medication_text, str) or not medication_text.strip():
        return []
    content = content or default_content()
    text = medication_text.casefold()
    found: List[str] = []
    for group, names in content.interacting_medications.items():
        if any(re.search(r"(?<![a-z])" + re.escape(name) + r"(?![a-z])", text) for name in names):
            found.append(group)
    return found
