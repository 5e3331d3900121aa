"""Turns one typed reply into a validated answer for the question that asked it.

Every reply goes through parse_answer(): button titles, typed titles in any case and common paraphrases are
accepted (Yes / No / Not sure words from data/clinic/answer_words.yml, for every option with one of those
values); anything else gets a guidance string naming the options. It never raises on a reply.

Scores mean what the visitor meant: a reply that does not name exactly one option is not an answer but
AMBIGUOUS, and the visitor is asked which option they meant, with the options numbered. That covers a bare
number where the options were shown without numbers ("3" on PHQ-9 could be the third option or the one
scored 3), two options, a negated or qualified option word ("not often", "almost never", "not every day"
on a scale), and a hedge ("maybe") where the question offers no "Not sure".
A reply starting with "/" is never an answer: that is how a typed Rasa intent payload looks, and the lead is
built only from answers validated here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Dict, List, Optional, Sequence, Tuple

from bot.screening import checklist
from bot.screening.content import AnswerWords, answer_words
from bot.screening.model import AMBIGUOUS, INVALID, UNRECOGNISED, Option, ParsedAnswer, Question

# Hard ceiling for any reply, whatever the question says (choice replies are short).
MAX_REPLY_CHARS = 500
CHOICE_REPLY_CHARS = 200

_NEGATORS = {
    "not",
    "no",
    "never",
    "don't",
    "dont",
    "didn't",
    "didnt",
    "isn't",
    "isnt",
    "aren't",
    "wasn't",
    "haven't",
    "havent",
    "hasn't",
    "without",
    "hardly",
    "nor",
    "doesn't",
    "doesnt",
}
_EMOJI_WORDS = {"\U0001f44d": "yes", "\u2705": "yes", "\U0001f44e": "no", "\u274c": "no"}
_SKIP_WORDS = {
    "skip",
    "no",
    "none",
    "n/a",
    "na",
    "no email",
    "no thanks",
    "no thank you",
    "nope",
    "pass",
    "i don't have one",
    "i dont have one",
    "don't have one",
    "dont have one",
    "prefer not",
    "rather not",
    "i'd rather not",
    "no email address",
    "i don't have email",
    "i don't have an email",
}
_NONE_WORDS = {
    "none",
    "no",
    "nothing",
    "n/a",
    "na",
    "no meds",
    "no medicines",
    "no medications",
    "no medication",
    "not taking any",
    "i don't take any",
    "i dont take any",
    "nope",
    "nil",
    "zero",
    "none at all",
}
_INDEX = re.compile(r"^(?:option|number|choice|no\.|#)?\s*(\d{1,2})\s*[.)]?$")
_DIGITS = re.compile(r"-?\d+(?:[.,]\d+)?")
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_PHONE_CHARS = re.compile(r"^[\d\s().+\-]+$")

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}


# --- helpers ---------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower-case, Unicode-normalised, single-spaced text without surrounding punctuation."""
    text = unicodedata.normalize("NFKC", text)
    for emoji, word in _EMOJI_WORDS.items():
        text = text.replace(emoji, f" {word} ")
    text = text.replace("\u2019", "'").replace("\u2018", "'").casefold()
    text = " ".join(text.split())
    return text.strip(" .,!?;:\"'()[]{}*_~")


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") for ch in text)


def _fail(question: Question, prefix: str = "", reason: str = UNRECOGNISED, raw: str = "") -> ParsedAnswer:
    guidance = question.guidance or "Please try again."
    return ParsedAnswer(ok=False, error=f"{prefix} {guidance}".strip(), reason=reason, raw=raw)


def _word_pattern(phrase: str) -> re.Pattern:
    return re.compile(r"(?<![\w'])" + re.escape(phrase) + r"(?![\w'])")


def _option_keys(question: Question, option: Option, words: AnswerWords) -> List[str]:
    """What a reply may say for this option: its title, value and synonyms, and for a Yes / No / Not sure
    option the words of data/clinic/answer_words.yml (Not sure words only, where the question opts out)."""
    keys = [option.title.casefold(), option.value.replace("_", " ").casefold()]
    keys.extend(option.synonyms)
    if question.shared_yes_no_words or option.value == "not_sure":
        keys.extend(words.for_value(option.value))
    return [normalise(k) for k in keys if normalise(k)]


def _exact_lookup(question: Question, words: AnswerWords) -> Dict[str, Option]:
    """Every key -> option; a key claimed by two options is ambiguous and dropped."""
    lookup: Dict[str, Option] = {}
    clashes = set()
    for option in question.options:
        for key in _option_keys(question, option, words):
            if key in lookup and lookup[key] is not option:
                clashes.add(key)
            lookup[key] = option
    for key in clashes:
        del lookup[key]
    return lookup


