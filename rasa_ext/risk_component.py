"""NLU pipeline component: the deterministic risk detector as the last intent classifier.

It runs on every message of every channel after DIET and the FallbackClassifier. When the detector or the
model flags risk, the intent becomes `crisis` at confidence 1.0 (rules then route to the crisis action at any
turn), and the assessment is attached to the parse data under `risk` (bot/safety/parse_data.py), where the
actions read it instead of running the detector again. `risk.level` tells the action what the message reaches:
`crisis` (the detector matched: full reply and alert) or `check` (the model alone: ask the check question
first). Both keep the `crisis` intent, so a dialogue that does not read the level still escalates fully. The
decision lives in `bot.safety`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety.detector import assess_risk
from bot.safety.parse_data import RISK_KEY, risk_parse_data
from bot.safety.signals import DEFAULT_MODEL_THRESHOLD, combine_signals, crisis_intent, ranking_with_crisis_first


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RiskDetector(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"model_threshold": DEFAULT_MODEL_THRESHOLD}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.threshold = float(config.get("model_threshold", DEFAULT_MODEL_THRESHOLD))

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RiskDetector:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._flag(message)
        return messages

    def _flag(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        assessment = assess_risk(text)
        intent = message.get(INTENT) or {}
        ranking = message.get(INTENT_RANKING_KEY) or []
        signal = combine_signals(assessment.is_risk, intent.get("name"), ranking, self.threshold)
        message.set(RISK_KEY, risk_parse_data(assessment, signal), add_to_output=True)
        if signal.escalate:
            message.set(INTENT, crisis_intent(), add_to_output=True)
            message.set(INTENT_RANKING_KEY, list(ranking_with_crisis_first(ranking)), add_to_output=True)
