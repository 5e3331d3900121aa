"""The C-SSRS screener (screen version, recent): items, skip logic and triage from data/clinic/cssrs.yml.

Pure. Answers are "yes" / "no" / "not_sure" by item id; "not_sure" counts as Yes (safety first). The bot
never decides someone is low enough risk to drop a flag: the result only ever raises an episode's severity.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from bot.safety.detector import SEVERITY_ORDER
from bot.yaml_files import read_yaml_mapping

DEFAULT_CSSRS_PATH = Path(__file__).resolve().parent.parent.parent / "data" / "clinic" / "cssrs.yml"
ANSWERS: Tuple[str, ...] = ("yes", "no", "not_sure")
END = "end"
RESULTS: Tuple[str, ...] = ("high", "moderate", "low", "negative")
LANGUAGES: Tuple[str, ...] = ("en", "es")


class CssrsError(ValueError):
    """data/clinic/cssrs.yml is missing something or its skip logic does not hold together."""


@dataclass(frozen=True)
class CssrsItem:
    id: str
    text: str
    next_if_yes: str
    next_if_no: str


@dataclass(frozen=True)
class TriageRule:
    result: str
    any_yes: Tuple[str, ...]
    severity: Optional[str]


@dataclass(frozen=True)
class Screener:
    intro: Dict[str, str]  # by language
    stem: str
    guidance: Dict[str, str]  # by language
    options: Dict[str, Tuple[str, ...]]  # by language: button titles for yes, no, not_sure
    items: Tuple[CssrsItem, ...]
    triage: Tuple[TriageRule, ...]
    triggers: Tuple[str, ...]
    source: str

    def item(self, item_id: str) -> Optional[CssrsItem]:
        return next((i for i in self.items if i.id == item_id), None)


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CssrsError(f"cssrs: missing text {where}{key}")
    return " ".join(value.split())


def parse_screener(data: Mapping[str, Any]) -> Screener:
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise CssrsError("cssrs: missing items")
    items = []
    for raw in raw_items:
        item_id = _text(raw, "id", "items.")
        nxt = raw.get("next")
        items.append(
            CssrsItem(
                id=item_id,
                text=_text(raw, "text", f"items.{item_id}."),
                next_if_yes=str(raw.get("next_if_yes") or nxt or ""),
                next_if_no=str(raw.get("next_if_no") or nxt or ""),
            )
        )
    ids = {i.id for i in items}
    for item in items:
        for target in (item.next_if_yes, item.next_if_no):
            if target != END and target not in ids:
                raise CssrsError(f"cssrs: item {item.id} goes to unknown item {target!r}")
    triage = []
    for raw in data.get("triage") or ():
        result, severity = raw.get("result"), raw.get("severity")
        if result not in RESULTS or (severity is not None and severity not in SEVERITY_ORDER):
            raise CssrsError(f"cssrs: bad triage rule {result!r}")
        unknown = [i for i in raw.get("any_yes") or () if i not in ids]
        if unknown:
            raise CssrsError(f"cssrs: triage {result} names unknown item {unknown[0]!r}")
        triage.append(TriageRule(result=result, any_yes=tuple(raw.get("any_yes") or ()), severity=severity))
    if not triage or triage[-1].any_yes:
        raise CssrsError("cssrs: the last triage rule must be the catch-all (any_yes: [])")
    intro, guidance, options = {}, {}, {}
    for language in LANGUAGES:
        intro[language] = _text(data.get("intro") or {}, language, "intro.")
        guidance[language] = _text(data.get("guidance") or {}, language, "guidance.")
        titles = tuple(part.strip() for part in _text(data.get("options") or {}, language, "options.").split("|"))
        if len(titles) != len(ANSWERS):
            raise CssrsError(f"cssrs: options.{language} must be three titles: Yes | No | Not sure")
        options[language] = titles
    return Screener(
        intro=intro,
        stem=_text(data, "stem", ""),
        guidance=guidance,
        options=options,
        items=tuple(items),
        triage=tuple(triage),
        triggers=tuple(str(t) for t in data.get("triggers") or ()),
        source=_text(data, "source", ""),
    )


def load_screener(path: Union[str, Path, None] = None) -> Screener:
    return parse_screener(read_yaml_mapping(path or DEFAULT_CSSRS_PATH, CssrsError, "C-SSRS screener"))


@lru_cache(maxsize=1)
def screener() -> Screener:
    return load_screener()


def counts_as_yes(answer: Any) -> bool:
    return answer in ("yes", "not_sure")


def triage(answers: Mapping[str, str], content: Optional[Screener] = None) -> TriageRule:
    """The first triage rule any Yes (or Not sure) answer matches; the catch-all when none does."""
    content = content or screener()
    for rule in content.triage:
        if not rule.any_yes or any(counts_as_yes(answers.get(i)) for i in rule.any_yes):
            return rule
    return content.triage[-1]


def next_item(answers: Mapping[str, str], content: Optional[Screener] = None) -> Optional[CssrsItem]:
    """The item to ask next, following the skip logic; None when the screener is done (the end, or an answer
    already made the result high: nothing later can change that, and the visitor must hear 911 now)."""
    content = content or screener()
    if answers and triage(answers, content).result == "high":
        return None
    current: Optional[CssrsItem] = content.items[0]
    while current is not None and current.id in answers:
        target = current.next_if_yes if counts_as_yes(answers[current.id]) else current.next_if_no
        current = None if target == END else content.item(target)
    return current


def is_complete(answers: Mapping[str, str], content: Optional[Screener] = None) -> bool:
    return bool(answers) and next_item(answers, content) is None


def needed_for(categories: Tuple[str, ...], content: Optional[Screener] = None) -> bool:
    """Whether an episode with these categories asks the screener (a suicidal thought, item 9...)."""
    content = content or screener()
    return any(c in content.triggers for c in categories)


def result_summary(answers: Mapping[str, str], content: Optional[Screener] = None) -> Dict[str, Any]:
    """What the crisis state, the alert and the lead carry: the result, its severity and every answer."""
    rule = triage(answers, content)
    return {
        "result": rule.result,
        "severity": rule.severity,
        "complete": is_complete(answers, content),
        "answers": dict(answers),
    }
