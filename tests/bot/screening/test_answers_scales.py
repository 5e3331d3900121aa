"""Realistic replies to the scale questions, each with the option it must record or ASK (not an answer: the
visitor is asked which option they meant). A paraphrase must never move a score (issue 14).

Replies are typed on the website, where the buttons show no numbers (numbers_shown=False).
"""

from __future__ import annotations

import pytest

from bot.screening.answers import parse_answer
from bot.screening.flow import question_by_id

ASK = "ask"

# GAD-7 / PHQ-9: Not at all (0), Several days (1), More than half the days (2), Nearly every day (3).
FREQUENCY = [
    # the options themselves
    ("Not at all", "not_at_all"),
    ("not at all", "not_at_all"),
    ("Several days", "several_days"),
    ("More than half the days", "more_than_half"),
    ("Nearly every day", "nearly_every_day"),
    ("nearly every day.", "nearly_every_day"),
    # clear paraphrases
    ("never", "not_at_all"),
    ("Never.", "not_at_all"),
    ("no", "not_at_all"),
    ("nope", "not_at_all"),
    ("none", "not_at_all"),
    ("not once", "not_at_all"),
    ("no, not at all", "not_at_all"),
    ("I'd say never", "not_at_all"),
    ("not a single day", "not_at_all"),
    ("sometimes", "several_days"),
    ("some days", "several_days"),
    ("a few days", "several_days"),
    ("a couple of days", "several_days"),
    ("occasionally", "several_days"),
    ("once in a while", "several_days"),
    ("every now and then", "several_days"),
    ("every so often", "several_days"),  # once scored "often" = More than half the days
    ("from time to time", "several_days"),
    ("once or twice", "several_days"),
    ("I'd say sometimes", "several_days"),
    ("often", "more_than_half"),
    ("most days", "more_than_half"),
    ("most of the days", "more_than_half"),
    ("more than half", "more_than_half"),
    ("usually", "more_than_half"),
    ("more often than not", "more_than_half"),
    ("every day", "nearly_every_day"),
    ("everyday", "nearly_every_day"),
    ("every single day", "nearly_every_day"),
    ("always", "nearly_every_day"),
    ("all the time", "nearly_every_day"),
    ("constantly", "nearly_every_day"),
    ("almost every day", "nearly_every_day"),
    ("pretty much every day honestly", "nearly_every_day"),
    ("Every day, honestly", "nearly_every_day"),
    ("daily", "nearly_every_day"),
    # between two options, qualified, negated, hedged: ask
    ("rarely", ASK),  # once scored Not at all
    ("hardly ever", ASK),  # once scored Not at all
    ("almost never", ASK),
    ("seldom", ASK),
    ("once", ASK),
    ("not really", ASK),
    ("not often", ASK),
    ("not every day", ASK),
    ("not always", ASK),
    ("not that often", ASK),
    ("a lot", ASK),
    ("a lot less than before", ASK),
    ("a bit", ASK),
    ("a little", ASK),
    ("half the days", ASK),
    ("about half the time", ASK),
    ("very often", ASK),
    ("less often than before", ASK),
    ("sometimes but often", ASK),
    ("several days or more", ASK),
    ("maybe several days", ASK),
    ("several days I guess", ASK),
    ("every day last week but not this week", ASK),
    ("it depends", ASK),
    ("idk", ASK),
    ("banana", ASK),
    # numbers: the buttons show none
    ("0", ASK),
    ("1", ASK),
    ("2", ASK),
    ("3", ASK),  # once recorded "More than half the days", though PHQ-9 scores Nearly every day 3
    ("4", ASK),
    ("three", ASK),
    ("zero", ASK),
    ("3 days", ASK),
    ("3 - several days", ASK),  # the number and the words disagree
    ("1 not at all", "not_at_all"),  # they agree (its position)
    ("0 - not at all", "not_at_all"),  # they agree (its score)
]

# OCI-4 (OCI-R distress scale): Not at all (0), A little (1), Moderately (2), A lot (3), Extremely (4).
DISTRESS = [
    ("Not at all", "not_at_all"),
    ("A little", "a_little"),
    ("Moderately", "moderately"),
    ("A lot", "a_lot"),
    ("Extremely", "extremely"),
    ("extremely.", "extremely"),
    ("no", "not_at_all"),
    ("nope", "not_at_all"),
    ("none", "not_at_all"),
    ("not bothered at all", "not_at_all"),
    ("no distress", "not_at_all"),
    ("a bit", "a_little"),
    ("a little bit", "a_little"),
    ("a tiny bit", "a_little"),
    ("slightly", "a_little"),
    ("mildly", "a_little"),
    ("I'd say a little", "a_little"),
    ("moderate", "moderately"),
    ("medium", "moderately"),
    ("a moderate amount", "moderately"),
    ("lots", "a_lot"),
    ("alot", "a_lot"),
    ("very much", "a_lot"),
    ("a great deal", "a_lot"),
    ("it has bothered me a lot", ASK),  # "bothered" is not a filler word: asked, never guessed
    ("bothered a lot", "a_lot"),
    ("extreme", "extremely"),
    ("honestly extremely", "extremely"),
    # frequency words: this scale asks how much, not how often
    ("sometimes", ASK),
    ("often", ASK),
    ("always", ASK),
    ("all the time", ASK),
    ("constantly", ASK),
    ("never", ASK),
    ("rarely", ASK),
    ("every day", ASK),
    ("several days", ASK),
    ("most days", ASK),
    ("daily", ASK),
    ("occasionally", ASK),
    # between two options, qualified, negated, hedged
    ("somewhat", ASK),
    ("some", ASK),
    ("quite a bit", ASK),
    ("very", ASK),
    ("much", ASK),
    ("not much", ASK),
    ("not a lot", ASK),
    ("not really", ASK),
    ("a little more than moderately", ASK),
    ("moderately to a lot", ASK),
    ("severely", ASK),
    ("a lot less now", ASK),
    ("maybe a little", ASK),
    ("kind of", ASK),
    ("not sure", ASK),
    ("hmm", ASK),
    ("it used to", ASK),
    # numbers: the buttons show none
    ("0", ASK),
    ("1", ASK),
    ("2", ASK),
    ("3", ASK),
    ("4", ASK),  # once recorded "A lot" (4th option) though the OCI-R scores Extremely 4
    ("5", ASK),
    ("four", ASK),
    ("4 - extremely", "extremely"),  # agrees with its score
    ("2 a little", "a_little"),  # agrees with its position
    ("1 - extremely", ASK),
]

