"""TinXã's common library: what two or more services need, and nothing more.

- ``config``: nameko YAML config with ``${VAR:default}`` for any process.
- ``mongo``: the MongoDB dependency provider and repository base.
- ``events``: event contracts (one marshmallow schema per event type).
- ``bus``: publishing events on RabbitMQ in nameko's layout, with confirms.
- ``outbox``: events stored with the state change and published from there.
- ``handlers``: idempotent event handlers with retry, backoff and dead-lettering.
- ``deadletters``: the operator's tool to list and replay dead letters.
- ``context``: the caller (user, commune, roles) carried in nameko context data.
- ``errors``: caller errors shared by every service and both edges.
- ``observability``: metrics, health checks and structured logs.
- ``schemas``: the marshmallow pieces every boundary uses (Base64 files, commune-scoped requests).
- ``text``: accent folding for Vietnamese search fields.
- ``timeutil``: times as ISO strings; Vietnam's calendar date.
- ``faults``: named fault points for crash tests.
- ``grpc_edge``, ``grpc_health_probe``: what every gRPC edge process shares.
- ``devicelink``: commands to devices (exchange, routing key, validated message) for any service.
- ``broker_admin``: broker users confined by permissions (MQTT devices, integration plug-ins), via the management API.
- ``commands``: the nameko dependency that sends those commands (one device, or many of a commune at once).
- ``timers``: configurable nameko timers and the lease that makes one replica act per pass.
- ``testing``: pytest fixtures (real store, broker vhosts, processes, the whole stack).
"""
