from __future__ import annotations

import pytest

from bot.screening.answers import (
    display_value,
    is_valid_value,
    normalise_email,
    normalise_us_phone,
    parse_answer,
    words_to_int,
)
from bot.screening.flow import question_by_id

GAD1 = "gad7_1"
YES_NO = "tx_therapy"
YNS = "ci_mania"


def ok(question_id: str, text: str):
    parsed = parse_answer(question_by_id(question_id), text)
    assert parsed.ok, (text, parsed.error)
    return parsed.value


def rejected(question_id: str, text) -> str:
    parsed = parse_answer(question_by_id(question_id), text)
    assert not parsed.ok, (text, parsed.value)
    assert parsed.error  # always guidance
    assert parsed.value is None
    return parsed.error


# --- multiple choice: titles, case, numbers, paraphrases -------------------------------------------------


@pytest.mark.parametrize(
    "text,value",
    [
        ("Not at all", "not_at_all"),
        ("Several days", "several_days"),
        ("More than half the days", "more_than_half"),
        ("Nearly every day", "nearly_every_day"),
        ("NEARLY EVERY DAY", "nearly_every_day"),
        ("  several days. ", "several_days"),
        ("never", "not_at_all"),
        ("nope", "not_at_all"),
        ("sometimes", "several_days"),
        ("often", "more_than_half"),
        ("most days", "more_than_half"),
        ("every day", "nearly_every_day"),
        ("always", "nearly_every_day"),
        ("Every day, honestly", "nearly_every_day"),
        ("I'd say sometimes", "several_days"),
        ("\uff2e\uff45\uff56\uff45\uff52", "not_at_all"),  # full-width
    ],
)
def test_frequency_item_forms(text, value):
    assert ok(GAD1, text) == value


@pytest.mark.parametrize(
    "text,value",
    [
        ("1", "not_at_all"),
        ("2", "several_days"),
        ("3", "more_than_half"),
        ("4", "nearly_every_day"),
        ("option 2", "several_days"),
        ("#4", "nearly_every_day"),
        ("3.", "more_than_half"),
        ("three", "more_than_half"),
    ],
)
def test_a_number_picks_the_numbered_option_where_the_numbers_were_shown(text, value):
    # SMS lists "Reply 1 for Not at all, 2 for ..."; so does the re-ask after an unclear reply.
    assert parse_answer(question_by_id(GAD1), text, numbers_shown=True).value == value


@pytest.mark.parametrize(
    "text,meanings",
    [
        ("3", {"more_than_half", "nearly_every_day"}),  # the third option, or the one scored 3
        ("1", {"not_at_all", "several_days"}),
        ("0", {"not_at_all"}),  # scored 0, but no option is numbered 0: still asked
        ("4", {"nearly_every_day"}),
        ("three", {"more_than_half", "nearly_every_day"}),
        ("zero", {"not_at_all"}),
        ("option 2", {"several_days", "more_than_half"}),
        ("#4", {"nearly_every_day"}),
    ],
)
def test_a_bare_number_where_no_numbers_were_shown_is_asked_about(text, meanings):
    parsed = parse_answer(question_by_id(GAD1), text)
    assert not parsed.ok and parsed.reason == "ambiguous" and parsed.numbered
    assert set(parsed.candidates) == meanings
    assert parsed.raw == text
    assert parsed.error.startswith("Which one did you mean?")
    assert "1 for Not at all, 2 for Several days, 3 for More than half the days, or 4 for Nearly every day" in (
        parsed.error
    )


def test_on_oci4_a_4_is_asked_about_not_recorded_as_a_lot():
    parsed = parse_answer(question_by_id("oci4_1"), "4")
    assert not parsed.ok and set(parsed.candidates) == {"a_lot", "extremely"}
    assert "5 for Extremely" in parsed.error


@pytest.mark.parametrize(
    "text", ["5", "99", "not often", "not every day", "sometimes but often", "banana", "?", "...", "🙂"]
)
def test_frequency_item_rejects_unusable(text):
    error = rejected(GAD1, text)
    assert "Not at all" in error and "Nearly every day" in error  # guidance names the options


def test_out_of_range_number_says_so():
    parsed = parse_answer(question_by_id(GAD1), "5", numbers_shown=True)
    assert not parsed.ok and "no option 5" in parsed.error.lower()


@pytest.mark.parametrize(
    "text,value",
    [
        ("Yes", "yes"),
        ("yes", "yes"),
        ("y", "yes"),
        ("Y", "yes"),
        ("sure", "yes"),
        ("yeah", "yes"),
        ("yep", "yes"),
        ("of course", "yes"),
        ("Yes I have", "yes"),
        ("👍", "yes"),
        ("No", "no"),
        ("n", "no"),
        ("nah", "no"),
        ("nope", "no"),
        ("no, I haven't", "no"),
        ("No.", "no"),
    ],
)
def test_yes_no(text, value):
    assert ok(YES_NO, text) == value


