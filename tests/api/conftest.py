"""The HTTP API's own tests (fuzzing, authorisation matrix) share one stack
with two seeded communes: ``world.py``."""
from tests.api.world import api_world  # noqa: F401 (the package's stack)
