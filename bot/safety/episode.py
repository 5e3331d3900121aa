"""A crisis episode: from the first sign of risk until the visitor says they want to go on.

State lives in the `crisis` slot as a plain dict (see `CrisisState.to_slot`). While an episode is open every
reply is assessed first (risk in it overrides the answer), then the visitor is asked, in this order and only
as their answers lead: are you safe right now; the C-SSRS screener (bot/safety/cssrs.py) when a suicidal
thought came up; a call back from the team; then whether they want to keep going (after "not safe" or a high
screener result: a check-in instead, and the questions resume only when they ask). Staff get a new alert on
every rise and on any risky reply not said before (`alert_reason`); severity never goes down and the lead
carries the flag for good.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from bot.safety import cssrs
from bot.safety.detector import SEVERITY_ORDER, RiskAssessment, most_severe
from bot.safety.responses import question_texts
from bot.screening.model import Option, Question

ASK_SAFE = "ask_safe"
ASK_CONTINUE = "ask_continue"
CSSRS = "cssrs"
ASK_CALLBACK = "ask_callback"
CALLBACK_PHONE = "callback_phone"
CALLBACK_KNOWN_PHONE = "callback_known_phone"
CHECK_IN = "check_in"
# Only the trained model flagged a message (risk level `check`): the check question is pending. No episode is
# open and nothing is flagged yet; the reply decides (bot/safety/episode.py `answer_risk_check`).
RISK_CHECK = "risk_check"
STAGES = (ASK_SAFE, ASK_CONTINUE, CSSRS, ASK_CALLBACK, CALLBACK_PHONE, CALLBACK_KNOWN_PHONE, CHECK_IN, RISK_CHECK)
SAFE_QUESTION_ID = "crisis_safe"
CONTINUE_QUESTION_ID = "crisis_continue"
CSSRS_QUESTION_PREFIX = "crisis_cssrs_"
CALLBACK_QUESTION_ID = "crisis_callback"
CALLBACK_PHONE_QUESTION_ID = "crisis_callback_phone"
CALLBACK_KNOWN_PHONE_QUESTION_ID = "crisis_callback_known_phone"
CHECK_IN_QUESTION_ID = "crisis_check_in"
RISK_CHECK_QUESTION_ID = "crisis_risk_check"

# Why staff get a new crisis.alert (docs/events.md).
REASON_OPENED = "episode_opened"
REASON_SEVERITY_ROSE = "severity_rose"
REASON_NEW_CATEGORY = "new_category"
REASON_NOT_SAFE = "not_safe"
REASON_NOT_SURE = "not_sure"
REASON_CSSRS_HIGH = "cssrs_high"
REASON_CSSRS_POSITIVE = "cssrs_positive"
REASON_MISUNDERSTANDING = "visitor_says_misunderstanding"
REASON_CALLBACK = "callback_requested"
REASON_CHECK_CONFIRMED = "check_confirmed"  # the reply to the check question was not a clear No
# Risk in a reply inside an open episode ("yeah i'm safe for now but the pills are right next to me"), even at
# the same severity and categories: staff must read it (issue 8). Only the very same text again is no news.
REASON_RISK_IN_REPLY = "risk_in_reply"
ALERT_REASONS = (
    REASON_OPENED,
    REASON_CHECK_CONFIRMED,
    REASON_SEVERITY_ROSE,
    REASON_NEW_CATEGORY,
    REASON_NOT_SAFE,
    REASON_NOT_SURE,
    REASON_CSSRS_HIGH,
    REASON_CSSRS_POSITIVE,
    REASON_MISUNDERSTANDING,
    REASON_CALLBACK,
    REASON_RISK_IN_REPLY,
)
# The episode's own call back (a web visitor's alert carries no contact otherwise).
CALLBACK_DECLINED = "declined"
CALLBACK_SENT = "sent"

# PHQ-9 item 9 above "Not at all" opens an episode too (reference notes §2: any score > 0 triggers risk
# follow-up; a practice norm, routed like a disclosed suicidal thought).
PHQ9_ITEM9_CATEGORY = "phq9_item9"
PHQ9_ITEM9_ASSESSMENT = RiskAssessment(is_risk=True, categories=("suicidal_thoughts",), severity="high", language="en")
# When only the trained model flagged a message the detector found no category: "unspecified", severity high.
MODEL_ONLY_ASSESSMENT = RiskAssessment(is_risk=True, categories=("unspecified",), severity="high", language="en")

# "Are you safe right now?" offers Yes / No / Not sure, so it understands the words every such question does
# (data/clinic/answer_words.yml, via bot.screening.answers); these are its own phrases on top.
# "Are you safe right now?" takes only these words (and the shared Not sure words): the broad Yes words of
# data/clinic/answer_words.yml ("right", "i am", "i have") would read "not safe right now" or "I am scared" as
# safe. A reply it cannot read is asked again, with 911 in the guidance.
_SAFE = (
    "yes",
    "y",
    "yeah",
    "yep",
    "yup",
    "ok",
    "okay",
    "i'm safe",
    "im safe",
    "i am safe",
    "safe",
    "si",
    "sí",
    "estoy a salvo",
)
_NOT_SAFE = ("no", "n", "nope", "nah", "not safe", "i'm not safe", "im not safe", "i am not safe", "no estoy a salvo")


@dataclass(frozen=True)
class CrisisState:
    flagged: bool = False
    open: bool = False
    stage: Optional[str] = None
    categories: Tuple[str, ...] = ()
    severity: Optional[str] = None
    language: str = "en"
    episodes: int = 0
    alerts: int = 0  # crisis.alert events sent in this conversation: the sequence of the next one's id
    alerted_severity: Optional[str] = None  # the severity staff were last told
    unsafe: bool = False  # said "No" / "Not sure" to "Are you safe?" (or C-SSRS high) in this episode
    cssrs_answers: Dict[str, str] = field(default_factory=dict)
    cssrs_result: Optional[Dict[str, Any]] = None  # bot.safety.cssrs.result_summary once complete
    callback: Optional[str] = None  # None (not asked yet), "declined" or "sent"
    callback_phone: Optional[str] = None
    check_message: Optional[str] = None  # the model-only message while its check question is pending
    checks_denied: int = 0  # check questions answered with a clear No (the lead shows it to a clinician)
    risk_messages: int = 0  # messages that carried risk in this conversation (each one may need an alert)
    risk_key: Optional[str] = None  # a digest of the last one's words
    risk_keys: Tuple[str, ...] = ()  # digests of every risky text so far: the very same text again is no news

    @property
    def check_pending(self) -> bool:
        return self.stage == RISK_CHECK and not self.open

    @classmethod
    def from_slot(cls, value: Any) -> CrisisState:
        if not isinstance(value, Mapping):
            return cls()
        severity, alerted = value.get("severity"), value.get("alerted_severity")
        answers = value.get("cssrs_answers")
        result = value.get("cssrs_result")
        return cls(
            flagged=bool(value.get("flagged")),
            open=bool(value.get("open")),
            stage=value.get("stage") if value.get("stage") in STAGES else None,
            categories=tuple(str(c) for c in value.get("categories") or ()),
            severity=severity if severity in SEVERITY_ORDER else None,
            language="es" if value.get("language") == "es" else "en",
            episodes=int(value.get("episodes") or 0),
            alerts=int(value.get("alerts") or 0),
            alerted_severity=alerted if alerted in SEVERITY_ORDER else None,
            unsafe=bool(value.get("unsafe")),
            cssrs_answers={str(k): str(v) for k, v in (answers or {}).items() if v in cssrs.ANSWERS}
            if isinstance(answers, Mapping)
            else {},
            cssrs_result=dict(result) if isinstance(result, Mapping) else None,
            callback=value.get("callback") if value.get("callback") in (CALLBACK_DECLINED, CALLBACK_SENT) else None,
            callback_phone=value.get("callback_phone") if isinstance(value.get("callback_phone"), str) else None,
            check_message=value.get("check_message") if isinstance(value.get("check_message"), str) else None,
            checks_denied=_count(value.get("checks_denied")),
            risk_messages=_count(value.get("risk_messages")),
            risk_key=value.get("risk_key") if isinstance(value.get("risk_key"), str) else None,
            risk_keys=tuple(str(k) for k in value.get("risk_keys") or () if isinstance(k, str)),
        )

    def to_slot(self) -> dict:
        return {
            "flagged": self.flagged,
            "open": self.open,
            "stage": self.stage,
            "categories": list(self.categories),
            "severity": self.severity,
            "language": self.language,
            "episodes": self.episodes,
            "alerts": self.alerts,
            "alerted_severity": self.alerted_severity,
            "unsafe": self.unsafe,
            "cssrs_answers": dict(self.cssrs_answers),
            "cssrs_result": dict(self.cssrs_result) if self.cssrs_result else None,
            "callback": self.callback,
            "callback_phone": self.callback_phone,
            "check_message": self.check_message,
            "checks_denied": self.checks_denied,
            "risk_messages": self.risk_messages,
            "risk_key": self.risk_key,
            "risk_keys": list(self.risk_keys),
        }

    def lead_flag(self) -> dict:
        """What the lead carries: whether risk was raised, which categories, and the C-SSRS result if asked."""
        flag: dict = {"flagged": self.flagged, "categories": list(self.categories)}
        if self.cssrs_result:
            flag["cssrs"] = dict(self.cssrs_result)
        if self.checks_denied:
            flag["checks_denied"] = self.checks_denied
        return flag


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def can_ask_check(state: CrisisState) -> bool:
    """A model-only flag gets the check question only in a conversation never flagged, with no episode open and
    no check pending; anything else is the full escalation (fail safe)."""
    return not state.flagged and not state.open and not state.check_pending


def start_check(state: CrisisState, message: str, language: str) -> CrisisState:
    """The check question is pending for `message` (kept so the alert can carry it if the reply escalates)."""
    return replace(state, stage=RISK_CHECK, check_message=message, language=language)


def check_denied(state: CrisisState) -> CrisisState:
    """A clear No to the check question: nothing flagged, the screening resumes, the lead records it."""
    return replace(state, stage=None, check_message=None, checks_denied=state.checks_denied + 1)


def check_alert_message(check_message: Optional[str], reply: str) -> str:
    """What the alert after a check says: the flagged message and the reply to the check question."""
    return f"{check_message or ''} | Reply to the check question: {reply}".strip()


def _merge_categories(existing: Tuple[str, ...], new: Tuple[str, ...]) -> Tuple[str, ...]:
    return existing + tuple(c for c in new if c not in existing)


def risk_text_key(text: str) -> Optional[str]:
    """A short digest of a message's words (case and spacing aside): the slot never keeps the text itself."""
    words = " ".join(text.lower().split())
    return hashlib.sha256(words.encode("utf-8")).hexdigest()[:16] if words else None


