"""Issue 8: phrasings the deterministic detector now catches, each beside look-alikes it must leave alone.

Every example here was written for these tests from the category definitions in data/clinic/risk_lexicon.yml
(indirect statements, goodbyes, means at hand, pills with alcohol, fresh cuts, abuse at home), never copied
from an eval set. A positive names the category the reply should lead with or include.
"""

from __future__ import annotations

import pytest

from bot.safety.detector import assess_risk

NEW_PHRASINGS = [
    # suicidal_thoughts: indirect wishes, goodbyes, conditional "checking out"
    ("if I got run over by a car I'd honestly be relieved", "suicidal_thoughts"),
    ("i wouldn't mind if i didn't wake up tomorrow", "suicidal_thoughts"),
    ("been thinking about just ending it lately", "suicidal_thoughts"),
    ("if the infusions don't help, I'm checking out", "suicidal_thoughts"),
    ("if nothing works i will be gone", "suicidal_thoughts"),
    ("telling bye to my family rn, love you all", "suicidal_thoughts"),
    ("i love you guys. sorry for everything", "suicidal_thoughts"),
    ("please tell my little sister I love her", "suicidal_thoughts"),
    ("this is the last time anyone will hear from me", "suicidal_thoughts"),
    ("nobody would miss me", "suicidal_thoughts"),
    ("I'm just a burden.", "suicidal_thoughts"),
    ("I can't see a way out anymore", "suicidal_thoughts"),
    ("the only way out now is to die", "suicidal_thoughts"),
    ("I keep thinking about steering into oncoming traffic", "suicidal_thoughts"),
    ("i just want to off myself", "suicidal_thoughts"),
    ("im a waste of space", "suicidal_thoughts"),
    ("I've been planning my own funeral", "suicidal_thoughts"),
    ("it will all be over soon", "suicidal_thoughts"),
    ("ill be dead by friday", "suicidal_thoughts"),
    ("i dont care whether i live or die", "suicidal_thoughts"),
    ("only a few more days till i end it", "suicidal_thoughts"),
    ("i'm done living", "suicidal_thoughts"),
    ("death sounds peaceful right now", "suicidal_thoughts"),
    ("i'm ready to be with my grandpa in heaven", "suicidal_thoughts"),
    ("the voices keep telling me to kill myself", "suicidal_thoughts"),
    ("everyone would have it easier if i weren't around", "suicidal_thoughts"),
    ("leaving now and i'm not coming back. sorry", "suicidal_thoughts"),
    ("I won't be alive for the consult", "suicidal_thoughts"),
    ("every morning i'm disappointed i woke up", "suicidal_thoughts"),
    ("no one cares if i die", "suicidal_thoughts"),
    ("I'm at peace with dying", "suicidal_thoughts"),
    ("i'm getting all my affairs in order", "suicidal_thoughts"),
    ("i hope i crash on the way home", "suicidal_thoughts"),
    ("i don't plan on staying alive much longer", "suicidal_thoughts"),
    ("i keep picturing my own funeral", "suicidal_thoughts"),
    ("ojalá me durmiera y ya no despertara", "suicidal_thoughts"),
    ("me quiero ir de este mundo", "suicidal_thoughts"),
    ("estoy harto de vivir", "suicidal_thoughts"),
    ("me despido de todos para siempre", "suicidal_thoughts"),
    # suicide_plan: means at hand, a decision made, exhaust or helium
    ("the pills are right beside me", "suicide_plan"),
    ("i already decided. goodbye", "suicide_plan"),
    ("don't try to talk me out of it", "suicide_plan"),
    ("I have everything I need to end it", "suicide_plan"),
    ("i'm in the car with a hose from the exhaust", "suicide_plan"),
    ("i've saved enough to not wake up", "suicide_plan"),
    ("i'm staring at a bottle of pills", "suicide_plan"),
    ("i'm going to swallow everything i can find", "suicide_plan"),
    # overdose: pills with alcohol, quantities with symptoms, drug names
    ("took all my zoloft and some advil", "overdose"),
    ("mixed a handful of xanax with wine, cant feel my legs", "overdose"),
    ("i drank a whole bottle of wine and took my sleeping pills", "overdose"),
    ("took a bunch of my mom's oxy", "overdose"),
    ("chugged a bottle of cough syrup", "overdose"),
    ("i took everything in my medicine cabinet", "overdose"),
    ("mezclé un montón de pastillas con tequila", "overdose"),
    # past_attempt
    ("I've tried twice before and woke up in the hospital", "past_attempt"),
    ("both times i survived", "past_attempt"),
    ("ya lo intenté dos veces y sobreviví", "past_attempt"),
    # self_harm
    ("I have fresh cuts on my arm", "self_harm"),
    ("the marks on my thighs, I did it to myself", "self_harm"),
    ("I've been cutting again since march", "self_harm"),
    ("i cut too deep", "self_harm"),
    ("tengo cortes recientes en los brazos", "self_harm"),
    # not_safe
    ("I can't promise I'll be okay", "not_safe"),
    ("I'm scared I'll do something tonight", "not_safe"),
    ("I don't think I'll make it through the night", "not_safe"),
    ("no puedo prometer que voy a estar bien", "not_safe"),
    # harm_to_others
    ("he's going to pay. i know where he lives", "harm_to_others"),
    ("i punched my wife and i'm afraid i will do it again", "harm_to_others"),
    ("i want to make them all suffer", "harm_to_others"),
    ("i have a list of people i want to hurt", "harm_to_others"),
    # danger_from_others
    ("my boyfriend keeps showing up at my apartment", "danger_from_others"),
    ("someone texted me that i'm going to regret it", "danger_from_others"),
    ("my husband said if i leave he'll kill me", "danger_from_others"),
    ("he strangled me last weekend", "danger_from_others"),
    ("my ex pulled a knife on me", "danger_from_others"),
    ("my ex won't stop threatening me", "danger_from_others"),
    ("my stepdad locks me in my room", "danger_from_others"),
    ("mi ex sabe donde vivo y tengo miedo", "danger_from_others"),
    # method_request
    ("how many of my lexapro would it take", "method_request"),
    ("would 40 of my pills be enough", "method_request"),
    # last round: wondering about not existing, means kept "just in case", symptoms after pills
    ("sometimes i wonder what it would feel like to just not be here", "suicidal_thoughts"),
    ("there's no hope left for me", "suicidal_thoughts"),
    ("I'm fine with not waking up", "suicidal_thoughts"),
    ("no puedo más con esta vida", "suicidal_thoughts"),
    ("i've been scoping out overpasses", "suicide_plan"),
    ("i carry a blade in my bag just in case", "suicide_plan"),
    ("my heart is racing after taking all those meds", "overdose"),
    ("i injected way more than usual", "overdose"),
    ("i pick my scabs open so they bleed", "self_harm"),
    ("i can't stop myself from hurting", "not_safe"),
    ("i'm scared, i keep looking at the pills", "not_safe"),
    ("i'm going to kill my abuser", "harm_to_others"),
    ("my ex broke into my apartment", "danger_from_others"),
    ("someone is outside my door and i'm terrified", "danger_from_others"),
    ("what is the quickest way to cut your wrists", "method_request"),
    ("how deep do you need to cut", "method_request"),
]