def titles_are_numbers(titles: Sequence[str]) -> bool:
    """Options that are numbers themselves ("0", "1", "2 or more"): a typed number is the answer, not the
    option's position (so channels without buttons, like SMS, list them without numbering)."""
    return any(title[:1].isdigit() for title in titles)


def _has_numeric_titles(question: Question) -> bool:
    return titles_are_numbers([opt.title for opt in question.options])


def words_to_int(text: str) -> Optional[int]:
    """The single number written in words in `text` ("thirty-four", "a hundred and one"), else None."""
    tokens = re.findall(r"[a-z]+", text.replace("-", " "))
    runs: List[int] = []
    current: Optional[int] = None
    for index, word in enumerate(tokens):
        nxt = tokens[index + 1] if index + 1 < len(tokens) else ""
        if word in _UNITS or word in _TENS:
            current = (current or 0) + _UNITS.get(word, _TENS.get(word, 0))
        elif word == "hundred":
            current = max(current or 1, 1) * 100
        elif word == "a" and nxt == "hundred":
            current = current or 0
        elif word == "and" and current and current % 100 == 0 and (nxt in _UNITS or nxt in _TENS):
            continue
        elif current is not None:
            runs.append(current)
            current = None
    if current is not None:
        runs.append(current)
    return runs[0] if len(runs) == 1 else None


def _single_number(text: str) -> Tuple[Optional[int], str]:
    """(number, problem). Problem is "" when exactly one whole number is found."""
    found = _DIGITS.findall(text)
    if len(found) > 1:
        return None, "several"
    if found:
        token = found[0]
        if "." in token or "," in token:
            whole, _, frac = token.replace(",", ".").partition(".")
            if frac.strip("0"):
                return None, "fraction"
            token = whole
        return int(token), ""
    value = words_to_int(text)
    return (value, "") if value is not None else (None, "none")


# --- choice ----------------------------------------------------------------------------------------------

# Words a reply to a scale question (options with scores, like "Not at all" ... "Nearly every day") may hold
# around an option's words without changing what it says: "I'd say several days", "pretty much every day
# honestly". Any other word qualifies the option ("almost never", "not every day", "a lot less than before") and
# the visitor is asked which option they meant: a paraphrase must never move a score. (The longest synonym wins,
# so "every so often", a Several days synonym, is never read as "often".)
_SCALE_FILLER = frozenset(
    "i i'd id i'm im i've ive would say it it's its was been has have had um umm uh uhm hmm well honestly "
    "just probably pretty much definitely the answer is my ok okay so yeah like that this for me over "
    "in of past last two 2 weeks week days lately recently ever".split()
)
_LEADING_NUMBER = re.compile(r"^(?:option |number |choice |#)?(\d{1,2})(?:\s*[.):=-]\s*|\s+)(?=\D)")
_TOKENS = re.compile(r"[\w']+")
_CRISIS_SECTION = "crisis"  # its guidance is in the visitor's language and carries 911: re-asks keep it as it is


def _is_scale(question: Question) -> bool:
    """Graded options (every one scored, three or more): a reply must name exactly one, unqualified."""
    return len(question.options) >= 3 and all(opt.score is not None for opt in question.options)


def numbered_choices(question: Question) -> str:
    """ "1 for Not at all, 2 for Several days, 3 for More than half the days, or 4 for Nearly every day"."""
    listed = [f"{i} for {opt.title}" for i, opt in enumerate(question.options, start=1)]
    if len(listed) <= 2:
        return " or ".join(listed)
    return ", ".join(listed[:-1]) + f", or {listed[-1]}"


def _ambiguous(
    question: Question, raw: str, candidates: Sequence[Option], lead: str = "Which one did you mean?"
) -> ParsedAnswer:
    """Not clearly one option: ask which one, listing the options with their numbers (so that a number typed
    in reply to this message means that numbered option)."""
    values = tuple(dict.fromkeys(opt.value for opt in candidates))
    if question.section == _CRISIS_SECTION:
        failed = _fail(question)
        return replace(failed, reason=AMBIGUOUS, raw=raw, candidates=values)
    return ParsedAnswer(
        ok=False,
        error=f"{lead} Reply {numbered_choices(question)}.",
        reason=AMBIGUOUS,
        numbered=True,
        candidates=values,
        raw=raw,
    )