_REMEMBERED_TEXTS = 50  # keeps the slot small; an older text said again simply alerts again (cheap)


def _remember(keys: Tuple[str, ...], key: Optional[str]) -> Tuple[str, ...]:
    if key is None or key in keys:
        return keys
    return (keys + (key,))[-_REMEMBERED_TEXTS:]


def open_episode(
    state: CrisisState, assessment: RiskAssessment, extra_categories: Tuple[str, ...] = (), text: str = ""
) -> Tuple[CrisisState, bool]:
    """Record a risk signal (in `text`, when the caller has it): the episode is (re)opened at "Are you safe
    right now?". Returns the new state and whether this started a new episode."""
    categories = _merge_categories(state.categories, tuple(assessment.categories) + extra_categories)
    severity = most_severe([s for s in (state.severity, assessment.severity) if s])
    is_new = not state.open
    key = risk_text_key(text)
    new_state = replace(
        state,
        flagged=True,
        open=True,
        stage=ASK_SAFE,
        categories=categories,
        severity=severity,
        language=assessment.language if is_new else state.language,
        episodes=state.episodes + (1 if is_new else 0),
        unsafe=False if is_new else state.unsafe,
        check_message=None,
        risk_messages=state.risk_messages + 1,
        risk_key=key,
        risk_keys=_remember(state.risk_keys, key),
    )
    return new_state, is_new


