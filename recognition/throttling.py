import logging

from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class UploadRateThrottle(SimpleRateThrottle):
    """Job creation per user (or per address when anonymous); rate from OCR_UPLOAD_RATE."""

    scope = "uploads"

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        ident = user.pk if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        # The counts live in Redis; while it is unreachable uploads are still taken (and kept until
        # the broker is back) rather than refused.
        try:
            return super().allow_request(request, view)
        except RedisError as exc:
            logger.warning("upload rate limit not checked, cache unavailable: %s", exc)
            return True