def _bare_number(norm: str) -> Optional[int]:
    """The number a reply consists of ("3", "#3", "option 3", "three"), else None."""
    index = _INDEX.match(norm)
    if index:
        return int(index.group(1))
    tokens = norm.replace("-", " ").split()
    if tokens and tokens[0] in ("option", "number", "choice"):
        tokens = tokens[1:]
    if tokens and all(t in _UNITS or t in _TENS for t in tokens):
        return words_to_int(" ".join(tokens))
    return None


def _number_readings(question: Question, number: int) -> List[Option]:
    """What a bare number could mean where no numbering was shown: the option at that position, or the
    option scored that number (PHQ-9 and GAD-7 are scored 0-3, so "3" may mean either of two options)."""
    readings = []
    if 1 <= number <= len(question.options):
        readings.append(question.options[number - 1])
    readings.extend(opt for opt in question.options if opt.score == number and opt not in readings)
    return readings


def _match_phrases(
    question: Question, norm: str, words: AnswerWords
) -> Tuple[List[Option], List[Tuple[int, int]], bool]:
    """Options whose phrases appear in the reply, longest phrase first; the spans they cover; whether a match
    was negated ("not often", "of course not")."""
    hits = []
    for option in question.options:
        for key in set(_option_keys(question, option, words)):
            for found in _word_pattern(key).finditer(norm):
                hits.append((found.end() - found.start(), found.start(), found.end(), option, key))
    hits.sort(key=lambda h: (-h[0], h[1]))
    taken: List[Tuple[int, int]] = []
    chosen: List[Option] = []
    negated = False
    for _, start, end, option, key in hits:
        if any(start < t_end and end > t_start for t_start, t_end in taken):
            continue
        taken.append((start, end))
        before = norm[:start].split()[-2:]
        after = norm[end:].split()[:1]
        trailing_not = after == ["not"] and option.value != "no"  # "of course not", "definitely not"
        if key.split()[0] not in _NEGATORS and (any(word in _NEGATORS for word in before) or trailing_not):
            negated = True
        if option not in chosen:
            chosen.append(option)
    return chosen, taken, negated


def _leftover_words(norm: str, spans: Sequence[Tuple[int, int]]) -> List[str]:
    kept, position = [], 0
    for start, end in sorted(spans):
        kept.append(norm[position:start])
        position = end
    kept.append(norm[position:])
    return _TOKENS.findall(" ".join(kept))


def _chosen(option: Option) -> ParsedAnswer:
    return ParsedAnswer(ok=True, value=option.value, display=option.title)


def _by_numeric_title(question: Question, norm: str) -> Optional[ParsedAnswer]:
    """Options that are numbers themselves ("0", "1", "2 or more"): a typed number is the answer."""
    number, problem = _single_number(norm)
    if problem or number is None or number < 0:
        return None
    scored = [opt for opt in question.options if opt.score is not None and opt.score <= number]
    return _chosen(max(scored, key=lambda opt: opt.score or 0)) if scored else None


def _by_position(question: Question, raw: str, number: int, numbers_shown: bool) -> ParsedAnswer:
    """A bare number: the option numbered so, where the numbers were shown; otherwise asked about."""
    if not numbers_shown:
        # The options were shown without numbers: "3" could be the third option or the one scored 3.
        return _ambiguous(question, raw, _number_readings(question, number))
    if 1 <= number <= len(question.options):
        return _chosen(question.options[number - 1])
    lead = f"There is no option {number}. Which one did you mean?"
    return _ambiguous(question, raw, _number_readings(question, number), lead)


def _by_words(question: Question, raw: str, norm: str, numbers_shown: bool, words: AnswerWords) -> ParsedAnswer:
    """The one option a reply's words name, or the reason they name none for sure."""
    lead = None if _has_numeric_titles(question) else _LEADING_NUMBER.match(norm)
    text = norm[lead.end() :] if lead else norm
    options, spans, negated = _match_phrases(question, text, words)
    if len(options) > 1:
        return _ambiguous(
            question, raw, options, "Please pick just one. If more than one fits, pick the one that fits best."
        )
    if not options:
        if lead:  # "3 days": a number, with nothing that names an option
            return _ambiguous(question, raw, _number_readings(question, int(lead.group(1))))
        if _is_scale(question) and question.section != _CRISIS_SECTION:
            # "rarely", "hardly ever": between two options on purpose (instruments.yml), so every option is
            # offered again with its number.
            return replace(_ambiguous(question, raw, (), "Please choose the one that fits best."), reason=UNRECOGNISED)
        return _fail(question, raw=raw)
    chosen = options[0]
    if negated:  # "not often", "of course not"
        return _ambiguous(question, raw, options)
    if _is_scale(question) and any(word not in _SCALE_FILLER for word in _leftover_words(text, spans)):
        return _ambiguous(question, raw, options)  # "almost never", "not that often", "a lot less than before"
    if lead:
        # "3 - several days": the number must agree with the words, by the numbering shown, else by either
        # reading of an unnumbered list (its position or its score).
        number = int(lead.group(1))
        position = question.options.index(chosen) + 1
        agrees = number == position if numbers_shown else number in (position, chosen.score)
        if not agrees:
            return _ambiguous(question, raw, [chosen, *_number_readings(question, number)])
    if chosen.value != "not_sure":
        # "maybe yes" / "no idea" must not become a firm Yes or No.
        offers_not_sure = any(opt.value == "not_sure" for opt in question.options)
        if not offers_not_sure and any(_word_pattern(p).search(norm) for p in words.hedges):
            return _ambiguous(question, raw, options)
    return _chosen(chosen)