def raise_severity(state: CrisisState, severity: Optional[str]) -> CrisisState:
    """Never lower: the most severe of the episode's severity and `severity`."""
    return replace(state, severity=most_severe([s for s in (state.severity, severity) if s]))


def severity_rose(before: Optional[str], after: Optional[str]) -> bool:
    if after not in SEVERITY_ORDER:
        return False
    return before not in SEVERITY_ORDER or SEVERITY_ORDER.index(after) < SEVERITY_ORDER.index(before)


def alert_reason(before: CrisisState, after: CrisisState, forced: Optional[str] = None) -> Optional[str]:
    """Why staff need a new crisis.alert for the change from `before` to `after`, or None (nothing new)."""
    if after.open and not before.open:
        return REASON_CHECK_CONFIRMED if before.check_pending else REASON_OPENED
    if forced:
        return forced
    if severity_rose(after.alerted_severity or before.severity, after.severity):
        return REASON_SEVERITY_ROSE
    # "unspecified" (only the model flagged the message) says nothing new about an open episode.
    if set(after.categories) - set(before.categories) - {MODEL_ONLY_ASSESSMENT.categories[0]}:
        return REASON_NEW_CATEGORY
    if before.open and after.risk_messages > before.risk_messages and not _same_text_again(before, after):
        return REASON_RISK_IN_REPLY
    return None


