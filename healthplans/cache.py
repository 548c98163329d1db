"""Django's Redis cache, made to degrade instead of fail while Redis is away.

Django's RedisCache raises on a refused connection, and so would every page that touches the
cache. Nothing in the cache is the only copy of anything (sessions live in the database), so an
outage is answered as a miss on reads and a skipped write; each is logged. `/healthz/` still
reports the cache down, since its probe then reads nothing back.
"""

import logging
from collections.abc import Iterable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

OUTAGE = (RedisConnectionError, RedisTimeoutError)


class TolerantRedisCache(RedisCache):
    def _outage(self, operation: str, error: Exception) -> None:
        logger.warning("Cache %s skipped, Redis is unavailable: %s", operation, error)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except OUTAGE as error:
            self._outage("get", error)
            return default

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except OUTAGE as error:
            self._outage("get_many", error)
            return {}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except OUTAGE as error:
            self._outage("has_key", error)
            return False

    def add(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> bool:
        try:
            return super().add(key, value, timeout, version)
        except OUTAGE as error:
            self._outage("add", error)
            return False

    def set(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except OUTAGE as error:
            self._outage("set", error)

    def set_many(self, data: dict[Any, Any], timeout: Any = None, version: int | None = None) -> list[Any]:
        try:
            return super().set_many(data, timeout, version)
        except OUTAGE as error:
            self._outage("set_many", error)
            return list(data)

    def touch(self, key: Any, timeout: Any = None, version: int | None = None) -> bool:
        try:
            return super().touch(key, timeout, version)
        except OUTAGE as error:
            self._outage("touch", error)
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except OUTAGE as error:
            self._outage("delete", error)
            return False

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except OUTAGE as error:
            self._outage("delete_many", error)
