"""Simulated visitors' answer scripts (personas for tests/e2e/visitor.py), each a whole screening to its end with the
lead it must send: shared by the end-to-end tests and `make bench` (scripts/bench.py)."""

from __future__ import annotations

# Clicking: every answer is a button's title (what the widget sends as payload). Age is typed (no buttons);
# GAD-7 21 and PHQ-9 16 are at or above the cut-offs, so qualified (failed antidepressants alone are not).
QUALIFIED_CLICKER = {
    "consent": "Yes",
    "age": "34",
    "concern": "Anxiety",
    "gad7": "Nearly every day",
    "phq9": "More than half the days",
    "phq9_9": "Not at all",
    "tx": "No",
    "tx_antidepressants": "2 or more",
    "tx_current_meds": "sertraline 100 mg",
    "ci": "No",
    "ci_checklist": "None of these",
    "contact_first_name": "Maria",
    "contact_phone": "(818) 555-0134",
    "contact_email": "maria@example.com",
    "contact_method": "Text",
    "contact_best_time": "Morning",
    "contact_consent": "Yes",
}


# Typing: numbers, paraphrases and free-form replies instead of buttons; pregnant, so not eligible. "3" at each
# GAD-7 item is asked about (the buttons show no numbers), then "3" again answers the numbered re-ask.
NOT_ELIGIBLE_TYPIST = {
    "consent": "yep",
    "concern": "trauma",
    "age": "I'm 29",
    "gad7": "3",
    "phq9": "often",
    "phq9_9": "never",
    "pcptsd5": "yes",
    "tx": "nope",
    "tx_antidepressants": "1",
    "tx_current_meds": "none",
    "ci": "no",
    "ci_pregnancy": "yes",
    "contact_optin": "yes please",
    "contact_first_name": "Dana",
    "contact_phone": "818.555.0199",
    "contact_email": "skip",
    "contact_method": "call",
    "contact_best_time": "evening",
    "contact_consent": "yes",
}


# Typed, below the cut-offs (GAD-7 7, PHQ-9 0), 3 failed antidepressants, a misspelled stimulant and voices
# heard in the past only (checklist number 4): a clinician reviews it; never qualified, never turned away.
SUB_THRESHOLD_REVIEW = {
    "consent": "yes",
    "age": "45",
    "concern": "anxiety",
    "gad7": "Several days",
    "phq9": "Not at all",
    "tx": "yes",
    "tx_antidepressants": "three",
    "tx_current_meds": "aderall 20mg and zoloft",
    "ci": "no",
    "ci_checklist": "4",
    "contact_first_name": "Sam",
    "contact_phone": "818 555 0177",
    "contact_email": "skip",
    "contact_method": "text",
    "contact_best_time": "any time",
    "contact_consent": "yes",
}


# Whole screenings to their end, with the outcome of the lead each must send (`lead.outcome`): `make bench`'s mix.
WHOLE_SCREENINGS = (
    ("qualified clicker", QUALIFIED_CLICKER, "qualified"),
    ("not-eligible typist", NOT_ELIGIBLE_TYPIST, "not_eligible"),
    ("sub-threshold review", SUB_THRESHOLD_REVIEW, "needs_review"),
)
