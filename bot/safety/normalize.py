"""Turn a visitor message into one canonical form the risk lexicon is written against.

The lexicon (data/clinic/risk_lexicon.yml) is matched on the output of `normalize`, so every spelling
variant handled here is one the lexicon does not have to list: case, accents, curly quotes, stretched
letters ("dieeee"), leetspeak ("k1ll"), texting shorthand ("kms", "wanna", "2") and the common
misspellings of the words that matter most ("sucide"). Clause punctuation survives as a lone "." token so
that negation ("I'm not suicidal. I want to die") never reaches across a sentence boundary.
"""

from __future__ import annotations

import re
import unicodedata

# Quote and apostrophe look-alikes that phones and word processors produce.
_APOSTROPHES = dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032\u00b4\u0060\u02bc\uff07"), "'")
_DOUBLE_QUOTES = dict.fromkeys(map(ord, "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\uff02"), '"')

# Leetspeak digits and symbols, only applied inside tokens that also contain letters ("k1ll", "d1e"),
# so phone numbers, doses and ages ("988", "30 pills") stay as they are.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_TOKEN = re.compile(r"[a-z0-9@$]*[a-z][a-z0-9@$]*")
_NUMBER_WITH_UNIT = re.compile(r"\d+(?:mg|mcg|g|ml|x|s|th|st|nd|rd|am|pm|k|yo|yr|yrs|h|hr|hrs|min|mins|lb|lbs|kg)")

_WILL_CONTRACTION = re.compile(r"\b(i|he|she|they|we|you|it|that|there|who)\s?'ll\b")
_WOULD_CONTRACTION = re.compile(r"\b(i|he|she|they|we|you|it|that|there|who)\s?'d\b")
_CLAUSE_PUNCTUATION = re.compile(r"[.,;:!?\n\r\u2026|]+")
_OTHER_PUNCTUATION = re.compile(r"[^a-z0-9.' ]+")
# 3+ repeats of a letter: "l" keeps two ("alll" -> "all", "killll" -> "kill"), every other letter keeps
# one ("dieeee" -> "die", "sooo" -> "so"); the few words this breaks are repaired in _REWRITES.
_STRETCHED_L = re.compile(r"l{3,}")
_STRETCHED = re.compile(r"([a-km-z])\1{2,}")
_SPACES = re.compile(r"\s+")
_DOTS = re.compile(r"(?:\s*\.\s*)+")

