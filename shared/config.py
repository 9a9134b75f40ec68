"""Config loading shared by nameko processes and plain ones (gRPC edges, tools).

Config files are nameko YAML with ``${VAR:default}``: one file per service in
``deploy/config``, every value overridable from the environment.
"""
import yaml
from nameko.cli.main import setup_yaml_parser

_parser_ready = False


def load_config(path):
    """Read a nameko YAML config file, resolving ``${VAR:default}``."""
    global _parser_ready
    if not _parser_ready:
        setup_yaml_parser()
        _parser_ready = True
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)