@pytest.mark.parametrize("text", ["maybe", "idk", "not sure", "no idea", "yes and no", "3", "what?", "1", "2"])
def test_yes_no_without_not_sure_rejects_uncertain(text):
    error = rejected(YES_NO, text)
    assert "Yes" in error and "No" in error


@pytest.mark.parametrize("text,value", [("1", "yes"), ("2", "no")])
def test_yes_no_numbers_where_shown(text, value):
    assert parse_answer(question_by_id(YES_NO), text, numbers_shown=True).value == value


@pytest.mark.parametrize(
    "text,value",
    [
        ("Not sure", "not_sure"),
        ("idk", "not_sure"),
        ("maybe", "not_sure"),
        ("I don't know", "not_sure"),
        ("I'm not sure", "not_sure"),
        ("no idea", "not_sure"),
        ("yes", "yes"),
        ("nope", "no"),
    ],
)
def test_yes_no_not_sure(text, value):
    assert ok(YNS, text) == value


@pytest.mark.parametrize(
    "text,value",
    [
        ("Anxiety", "anxiety"),
        ("ptsd", "ptsd"),
        ("OCD", "ocd"),
        ("depression", "depression"),
        ("Other", "other"),
        ("panic attacks", "anxiety"),
        ("I get panic attacks", "anxiety"),
        ("trauma", "ptsd"),
        ("intrusive thoughts", "ocd"),
        ("sad", "depression"),
        ("I feel sad all the time", "depression"),
    ],
)
def test_concern(text, value):
    assert ok("concern", text) == value


@pytest.mark.parametrize(
    "question_id,text,value",
    [
        ("concern", "3", "ocd"),
        ("contact_best_time", "4", "any_time"),
        ("contact_method", "1", "call"),
        (YNS, "3", "not_sure"),
    ],
)
def test_other_choices_take_a_number_only_where_shown(question_id, text, value):
    question = question_by_id(question_id)
    assert parse_answer(question, text, numbers_shown=True).value == value
    unshown = parse_answer(question, text)
    assert not unshown.ok and unshown.reason == "ambiguous" and unshown.numbered


def test_concern_two_answers_asks_for_one():
    assert "just one" in rejected("concern", "depression and anxiety")


@pytest.mark.parametrize(
    "text,value",
    [
        ("0", "0"),
        ("1", "1"),
        ("2 or more", "2_or_more"),
        ("2", "2_or_more"),
        ("5", "2_or_more"),
        ("I've tried 3", "2_or_more"),
        ("none", "0"),
        ("one", "1"),
        ("several", "2_or_more"),
        ("Not sure", "not_sure"),
        ("idk", "not_sure"),
    ],
)
def test_antidepressant_count(text, value):
    assert ok("tx_antidepressants", text) == value


@pytest.mark.parametrize(
    "text,value",
    [
        ("Morning", "morning"),
        ("evenings", "evening"),
        ("anytime", "any_time"),
    ],
)
def test_best_time(text, value):
    assert ok("contact_best_time", text) == value


@pytest.mark.parametrize("text,value", [("Call", "call"), ("text me", "text"), ("SMS", "text")])
def test_contact_method(text, value):
    assert ok("contact_method", text) == value


# --- payloads, length, junk: never an answer, never a crash ------------------------------------------------


@pytest.mark.parametrize(
    "question_id", ["consent", GAD1, "age", "contact_first_name", "tx_current_meds", "contact_phone", "contact_email"]
)
@pytest.mark.parametrize(
    "text", ["/affirm", '/inform{"age":30}', "  /affirm", "\uff0faffirm", '/inform{"contact_consent":"yes"}']
)
def test_slash_payloads_are_never_answers(question_id, text):
    rejected(question_id, text)


@pytest.mark.parametrize(
    "question_id",
    ["consent", GAD1, "age", "contact_first_name", "tx_current_meds", "contact_phone", "contact_email", "concern"],
)
@pytest.mark.parametrize("text", ["", "   ", None, 42, "x" * 5000, "\x00\x01", "yes" * 200])
def test_bad_input_gets_guidance(question_id, text):
    rejected(question_id, text)


def test_long_reply_says_too_long():
    assert "too long" in rejected("contact_first_name", "a" * 51).lower()


# --- numbers (age) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,value",
    [
        ("34", 34),
        ("I'm 34", 34),
        ("34 years old", 34),
        ("thirty-four", 34),
        ("thirty four", 34),
        ("I am sixty five", 65),
        ("18", 18),
        ("1", 1),
        ("120", 120),
        ("a hundred and five", 105),
        ("34.0", 34),
        ("\uff13\uff14", 34),
    ],
)
def test_age(text, value):
    assert ok("age", text) == value