def _choice(question: Question, raw: str, numbers_shown: bool) -> ParsedAnswer:
    norm = normalise(raw)
    if not norm:
        return _fail(question, raw=raw)
    words = answer_words()
    exact = _exact_lookup(question, words).get(norm)
    if exact is not None:
        return _chosen(exact)
    if _has_numeric_titles(question):
        by_value = _by_numeric_title(question, norm)
        if by_value is not None:
            return by_value
    else:
        number = _bare_number(norm)
        if number is not None:
            return _by_position(question, raw, number, numbers_shown)
    return _by_words(question, raw, norm, numbers_shown, words)


# --- other kinds -----------------------------------------------------------------------------------------


# Words a reply to a number question (age) may hold around its number: "I'm 34", "34 years old", "just turned
# 40". Any other word means the number may be about something else ("I've tried 3 antidepressants" is not an
# age of 3), so the question is asked again. "almost 18" or "turning 18" are left out on purpose: not yet 18.
_NUMBER_FILLER = frozenset(
    "i i'm im am i am my age is it's its years year yrs yr old y/o yo just turned and a half".split()
)
_NUMBER_TOKEN = re.compile(r"-?\d+(?:[.,]\d+)?|[a-z]+(?:['/][a-z]+)?")


def _only_number_words(text: str) -> bool:
    """True when every word of the reply is a number (digits or number words) or number filler."""
    for word in _NUMBER_TOKEN.findall(text.replace("-", " ")):
        if word[0].isdigit() or word in _UNITS or word in _TENS or word == "hundred":
            continue
        if word not in _NUMBER_FILLER:
            return False
    return True


def _number(question: Question, raw: str) -> ParsedAnswer:
    text = normalise(raw)
    value, problem = _single_number(text)
    if problem == "" and not _only_number_words(text):
        return _fail(question, raw=raw)
    if problem == "fraction":
        return _fail(question, "Please use whole years.", AMBIGUOUS, raw)
    if problem == "several":
        return _fail(question, "Please type just one number.", AMBIGUOUS, raw)
    if value is None:
        return _fail(question, raw=raw)
    low = question.min_value if question.min_value is not None else 0
    high = question.max_value
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"of at least {low}"
        return _fail(question, f"Please type a number {span}.", INVALID, raw)
    return ParsedAnswer(ok=True, value=value, display=str(value))


def _text(question: Question, raw: str) -> ParsedAnswer:
    text = unicodedata.normalize("NFC", raw).replace("\t", " ").replace("\r", " ").replace("\n", " ")
    if _has_control_chars(text):
        return _fail(question, "That has characters I can't use.", INVALID)
    text = " ".join(text.split())
    if not any(ch.isalnum() for ch in text):
        return _fail(question)
    if len(text) > question.max_length:
        return _fail(question, "That is too long.", INVALID)
    if question.id == "tx_current_meds" and normalise(text) in _NONE_WORDS:
        return ParsedAnswer(ok=True, value="none", display="None")
    return ParsedAnswer(ok=True, value=text, display=text)


def normalise_us_phone(text: str) -> Optional[str]:
    """A US phone number in E.164 ("+18185550134"), or None if `text` is not one."""
    if not isinstance(text, str):
        return None
    text = unicodedata.normalize("NFKC", text).strip()
    if not text or not _PHONE_CHARS.match(text) or text.count("+") > 1 or "+" in text[1:]:
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") and not digits.startswith("1"):
        return None  # another country's code
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01" or digits[3] in "01":
        return None  # NANP: area code and exchange never start with 0 or 1
    return "+1" + digits


