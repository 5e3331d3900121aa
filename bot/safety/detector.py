"""Deterministic crisis risk detector: the reviewed lexicon (data/clinic/risk_lexicon.yml) applied to a message.

It runs on every visitor message, whatever the NLU model thinks, so it must never raise, never be slow and
never log the text. It routes to crisis resources and staff; it does not assess risk (a clinician does).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from bot.safety.normalize import normalize
from bot.yaml_files import read_yaml

logger = logging.getLogger(__name__)

DEFAULT_LEXICON_PATH = Path(__file__).resolve().parent.parent.parent / "data" / "clinic" / "risk_lexicon.yml"

SEVERITY_ORDER: tuple[str, ...] = ("imminent", "high", "moderate")

# Within one severity, the category whose reply should lead: a medical emergency first, then stated plans.
CATEGORY_ORDER: tuple[str, ...] = (
    "overdose",
    "suicide_plan",
    "method_request",
    "not_safe",
    "suicidal_thoughts",
    "harm_to_others",
    "danger_from_others",
    "past_attempt",
    "self_harm",
)
LANGUAGES: tuple[str, ...] = ("en", "es")

# Only the start of a very long message is read: crisis statements are short, and the cost stays bounded.
MAX_CHARS = 5000

_MACRO = re.compile(r"<<([A-Z_]+)>>")
_CLAUSE_BREAK = re.compile(r" \. | (?:and|but|so|because|though|although|yet|y|pero|porque|aunque) ")


class LexiconError(ValueError):
    """The lexicon file is missing, malformed or has a pattern that does not compile."""


@dataclass(frozen=True)
class RiskAssessment:
    is_risk: bool
    categories: tuple[str, ...]  # sorted by severity (most severe first), ids as in the lexicon
    severity: Optional[str]  # "imminent" | "high" | "moderate" | None
    language: str  # "en" or "es" (language of the matched phrasing; "en" default)


NO_RISK = RiskAssessment(is_risk=False, categories=(), severity=None, language="en")


@dataclass(frozen=True)
class _Rule:
    category: str
    language: str
    pattern: re.Pattern[str]
    negatable: bool


@dataclass(frozen=True)
class RiskLexicon:
    severities: dict[str, str]  # category id -> severity
    rules: tuple[_Rule, ...]
    benign: tuple[re.Pattern[str], ...]
    negation_cues: dict[str, re.Pattern[str]]  # language -> cue regex
    not_negation: tuple[re.Pattern[str], ...]
    window_words: int


def most_severe(severities: Iterable[str]) -> Optional[str]:
    """The most severe of `severities` by SEVERITY_ORDER; unknown values are ignored; None if none."""
    ranks = [SEVERITY_ORDER.index(s) for s in severities if s in SEVERITY_ORDER]
    return SEVERITY_ORDER[min(ranks)] if ranks else None


def _expand_macros(pattern: str, macros: dict[str, str]) -> str:
    for _ in range(5):  # macros may use macros; a fixed depth keeps a cycle from looping forever
        expanded = _MACRO.sub(lambda m: macros.get(m.group(1), m.group(0)), pattern)
        if expanded == pattern:
            break
        pattern = expanded
    leftover = _MACRO.search(pattern)
    if leftover:
        raise LexiconError(f"unknown macro in pattern: {leftover.group(0)}")
    return pattern


def _compile(pattern: Any, where: str, macros: dict[str, str]) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern.strip():
        raise LexiconError(f"{where}: a pattern must be a non-empty string")
    try:
        return re.compile(_expand_macros(pattern, macros))
    except re.error as exc:
        raise LexiconError(f"{where}: pattern {pattern!r} does not compile: {exc}") from exc


def _pattern_list(value: Any, where: str) -> list:
    """A YAML list of patterns; a bare string would otherwise be iterated character by character."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise LexiconError(f"{where} must be a list of patterns")
    return value


def parse_lexicon(data: Any) -> RiskLexicon:
    """Build a RiskLexicon from the parsed YAML document; raise LexiconError with the place of any fault."""
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise LexiconError("the lexicon needs a 'categories' mapping")
    macros = {str(k): str(v) for k, v in (data.get("macros") or {}).items()}
    severities: dict[str, str] = {}
    rules: list[_Rule] = []
    for category, spec in data["categories"].items():
        if category not in CATEGORY_ORDER:
            raise LexiconError(f"unknown category id {category!r}; known: {', '.join(CATEGORY_ORDER)}")
        if not isinstance(spec, dict) or spec.get("severity") not in SEVERITY_ORDER:
            raise LexiconError(f"{category}: severity must be one of {', '.join(SEVERITY_ORDER)}")
        severities[category] = spec["severity"]
        for language in LANGUAGES:
            block = spec.get(language) or {}
            if not isinstance(block, dict):
                raise LexiconError(f"{category}.{language} must be a mapping of pattern lists")
            for kind, negatable in (("patterns", False), ("negatable", True)):
                for index, pattern in enumerate(_pattern_list(block.get(kind), f"{category}.{language}.{kind}")):
                    where = f"{category}.{language}.{kind}[{index}]"
                    rules.append(_Rule(category, language, _compile(pattern, where, macros), negatable))
    negation = data.get("negation") or {}
    if not isinstance(negation, dict):
        raise LexiconError("negation must be a mapping")
    cues = {
        language: _compile(negation[language], f"negation.{language}", macros)
        for language in LANGUAGES
        if negation.get(language)
    }
    not_negation = tuple(
        _compile(p, f"negation.not_negation[{i}]", macros)
        for i, p in enumerate(_pattern_list(negation.get("not_negation"), "negation.not_negation"))
    )
    benign = tuple(
        _compile(p, f"benign_phrases[{i}]", macros)
        for i, p in enumerate(_pattern_list(data.get("benign_phrases"), "benign_phrases"))
    )
    window = negation.get("window_words", 3)
    if not isinstance(window, int) or window < 0:
        raise LexiconError("negation.window_words must be a whole number >= 0")
    return RiskLexicon(severities, tuple(rules), benign, cues, not_negation, window)


