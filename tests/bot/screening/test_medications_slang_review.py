"""Review (issue 14): common singular street names for Xanax are caught.

Found over REST: "zoloft, xanny as needed" at "What medicines do you take now?" gave no interacting-medicine
flag (the lead had no relative_interacting_medication reason), while "xannies", "xanies" and "zannie" are in
the table. A benzodiazepine the visitor names must reach the clinician.
"""

from __future__ import annotations

import pytest

from bot.screening.medications import interacting_groups


@pytest.mark.parametrize("reply", ["xanny", "zoloft, xanny as needed", "a xanny at night", "xannys"])
def test_singular_xanax_slang_is_a_benzodiazepine(reply):
    assert "benzodiazepine" in interacting_groups(reply)


@pytest.mark.parametrize("reply", ["zannys", "ativans at night", "a couple klonopins", "xanies"])
def test_a_plural_s_on_a_listed_name_is_that_name(reply):
    assert "benzodiazepine" in interacting_groups(reply)


@pytest.mark.parametrize("reply", ["zany", "parks", "concerts on weekends"])
def test_plural_rule_does_not_make_ordinary_words_medicines(reply):
    assert interacting_groups(reply) == []
