"""Writes the API triggers in other apps, behind one error contract for the views and the admin."""

from __future__ import annotations

import logging

from rest_framework.exceptions import APIException

logger = logging.getLogger(__name__)


class ReplayUnavailable(APIException):
    status_code = 503
    default_detail = "dead-letter replay is unavailable"
    default_code = "replay_unavailable"


def dead_letter_replay(*, dead_letter_id: int) -> None:
    """Send one dead letter back to its source topic (apps.nlp owns the replay itself)."""
    try:
        from apps.nlp.services import dead_letter_replay as nlp_dead_letter_replay
    except ImportError as exc:
        raise ReplayUnavailable(f"dead-letter replay is not installed: {exc}") from None
    try:
        nlp_dead_letter_replay(dead_letter_id=dead_letter_id)
    except Exception as exc:  # the broker being down is the usual cause; the operator needs the reason
        logger.exception("replay of dead letter %s failed", dead_letter_id)
        raise ReplayUnavailable(f"replay failed: {type(exc).__name__}: {exc}") from exc
