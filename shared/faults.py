"""Named fault points, for tests that kill a process at an exact moment.

A process started with ``TINXA_FAULT_POINT=<name>`` and ``TINXA_FAULT_FILE=<path>``
writes the file and then hangs when it reaches that point, so a test can
``kill -9`` it there. Without the variables a point costs one dict lookup.
"""
import os
import time


def point(name):
    if os.environ.get("TINXA_FAULT_POINT") != name:
        return
    with open(os.environ["TINXA_FAULT_FILE"], "w", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")
    while True:
        time.sleep(3600)
