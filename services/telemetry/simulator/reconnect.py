"""How long a virtual device waits before it connects again (both links)."""


class Reconnect:
    """A planned drop keeps the device offline for a random while in
    ``offline_seconds``; a failed or broken connection backs off
    exponentially (with jitter) up to ``reconnect_max``, starting afresh
    after every connection that came up."""

    def __init__(self, rng, offline_seconds, reconnect_max):
        self._rng = rng
        self._offline_seconds = offline_seconds
        self._max = reconnect_max
        self._backoff = min(1.0, reconnect_max)

    def delay(self, was_connected, dropped):
        if was_connected:
            self._backoff = min(1.0, self._max)
        if dropped:
            return self._rng.uniform(*self._offline_seconds)
        delay = self._backoff * self._rng.uniform(0.5, 1.5)
        self._backoff = min(self._backoff * 2, self._max)
        return delay
