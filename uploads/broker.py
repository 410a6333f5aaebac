"""What the broker (Redis) still holds: since when its queues have been kept.

Redis restarted without persistence comes back empty: every message sent before it started is gone.
A key set in the broker lives exactly as long as its queues do, so a missing key means the broker
started empty; the key then records when that Redis server started."""

import logging
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)
MEMORY_KEY = "digit-ocr:broker-memory-since"


def memory_since() -> datetime | None:
    """The moment since which the broker has kept every message sent to it; None if it does not answer."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5, socket_connect_timeout=5)
    try:
        started = timezone.now() - timedelta(seconds=client.info("server")["uptime_in_seconds"])
        if client.set(MEMORY_KEY, started.isoformat(), nx=True):
            logger.warning("broker started empty at %s: work sent before then is sent again", started.isoformat())
        return datetime.fromisoformat(client.get(MEMORY_KEY).decode())
    except redis.RedisError as exc:
        logger.warning("broker memory unknown: %r", exc)
        return None
    finally:
        client.close()