def _same_text_again(before: CrisisState, after: CrisisState) -> bool:
    return after.risk_key is not None and after.risk_key in before.risk_keys


def alert_sent(state: CrisisState) -> CrisisState:
    """Record that staff were told about the state as it is now."""
    return replace(state, alerts=state.alerts + 1, alerted_severity=state.severity)


def needs_cssrs(state: CrisisState) -> bool:
    return cssrs.needed_for(state.categories) and state.cssrs_result is None


def after_safe(state: CrisisState) -> CrisisState:
    """What follows "I'm safe" (or a misunderstanding): the C-SSRS if a suicidal thought came up and it was not
    asked yet, then the call-back offer once, then "keep going or stop?"."""
    if needs_cssrs(state):
        return replace(state, stage=CSSRS)
    if state.callback is None:
        return replace(state, stage=ASK_CALLBACK)
    return replace(state, stage=CHECK_IN if state.unsafe else ASK_CONTINUE)


def after_callback(state: CrisisState) -> CrisisState:
    """After the call-back offer: a check-in when they were not safe, else "keep going or stop?"."""
    return replace(state, stage=CHECK_IN if state.unsafe else ASK_CONTINUE)


def _escalated(state: CrisisState) -> CrisisState:
    """Not safe / not sure / C-SSRS high: stay with them (a call back, then a check-in), never "keep going?"."""
    state = replace(state, unsafe=True)
    return replace(state, stage=ASK_CALLBACK) if state.callback is None else replace(state, stage=CHECK_IN)


def _options(
    titles: Tuple[str, ...], values: Tuple[str, ...], synonyms: Tuple[Tuple[str, ...], ...]
) -> Tuple[Option, ...]:
    return tuple(Option(value=v, title=t, synonyms=s) for t, v, s in zip(titles, values, synonyms))


_YES = ("yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure", "si", "sí", "please", "call me", "yes please")
_NO = ("no", "n", "nope", "nah", "no thanks", "no thank you", "don't call", "dont call", "no gracias")


# C-SSRS items: plain Yes / No words only (the shared Not sure words apply; Not sure counts as Yes).
_CSSRS_YES = ("yes", "y", "yeah", "yep", "yup", "si", "sí")
_CSSRS_NO = ("no", "n", "nope", "nah")


def _yes_no_question(qid: str, text: str, titles: Tuple[str, ...], guidance: str) -> Question:
    return Question(
        id=qid,
        section="crisis",
        text=text,
        kind="choice",
        options=_options(titles, ("yes", "no"), (_YES, _NO)),
        guidance=guidance,
        shared_yes_no_words=False,
    )


def cssrs_question(state: CrisisState) -> Optional[Question]:
    """The next C-SSRS item as a Yes / No / Not sure question (published wording: validated_wording)."""
    item = cssrs.next_item(state.cssrs_answers)
    if item is None:
        return None
    content = cssrs.screener()
    return Question(
        id=CSSRS_QUESTION_PREFIX + item.id,
        section="crisis",
        text=item.text,
        kind="choice",
        options=_options(content.options[state.language], cssrs.ANSWERS, (_CSSRS_YES, _CSSRS_NO, ())),
        guidance=content.guidance[state.language],
        validated_wording=True,
        shared_yes_no_words=False,
    )


