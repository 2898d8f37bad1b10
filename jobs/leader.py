"""One scheduler at a time: a Redis lock with an expiry that the leader keeps renewing.

When the leader dies it stops renewing, the key expires, and a standby takes over within
`ttl_s`. `turnout up` (one process, no Redis) uses LocalLeadership, which is always the leader.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Protocol

import redis

log = logging.getLogger(__name__)

LOCK_KEY = "turnout:scheduler:leader"

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Leadership(Protocol):
    """Tells a scheduler replica whether it may schedule."""

    def hold(self) -> bool:
        """Take or renew the leadership; True while this replica is the leader."""
        ...

    def release(self) -> None:
        """Give the leadership up (on a clean stop), so a standby takes over at once."""
        ...


class RedisLeadership:
    """Leadership through `SET key token NX PX ttl`, renewed only by the token's owner."""

    def __init__(self, client: redis.Redis, *, ttl_s: float = 30.0, key: str = LOCK_KEY) -> None:
        self._client = client
        self._key = key
        self._ttl_ms = int(ttl_s * 1000)
        # Host and pid in the token tell an operator (and the tests) which replica leads.
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def hold(self) -> bool:
        try:
            if self._renew(keys=[self._key], args=[self.token, self._ttl_ms]):
                return True
            return bool(self._client.set(self._key, self.token, nx=True, px=self._ttl_ms))
        except redis.RedisError as exc:
            # Without Redis nobody can prove leadership: stand down rather than risk two leaders.
            log.warning("leader lock unavailable (%s); not scheduling", exc)
            return False

    def release(self) -> None:
        try:
            # Compare and delete in one step: the lock may have expired and gone to another replica
            # between a get and a delete.
            self._release(keys=[self._key], args=[self.token])
        except redis.RedisError:
            pass


class LocalLeadership:
    """The only scheduler of a single process."""

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        return None
