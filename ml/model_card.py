"""Reading the figures `python -m ml evaluate` writes beside an artifact (model_card.json), without
loading the network: the web and worker settings take their default review threshold from here."""

import json
from pathlib import Path

FALLBACK_REVIEW_THRESHOLD = 0.9  # for an artifact that comes without a card


def review_threshold(model_path: str | Path) -> float:
    """The confidence below which the card says to send an answer to a person."""
    card = Path(model_path).with_name("model_card.json")
    try:
        return float(json.loads(card.read_text())["overall"]["review"]["threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        return FALLBACK_REVIEW_THRESHOLD