def cssrs_preface(state: CrisisState) -> Tuple[str, ...]:
    """Said before the first item: why we ask, and the published time frame."""
    if state.stage != CSSRS or state.cssrs_answers:
        return ()
    content = cssrs.screener()
    return (content.intro[state.language], content.stem)


def followup_question(state: CrisisState, known_phone: Optional[str] = None) -> Optional[Question]:
    """The crisis question to ask now, or None when no episode is open. `known_phone` is the number the channel
    knows (SMS), shown formatted in the call-back confirmation."""
    texts = question_texts(state.language)
    if state.check_pending:
        return Question(
            id=RISK_CHECK_QUESTION_ID,
            section="crisis",
            text=texts["risk_check"],
            kind="choice",
            options=_options(texts["risk_check_options"], ("yes", "no", "not_sure"), (_CSSRS_YES, _CSSRS_NO, ())),
            guidance=texts["risk_check_guidance"],
            shared_yes_no_words=False,
        )
    if not state.open:
        return None
    if state.stage == ASK_CONTINUE:
        return Question(
            id=CONTINUE_QUESTION_ID,
            section="crisis",
            text=texts["continue"],
            kind="choice",
            # Not a Yes/No question: its options are "continue" and "stop", so only these words choose them.
            # The broad Yes words ("i am", "i have") would resume the screening on "I am done".
            options=_options(
                texts["continue_options"],
                ("continue", "stop"),
                (
                    ("keep going", "continue", "go on", "yes", "y", "ok", "okay", "sure", "seguir", "si", "sí"),
                    ("stop", "stop for now", "no", "n", "not now", "later", "parar", "no quiero"),
                ),
            ),
            guidance=texts["continue_guidance"],
        )
    if state.stage == CSSRS:
        question = cssrs_question(state)
        if question is not None:
            return question
    if state.stage == ASK_CALLBACK:
        return _yes_no_question(
            CALLBACK_QUESTION_ID,
            texts["callback_offer"],
            texts["callback_offer_options"],
            texts["callback_offer_guidance"],
        )
    if state.stage == CALLBACK_KNOWN_PHONE and known_phone:
        return _yes_no_question(
            CALLBACK_KNOWN_PHONE_QUESTION_ID,
            texts["callback_known_phone"].replace("{known_phone}", known_phone),
            texts["callback_known_phone_options"],
            texts["callback_known_phone_guidance"],
        )
    if state.stage in (CALLBACK_PHONE, CALLBACK_KNOWN_PHONE):
        return Question(
            id=CALLBACK_PHONE_QUESTION_ID,
            section="crisis",
            text=texts["callback_phone"],
            kind="phone",  # the screening's own US phone parser (bot/screening/answers.py)
            guidance=texts["callback_phone_guidance"],
        )
    if state.stage == CHECK_IN:
        return Question(
            id=CHECK_IN_QUESTION_ID,
            section="crisis",
            text=texts["check_in"],
            kind="text",
            guidance=texts["check_in_guidance"],
        )
    return Question(
        id=SAFE_QUESTION_ID,
        section="crisis",
        text=texts["safe"],
        kind="choice",
        options=_options(texts["safe_options"], ("yes", "no", "not_sure"), (_SAFE, _NOT_SAFE, ())),
        guidance=texts["safe_guidance"],
        shared_yes_no_words=False,
    )


@dataclass(frozen=True)
class FollowupOutcome:
    """What an answer to a crisis question leads to; the action says `reply` and does the rest."""

    state: CrisisState
    reply: str = ""  # a follow-up kind: safe_now, unsafe_now, not_sure_now, resume, cssrs_high,
    # cssrs_positive, cssrs_negative, callback_declined, callback_send ("" = none)
    alert: Optional[str] = None  # a reason staff need a new alert now
    stopped: bool = False


