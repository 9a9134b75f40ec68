"""The district IT team's command line (``tinxa …``) and backups.

- ``cli``: the ``tinxa`` command: communes, users, devices, plug-in accounts
  and dead letters over nameko RPC as the system caller; exports, imports and
  backups straight on the databases.
- ``backup``: every service database dumped to a folder with a manifest
  (counts, index definitions, a SHA-256 per file) and restored into an empty
  store; RabbitMQ's definitions from the management API.
- ``commune_io``: one commune's documents across every service database, as a
  single file, and their idempotent import.

This is a tool, not a service: it imports no other service's code, and its
database work is plain pymongo on the databases named in ``deploy/config``.
"""