def load_lexicon(path: Union[str, Path, None] = None) -> RiskLexicon:
    """Read and compile a lexicon file (default: data/clinic/risk_lexicon.yml of this repository)."""
    lexicon_path = Path(path) if path is not None else DEFAULT_LEXICON_PATH
    return parse_lexicon(read_yaml(lexicon_path, LexiconError, "risk lexicon"))


@lru_cache(maxsize=8)
def _cached_lexicon(path: str) -> RiskLexicon:
    return load_lexicon(path)


def get_lexicon(path: Union[str, Path, None] = None) -> RiskLexicon:
    """The compiled lexicon for `path`, loaded once per process."""
    return _cached_lexicon(str(Path(path).resolve() if path is not None else DEFAULT_LEXICON_PATH))


def _is_negated(text: str, start: int, lexicon: RiskLexicon, language: str) -> bool:
    """True when a negation cue stands within the window before `start`, in the same clause."""
    cue = lexicon.negation_cues.get(language)
    if cue is None or lexicon.window_words == 0:
        return False
    prefix = text[:start]
    clauses = _CLAUSE_BREAK.split(" " + prefix)
    clause = clauses[-1] if clauses else prefix
    for phrase in lexicon.not_negation:
        clause = phrase.sub(" ", clause)
    window = " ".join(clause.split()[-lexicon.window_words :])
    return bool(cue.search(window))


def _strip_benign(text: str, lexicon: RiskLexicon) -> str:
    for phrase in lexicon.benign:
        text = phrase.sub(" . ", text)
    return text


def _matched_categories(text: str, lexicon: RiskLexicon) -> dict[str, set[str]]:
    """category -> languages whose phrasings matched (negated matches dropped)."""
    found: dict[str, set[str]] = {}
    negatable_hits: list[tuple[int, int, _Rule]] = []
    for rule in lexicon.rules:
        if rule.category in found and rule.language in found[rule.category]:
            continue
        if not rule.negatable:
            if rule.pattern.search(text):
                found.setdefault(rule.category, set()).add(rule.language)
            continue
        for match in rule.pattern.finditer(text):
            negatable_hits.append((match.start(), match.end(), rule))
    # Negated spans cover the cue and the phrase, so "never had thoughts of suicide" also silences the
    # shorter match "suicide" inside it.
    negated_spans: list[tuple[int, int]] = []
    for start, end, rule in sorted(negatable_hits, key=lambda hit: (hit[0], -hit[1])):
        if any(s <= start and end <= e for s, e in negated_spans):
            continue
        if _is_negated(text, start, lexicon, rule.language):
            window_start = max(0, text.rfind(" . ", 0, start))
            negated_spans.append((window_start, end))
            continue
        found.setdefault(rule.category, set()).add(rule.language)
    return found


def _sort_key(category: str, lexicon: RiskLexicon) -> tuple[int, int]:
    return SEVERITY_ORDER.index(lexicon.severities[category]), CATEGORY_ORDER.index(category)


def assess_risk(text: str, lexicon: Optional[RiskLexicon] = None) -> RiskAssessment:
    """Assess one visitor message. Never raises: bad input is no risk, an internal fault is logged without text."""
    if not isinstance(text, str) or not text.strip():
        return NO_RISK
    try:
        active = lexicon if lexicon is not None else get_lexicon()
        normalized = _strip_benign(" " + normalize(text[:MAX_CHARS]), active).rstrip(" .")
        found = _matched_categories(normalized, active)
    except Exception:
        # Fail loud in logs (no message text), fail safe to "no match": the explicit risk questions still run.
        logger.exception("risk detector failed; message not assessed")
        return NO_RISK
    if not found:
        return NO_RISK
    categories = tuple(sorted(found, key=lambda c: _sort_key(c, active)))
    spanish = sum(1 for langs in found.values() if "es" in langs)
    english = sum(1 for langs in found.values() if "en" in langs)
    return RiskAssessment(
        is_risk=True,
        categories=categories,
        severity=active.severities[categories[0]],
        language="es" if spanish > english else "en",
    )
