"""The system as `make up` starts it, shared by every end-to-end module (one
start-up for the package, stopped when its last module ends, so that no idle
stack slows the tests after it; the module that stops and restarts it runs
last)."""
import pytest

from shared.testing import LocalStack


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    stack = LocalStack(tmp_path_factory.mktemp("stack"))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
