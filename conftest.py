"""Root test configuration: eventlet first (nameko containers hang without it),
then the project's shared fixtures."""
import eventlet

eventlet.monkey_patch()

pytest_plugins = ["shared.testing"]