# PC-PTSD-5 items: Yes (1) / No (0).
YES_NO_ITEM = [
    ("Yes", "yes"),
    ("yes", "yes"),
    ("yeah", "yes"),
    ("yep", "yes"),
    ("Yes I have", "yes"),
    ("of course", "yes"),
    ("No", "no"),
    ("no", "no"),
    ("nope", "no"),
    ("not really", ASK),  # a hedged No; once recorded a firm No
    ("no, I haven't", "no"),
    ("never", "no"),
    ("maybe", ASK),
    ("idk", ASK),
    ("yes and no", ASK),
    ("1", ASK),
    ("2", ASK),
    ("sometimes", ASK),
]


def _check(question_id: str, text: str, expected: str) -> None:
    parsed = parse_answer(question_by_id(question_id), text)
    if expected == ASK:
        assert not parsed.ok, f"{text!r} was recorded as {parsed.value!r}"
        assert parsed.reason in ("ambiguous", "unrecognised")
        assert parsed.error
    else:
        assert parsed.ok and parsed.value == expected, (text, parsed.value, parsed.error)


@pytest.mark.parametrize("question_id", ["gad7_1", "phq9_4"])
@pytest.mark.parametrize("text,expected", FREQUENCY)
def test_frequency_scale_replies(question_id, text, expected):
    _check(question_id, text, expected)


@pytest.mark.parametrize("text,expected", DISTRESS)
def test_oci4_distress_scale_replies(text, expected):
    _check("oci4_2", text, expected)


@pytest.mark.parametrize("text,expected", YES_NO_ITEM)
def test_pcptsd5_item_replies(text, expected):
    _check("pcptsd5_3", text, expected)


@pytest.mark.parametrize("question_id", ["ci_mania", "pcptsd5_trauma", "tx_therapy"])
def test_a_hedged_no_is_not_a_firm_no(question_id):
    assert not parse_answer(question_by_id(question_id), "not really").ok


def test_each_scale_table_has_at_least_60_replies():
    assert len(FREQUENCY) >= 60 and len(DISTRESS) >= 60


@pytest.mark.parametrize("question_id", ["gad7_1", "oci4_1"])
def test_every_scale_re_ask_lists_the_options_with_numbers(question_id):
    # Whatever made the reply unclear, the re-ask numbers the options, so the next reply may be a number.
    question = question_by_id(question_id)
    for text in ("3", "rarely", "almost never", "sometimes but often"):
        parsed = parse_answer(question, text)
        assert parsed.numbered and "Reply 1 for Not at all, 2 for " in parsed.error, (text, parsed.error)


# PHQ-9 item 9 (the crisis pathway decides what follows): only a clear "Not at all" is an ok not_at_all; every
# unclear reply is not ok, with a reason and the options it could have meant, never a guessed value.
@pytest.mark.parametrize(
    "text,candidates",
    [
        ("hardly ever", ()),
        ("not really", ()),
        ("rarely", ()),
        ("almost never", ("not_at_all",)),
        ("0", ("not_at_all",)),
        ("1", ("not_at_all", "several_days")),
        ("not often", ("more_than_half",)),
        ("never really", ("not_at_all",)),
    ],
)
def test_phq9_item9_tells_a_clear_not_at_all_from_an_unclear_reply(text, candidates):
    question = question_by_id("phq9_9")
    parsed = parse_answer(question, text)
    assert not parsed.ok and parsed.reason in ("ambiguous", "unrecognised") and parsed.raw == text
    assert parsed.candidates == candidates
    for clear in ("Not at all", "never", "no", "not once"):
        assert parse_answer(question, clear).value == "not_at_all"


def test_the_re_asks_read_at_grade_8_or_below():
    from bot.readability import flesch_kincaid_grade
    from bot.screening.content import content

    for question in content().questions.values():
        if question.kind != "choice" or question.options[0].title[:1].isdigit():
            continue
        for text in ("3", "0", "sometimes but often", "rarely"):
            parsed = parse_answer(question, text, numbers_shown=text == "0")
            if parsed.numbered:
                assert flesch_kincaid_grade(parsed.error) <= 8.0, (question.id, parsed.error)
