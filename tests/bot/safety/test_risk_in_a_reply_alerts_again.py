"""Review (issue 8, "Done when"): risk inside any follow-up answer gives 911/988 and a new signed alert.

Found over REST: "i want to kill myself" (detector: suicide_plan + suicidal_thoughts, imminent), then to
"Are you safe right now?" the issue's own example "yeah i'm safe for now but the pills are right next to me".
The bot gives the short repeat reply and sends no new crisis.alert (same severity, same categories), so staff
never see that the means are at hand. Both are real detector output. Fails today: alert_reason returns None.
"""

from bot.safety.detector import assess_risk
from bot.safety.episode import CrisisState, alert_reason, alert_sent, open_episode


def _opened(first_message: str) -> CrisisState:
    state, _ = open_episode(CrisisState(), assess_risk(first_message))
    return alert_sent(state)


def test_means_at_hand_in_reply_to_are_you_safe_alerts_staff_again() -> None:
    before = _opened("i want to kill myself")
    reply = assess_risk("yeah i'm safe for now but the pills are right next to me")
    assert reply.is_risk
    after, _ = open_episode(before, reply)
    assert alert_reason(before, after) is not None
