"""The system as `make up` starts it, shared by every end-to-end module (one
start-up per run; the module that stops and restarts it runs last)."""
import pytest

from shared.testing import LocalStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    stack = LocalStack(tmp_path_factory.mktemp("stack"))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