# Word-level rewrites, applied to the space-separated, apostrophe-free text. Order matters: multi-word
# shorthand first, then single words. Each entry is (regex, replacement).
_REWRITES: tuple[tuple[str, str], ...] = (
    # texting shorthand for the most important phrases
    (r"\bkms\b", "kill myself"),
    (r"\bkys\b", "kill yourself"),
    (r"\bunaliving (myself|me)\b|\bunaliving\b", "killing myself"),
    (r"\bunalived (myself|me)\b", "killed myself"),
    (r"\bunalive\b", "kill"),
    (r"\bunalived\b", "killed"),
    (r"\bsewer ?slide\b", "suicide"),
    (r"\bwanna\b", "want to"),
    (r"\bwana\b", "want to"),
    (r"\bgonna\b", "going to"),
    (r"\bgona\b", "going to"),
    (r"\bimma\b", "i am going to"),
    (r"\bima\b", "i am going to"),
    (r"\bgotta\b", "got to"),
    (r"\bgunna\b|\bfinna\b", "going to"),
    (r"\btryna\b|\btrynna\b", "trying to"),
    # "ill" without its apostrophe before a verb is "I'll", not "sick" ("ill be gone", "ill do it")
    (r"\bill (be|do|end|kill|take|go|never|just|die|jump|make|try|hurt|finally|probably|not)\b", r"i will \1"),
    (r"\bkillin\b", "killing"),
    (r"\bded\b", "dead"),
    (r"\bjus\b", "just"),
    (r"\bppl\b", "people"),
    # leetspeak has already turned "some1"/"sum1" into "somei"/"sumi"
    (r"\bsomei\b|\bsumi\b", "someone"),
    # "rn" is "right now", except the nurse ("an RN", "the RN")
    (r"(?<!\ban )(?<!\bthe )(?<!\bmy )\brn\b", "right now"),
    (r"\bwant ta\b", "want to"),
    (
        r"\b(want|wanted|wants|going|need|needs|have|has|plan|planning|ready|trying|tried|try|deserve|wish|like) 2\b",
        r"\1 to",
    ),
    (r"\b2 (die|live|end|kill|hurt|cut|go)\b", r"to \1"),
    (r"\bu\b", "you"),
    (r"\bur\b", "your"),
    (r"\br\b", "are"),
    (r"\bn\b", "and"),
    (r"\bb4\b", "before"),
    (r"\btmrw\b|\btmr\b|\btmrrw\b|\b2morrow\b|\btomorow\b|\btommorow\b|\btommorrow\b", "tomorrow"),
    (r"\btonite\b|\b2nite\b|\b2night\b", "tonight"),
    (r"\bcuz\b|\bcoz\b|\bbc\b|\bbcuz\b", "because"),
    (r"\bpls\b|\bplz\b", "please"),
    (r"\bidk\b", "i dont know"),
    (r"\bidc\b", "i dont care"),
    (r"\bidw\b", "i dont want"),
    (r"\bidwt\b", "i dont want to"),
    (r"\bsm\b", "so much"),
    (r"\bw/o\b", "without"),
    # contractions and "i am"
    (r"\bi m\b|\bim\b", "i am"),
    (r"\bi ve\b|\bive\b", "i have"),
    (r"\bi ll\b", "i will"),
    (r"\bi d\b", "i would"),
    (r"\bdon t\b|\bdont\b|\bdo not\b|\bdnt\b", "dont"),
    (r"\bdoesn t\b|\bdoesnt\b|\bdoes not\b", "doesnt"),
    (r"\bdidn t\b|\bdidnt\b|\bdid not\b", "didnt"),
    (r"\bcan t\b|\bcant\b|\bcannot\b|\bcan not\b", "cant"),
    (r"\bwon t\b|\bwont\b|\bwill not\b", "wont"),
    (r"\bisn t\b|\bisnt\b|\bis not\b", "isnt"),
    (r"\bain t\b|\baint\b", "isnt"),
    (r"\bwasn t\b|\bwasnt\b|\bwas not\b", "wasnt"),
    (r"\baren t\b|\barent\b|\bare not\b", "arent"),
    (r"\bhaven t\b|\bhavent\b|\bhave not\b", "havent"),
    (r"\bhasn t\b|\bhasnt\b|\bhas not\b", "hasnt"),
    (r"\bshouldn t\b|\bshouldnt\b", "shouldnt"),
    (r"\bwouldn t\b|\bwouldnt\b", "wouldnt"),
    (r"\bcouldn t\b|\bcouldnt\b", "couldnt"),
    (r"\bit s\b|\bits\b", "its"),
    (r"\bthat s\b", "thats"),
    (r"\bthere s\b", "theres"),
    (r"\bwhat s\b", "whats"),
    (r"\bhe s\b", "hes"),
    (r"\bshe s\b", "shes"),
    (r"\bthey re\b", "theyre"),
    (r"\byou re\b|\byoure\b", "you are"),
    (r"\bhe ll\b", "he will"),
    (r"\bshe ll\b", "she will"),
    (r"\bthey ll\b", "they will"),
    (r"\blet s\b", "lets"),
    # misspellings of the words that carry risk
    # "sucide", "suicde", "suicid", "suiside"; not Spanish "sucede" (= "happens")
    (r"\bsu+i?c+i?de?\b|\bsuiside\b|\bsuiscide\b|\bsuicied\b", "suicide"),
    (r"\bsu+i?c+i?d[aei]l+\b|\bsuisidal\b|\bsuicidial\b|\bsuicidle\b", "suicidal"),
    (r"\bkil\b", "kill"),
    (r"\bkiling\b", "killing"),
    (r"\bmyslef\b|\bmyslf\b|\bmysef\b|\bmself\b|\bmyelf\b|\bmyseld\b|\bmyseflf\b|\bmysel\b|\bmy self\b", "myself"),
    (r"\bdis+ap+ear\b|\bdissappear\b", "disappear"),
    (r"\bpils\b", "pills"),
    (r"\bpil\b", "pill"),
    (r"\bwil\b", "will"),
    (r"\bdeid\b|\bdei\b", "die"),
    (r"\bdyin\b", "dying"),
    (r"\bslep\b", "sleep"),
    (r"\bfel\b", "feel"),
    (r"\bslepin\b|\bslepping\b|\bsleepin\b", "sleeping"),
    (r"\bwak\b", "wake"),
    (r"\boverdoes\b|\bover dose\b|\bod\b", "overdose"),
    (r"\boverdoesd\b|\bover dosed\b|\boverdosd\b|\boded\b", "overdosed"),
    # "I OD'd" loses its apostrophe and becomes "i odd"; only rewrite it where "odd" cannot be the adjective
    (r"\bi (just |think i |probably |accidentally )?odd\b", r"i \1overdosed"),
    (r"\bodd (on|last|again|an hour|a few|yesterday|earlier|on purpose)\b", r"overdosed \1"),
    (r"\banymore\b|\bany more\b|\banymor\b|\benymore\b", "anymore"),
    (r"\bsomeone\b|\bsome one\b|\bsum1\b|\bsomebody\b", "someone"),
    (r"\beveryone\b|\bevery one\b|\beverybody\b|\bevery1\b", "everyone"),
)
_COMPILED_REWRITES = tuple((re.compile(pattern), replacement) for pattern, replacement in _REWRITES)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _unleet_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if _NUMBER_WITH_UNIT.fullmatch(token) or not re.search(r"[0-9@$]", token):
        return token
    return token.translate(_LEET)


def normalize(text: str) -> str:
    """Canonical, lower-case, accent-free form of `text` for lexicon matching. Never raises."""
    if not isinstance(text, str) or not text:
        return ""
    lowered = _strip_accents(text.translate(_APOSTROPHES).translate(_DOUBLE_QUOTES)).lower()
    # Leetspeak before punctuation handling, because "$" and "@" are its letters.
    lowered = _LEET_TOKEN.sub(_unleet_token, lowered)
    lowered = _CLAUSE_PUNCTUATION.sub(" . ", lowered)
    # Contractions whose apostrophe-free form is another word ("I'll" -> "ill", "he'll" -> "hell") are
    # expanded first; then apostrophes join their word ("don't" -> "dont"); other punctuation is a break.
    lowered = _WILL_CONTRACTION.sub(r"\1 will", lowered)
    lowered = _WOULD_CONTRACTION.sub(r"\1 would", lowered)
    lowered = lowered.replace("'", "")
    lowered = _OTHER_PUNCTUATION.sub(" ", lowered)
    lowered = _STRETCHED_L.sub("ll", lowered)
    lowered = _STRETCHED.sub(r"\1", lowered)
    lowered = _SPACES.sub(" ", lowered).strip()
    for pattern, replacement in _COMPILED_REWRITES:
        lowered = pattern.sub(replacement, lowered)
    lowered = _DOTS.sub(" . ", lowered)
    return _SPACES.sub(" ", lowered).strip(" .")
