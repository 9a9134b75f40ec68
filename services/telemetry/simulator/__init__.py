"""The device simulator: virtual loudspeaker cluster receivers and electronic
boards talking DeviceLink (or MQTT) to the telemetry edge, for demos, tests
and load. ``python -m services.telemetry.simulator --help``."""