LOOK_ALIKES = [
    "if this doesn't work I'm going to try TMS",
    "i'm checking out the website now",
    "I said bye to everyone at work before my leave",
    "sorry for everything, I mean all the questions",
    "please tell my doctor I am running late",
    "you won't hear from me until Monday",
    "no one would miss me at the party anyway lol",
    "I don't want to be a burden on my family financially",
    "I can't see a way out of this debt",
    "I don't know how long I can keep doing this job",
    "I'm going to end things with my girlfriend",
    "my pills are next to me on the nightstand so I remember to take them",
    "the knife is next to me, I'm cooking dinner",
    "I already decided, I'll book the 3pm slot",
    "I've decided. Tonight is my first infusion",
    "can you talk me out of it? I want to cancel",
    "I've tried twice before to get an appointment",
    "I tried ketamine once before and ended up in the ER with nausea",
    "fresh cuts of meat",
    "I have scars on my arms from surgery",
    "I did this to myself, I should have started treatment sooner",
    "I've been cutting back on caffeine",
    "I took too much coffee and feel dizzy",
    "I took my meds and feel dizzy, is that normal",
    "can I drink wine with my meds",
    "I had a lot of wine and then took my advil",
    "I can't promise I'll be on time",
    "I can't promise I'll be okay with needles",
    "I don't think I'll make it through the night shift",
    "I'm afraid I'll do something wrong on the form",
    "I know where he lives, he's my neighbor",
    "he is going to pay for the infusion",
    "I hurt her feelings again and I feel bad",
    "my dog keeps following me around the house",
    "they said I will regret not trying ketamine sooner",
    "I wrote letters to my kids when they were at camp",
    "this app is a waste of space",
    "I want out of my lease",
    "this is my last message for today, thanks",
    "I don't care if I die my hair purple",
    "death sounds scary to me",
    "I'm going to join my brother in Miami",
    "how many infusions will it take",
    "how many tablets does it take to feel better",
    "I was sexually assaulted in my twenties",
    "he grabbed me a coffee",
    "I'm giving up sugar for lent",
    "I'm holding the knife right now, chopping onions",
    "I'm looking at the pill bottle label for the dose",
    "would 30 pills be enough for the month",
    "I cut class yesterday",
    "me despido de ustedes, gracias por la ayuda",
    "mi hermano me sigue a todas partes jaja",
    "quiero que se acabe la espera",
    "the RN said it's fine",
    "ill be there at 3",
    "I have been ill lately",
    "I wonder what it would be like to live in Spain",
    "I'm fine with not having an infusion this week",
    "I've been looking at the bridge photos from our trip",
    "I carry my inhaler just in case",
    "I keep pills in my bag in case I get a migraine",
    "my dog picks at his scabs",
    "someone is at my door, brb",
    "how deep do you cut the onions",
    "I'm looking at the pills you listed on the website",
]


@pytest.mark.parametrize("text, category", NEW_PHRASINGS)
def test_new_phrasings_are_caught_with_their_category(text, category):
    result = assess_risk(text)
    assert result.is_risk, text
    assert category in result.categories, (text, result.categories)


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_of_the_new_phrasings_are_not_flagged(text):
    assert not assess_risk(text).is_risk, (text, assess_risk(text).categories)


@pytest.mark.parametrize(
    "text",
    [
        "he doesn't know where I live anymore, I'm safe now",
        "I'm not thinking about just ending it, I want to get better",
        "I have never given up on life",
    ],
)
def test_new_negatable_phrasings_respect_negation(text):
    assert not assess_risk(text).is_risk, (text, assess_risk(text).categories)