@pytest.mark.parametrize("text", ["0", "121", "-5", "200", "old", "34 or 35", "34.5", "", "thirty or forty"])
def test_age_rejected(text):
    rejected("age", text)


def test_age_range_guidance_names_bounds():
    assert "between 1 and 120" in rejected("age", "130")


def test_words_to_int():
    assert words_to_int("twenty one") == 21
    assert words_to_int("nothing here") is None
    assert words_to_int("two and three") is None


# --- free text ---------------------------------------------------------------------------------------------


def test_first_name_as_typed_and_trimmed():
    assert ok("contact_first_name", "  José  María ") == "José María"
    assert ok("contact_first_name", "o'neil") == "o'neil"


@pytest.mark.parametrize("text", ["a" * 51, "Ana\x07", "Ana\u200b", "!!!"])
def test_first_name_rejected(text):
    rejected("contact_first_name", text)


def test_current_meds():
    assert ok("tx_current_meds", "None") == "none"
    assert ok("tx_current_meds", "nothing") == "none"
    assert ok("tx_current_meds", "Zoloft 50mg\nXanax") == "Zoloft 50mg Xanax"
    rejected("tx_current_meds", "x" * 301)


# --- phone and email -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "(818) 555-0134",
        "818.555.0134",
        "+1 818 555 0134",
        "8185550134",
        "1-818-555-0134",
        "818 555 0134",
        "+18185550134",
    ],
)
def test_phone_normalised_to_e164(text):
    assert ok("contact_phone", text) == "+18185550134"
    assert normalise_us_phone(text) == "+18185550134"


@pytest.mark.parametrize(
    "text",
    [
        "555-0134",
        "+44 20 7946 0958",
        "(018) 555-0134",
        "(818) 155-0134",
        "818555013",
        "81855501344",
        "call me",
        "818-555-0134 ext 2",
        "++18185550134",
        "818-555-0134+",
    ],
)
def test_phone_rejected(text):
    assert "(818) 555-0134" in rejected("contact_phone", text)  # guidance shows the format


def test_phone_display():
    assert parse_answer(question_by_id("contact_phone"), "8185550134").display == "(818) 555-0134"


@pytest.mark.parametrize(
    "text,value",
    [
        ("ana@example.com", "ana@example.com"),
        ("Ana.Lopez+clinic@Example.COM", "Ana.Lopez+clinic@example.com"),
        ("my email is ana@example.com", "ana@example.com"),
        ("skip", None),
        ("Skip", None),
        ("no email", None),
    ],
)
def test_email(text, value):
    assert ok("contact_email", text) == value


@pytest.mark.parametrize(
    "text",
    [
        "ana@",
        "@example.com",
        "ana@example",
        "ana example.com",
        "ana@@example.com",
        "a@b.c",
        "ana..lopez@example.com",
        "a@x.com b@y.com",
        ("a" * 65) + "@example.com",
    ],
)
def test_email_rejected(text):
    assert "skip" in rejected("contact_email", text)
    assert normalise_email(text) is None or " " in text


# --- stored values ---------------------------------------------------------------------------------------


def test_is_valid_value_checks_each_kind():
    assert is_valid_value(question_by_id("consent"), "yes")
    assert not is_valid_value(question_by_id("consent"), True)
    assert not is_valid_value(question_by_id("consent"), "maybe")
    assert is_valid_value(question_by_id("age"), 34)
    assert not is_valid_value(question_by_id("age"), 0)
    assert not is_valid_value(question_by_id("age"), True)
    assert not is_valid_value(question_by_id("age"), 34.5)
    assert is_valid_value(question_by_id("contact_phone"), "+18185550134")
    assert not is_valid_value(question_by_id("contact_phone"), "8185550134")
    assert is_valid_value(question_by_id("contact_email"), None)
    assert not is_valid_value(question_by_id("contact_first_name"), "/affirm")


def test_display_value():
    assert display_value(question_by_id(GAD1), "several_days") == "Several days"
    assert display_value(question_by_id("contact_email"), None) == "Skipped"
    assert display_value(question_by_id("age"), 34) == "34"


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("34", 34),
        ("I'm 34", 34),
        ("34 years old", 34),
        ("just turned 40", 40),
        ("thirty four", 34),
        ("I've tried 3 antidepressants and nothing worked", None),  # not an age of 3 (a minor's ending)
        ("I was 3 when it started", None),
        ("almost 18", None),  # not 18 yet
        ("turning 18 soon", None),
    ],
)
def test_age_is_a_number_only_when_the_reply_is_about_the_age(reply, expected):
    parsed = parse_answer(question_by_id("age"), reply)
    assert (parsed.value if parsed.ok else None) == expected
    if expected is None:
        assert not parsed.ok and parsed.error