def answer_followup(
    state: CrisisState, question_id: str, value: str, *, known_phone: Optional[str] = None
) -> FollowupOutcome:
    """Apply a parsed answer to a crisis question (the caller already checked the reply carries no risk)."""
    if question_id == SAFE_QUESTION_ID:
        if value == "yes":  # safe now (again): "keep going or stop?" may follow, the choice is theirs
            return FollowupOutcome(after_safe(replace(state, unsafe=False)), "safe_now")
        reason, kind = (REASON_NOT_SURE, "not_sure_now") if value == "not_sure" else (REASON_NOT_SAFE, "unsafe_now")
        # The reply tells them to call 911 now: staff see the same top severity.
        return FollowupOutcome(_escalated(raise_severity(state, SEVERITY_ORDER[0])), kind, alert=reason)
    if question_id == CONTINUE_QUESTION_ID:
        if value == "continue":
            return FollowupOutcome(replace(state, open=False, stage=None), "resume")
        return FollowupOutcome(replace(state, open=False, stage=None), stopped=True)
    if question_id.startswith(CSSRS_QUESTION_PREFIX):
        return _answer_cssrs(state, question_id[len(CSSRS_QUESTION_PREFIX) :], value)
    if question_id == CALLBACK_QUESTION_ID:
        if value == "yes":
            return FollowupOutcome(replace(state, stage=CALLBACK_KNOWN_PHONE if known_phone else CALLBACK_PHONE))
        return FollowupOutcome(after_callback(replace(state, callback=CALLBACK_DECLINED)), "callback_declined")
    if question_id == CALLBACK_KNOWN_PHONE_QUESTION_ID:
        if value == "yes" and known_phone:
            return FollowupOutcome(replace(state, callback_phone=known_phone), "callback_send", alert=REASON_CALLBACK)
        return FollowupOutcome(replace(state, stage=CALLBACK_PHONE))
    if question_id == CALLBACK_PHONE_QUESTION_ID:
        return FollowupOutcome(replace(state, callback_phone=value), "callback_send", alert=REASON_CALLBACK)
    return FollowupOutcome(state)


def callback_withdrawn(state: CrisisState) -> FollowupOutcome:
    """ "Never mind" at the phone question: no call, the kind "that's OK, 988 any time", then the next step."""
    return FollowupOutcome(after_callback(replace(state, callback=CALLBACK_DECLINED)), "callback_declined")


def callback_done(state: CrisisState) -> CrisisState:
    """The call-back request went out: on to the check-in or "keep going?"."""
    return after_callback(replace(state, callback=CALLBACK_SENT))


def _answer_cssrs(state: CrisisState, item_id: str, value: str) -> FollowupOutcome:
    answers = {**state.cssrs_answers, item_id: value}
    state = replace(state, cssrs_answers=answers)
    if not cssrs.is_complete(answers):
        return FollowupOutcome(state)
    summary = cssrs.result_summary(answers)
    state = raise_severity(replace(state, cssrs_result=summary), summary["severity"])
    if summary["result"] == "high":
        return FollowupOutcome(_escalated(state), "cssrs_high", alert=REASON_CSSRS_HIGH)
    if summary["result"] == "negative":
        return FollowupOutcome(after_safe(state), "cssrs_negative")
    return FollowupOutcome(after_safe(state), "cssrs_positive", alert=REASON_CSSRS_POSITIVE)


def check_in_reply(state: CrisisState, wants_to_resume: bool, wants_to_stop: bool) -> FollowupOutcome:
    """A reply to the check-in (it carried no risk): back to the questions only if they asked, stop if they
    said so; anything else asks "Are you safe right now?" again."""
    if wants_to_resume:
        return FollowupOutcome(replace(state, open=False, stage=None), "resume")
    if wants_to_stop:
        return FollowupOutcome(replace(state, open=False, stage=None), stopped=True)
    return FollowupOutcome(replace(state, stage=ASK_SAFE))


def misunderstanding(state: CrisisState) -> FollowupOutcome:
    """ "I'm not suicidal, I just have PTSD": answered, staff told; the flag and the severity stay. Next: the
    C-SSRS only when PHQ-9 item 9 opened the episode (an explicit answer above "Not at all" is a positive screen
    whatever was said after), else the usual "keep going or stop?" (a check-in after "not safe")."""
    if PHQ9_ITEM9_CATEGORY in state.categories and state.cssrs_result is None:
        next_state = replace(state, stage=CSSRS)
    else:
        next_state = after_callback(state)
    return FollowupOutcome(next_state, "misunderstanding", alert=REASON_MISUNDERSTANDING)


def resume_text(language: str) -> str:
    return question_texts(language)["resume"]