def format_us_phone(e164: str) -> str:
    """ "+18185550134" -> "(818) 555-0134"."""
    digits = e164[2:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def _phone(question: Question, raw: str) -> ParsedAnswer:
    e164 = normalise_us_phone(raw)
    if e164 is None:
        return _fail(question)
    return ParsedAnswer(ok=True, value=e164, display=format_us_phone(e164))


def normalise_email(text: str) -> Optional[str]:
    """A checked email address (domain lower-cased), or None if `text` is not one."""
    if not isinstance(text, str):
        return None
    candidate = unicodedata.normalize("NFKC", text).strip().strip(".,;:!?<>\"'()")
    if candidate.lower().startswith("mailto:"):
        candidate = candidate[7:]
    if len(candidate) > 254 or not _EMAIL.match(candidate):
        return None
    local, _, domain = candidate.rpartition("@")
    if len(local) > 64:
        return None
    return f"{local}@{domain.lower()}"


def _email(question: Question, raw: str) -> ParsedAnswer:
    norm = normalise(raw)
    if norm in _SKIP_WORDS:
        return ParsedAnswer(ok=True, value=None, display="Skipped")
    tokens = [t for t in raw.split() if "@" in t]
    email = normalise_email(tokens[0]) if len(tokens) == 1 else None
    if email is None:
        return _fail(question)
    return ParsedAnswer(ok=True, value=email, display=email)


def _checklist(question: Question, raw: str) -> ParsedAnswer:
    return checklist.parse_checklist(question, raw, answer_words())


_PARSERS = {"number": _number, "text": _text, "phone": _phone, "email": _email, "checklist": _checklist}


def parse_answer(question: Question, text: str, *, numbers_shown: bool = False) -> ParsedAnswer:
    """Validate one reply to `question`. Never raises on a reply: unusable replies come back with ok=False,
    guidance and a reason (a broken answer_words.yml raises ContentError rather than refuse every reply).

    `numbers_shown`: the message the visitor replied to listed this question's options with numbers (an SMS
    list "Reply 1 for ...", or a numbered re-ask, ParsedAnswer.numbered). Only then does a bare number pick
    an option by its position; otherwise the visitor is asked which option they meant. Options that are
    numbers themselves ("0", "1", "2 or more") and number questions (age) take a number either way.
    """
    answer_words()  # read and checked outside the try below, so a broken word list fails loudly
    try:
        if not isinstance(text, str):
            return _fail(question, reason=INVALID)
        stripped = text.strip()
        if not stripped:
            return _fail(question)
        if stripped.startswith("/") or unicodedata.normalize("NFKC", stripped).startswith("/"):
            # A typed intent payload ("/affirm", "/inform{...}") is never an answer.
            return _fail(question, reason=INVALID)
        limit = min(MAX_REPLY_CHARS, CHOICE_REPLY_CHARS if question.kind == "choice" else question.max_length)
        if len(stripped) > limit:
            return _fail(question, "That is too long for this question.", INVALID)
        if question.kind == "choice":
            return _choice(question, stripped, numbers_shown)
        parser = _PARSERS.get(question.kind)
        if parser is None:
            return _fail(question, reason=INVALID)
        return parser(question, stripped)
    except Exception:  # noqa: BLE001 - a parser bug must never crash the conversation
        return _fail(question, reason=INVALID)


# --- checking stored values (defence in depth: answers may come back from a Rasa slot) -------------------


def is_valid_value(question: Question, value: object) -> bool:
    """True if `value` is something parse_answer() could have produced for `question`."""
    kind = question.kind
    if kind == "choice":
        return isinstance(value, str) and question.option(value) is not None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            return False
        low = question.min_value if question.min_value is not None else 0
        return low <= int(value) and (question.max_value is None or int(value) <= question.max_value)
    if kind == "text":
        return (
            isinstance(value, str)
            and 0 < len(value) <= question.max_length
            and not value.startswith("/")
            and not _has_control_chars(value)
        )
    if kind == "phone":
        return isinstance(value, str) and normalise_us_phone(value) == value
    if kind == "email":
        return value is None or (isinstance(value, str) and normalise_email(value) == value)
    if kind == "checklist":
        return checklist.is_valid(question, value)
    return False


def display_value(question: Question, value: object) -> str:
    """The plain text shown for a stored value (the option title, the number, the text)."""
    if question.kind == "choice" and isinstance(value, str):
        option = question.option(value)
        return option.title if option else str(value)
    if question.kind == "phone" and isinstance(value, str) and normalise_us_phone(value) == value:
        return format_us_phone(value)
    if question.kind == "email" and value is None:
        return "Skipped"
    if question.kind == "checklist":
        return checklist.display(question, value)
    if question.kind == "text" and value == "none" and question.id == "tx_current_meds":
        return "None"
    if question.kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value))
    return "" if value is None else str(value)
