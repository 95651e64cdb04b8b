"""Unit configuration: the schema (`schema`), loading with key-path errors (`loader`) and
secrets from systemd credentials or the environment (`secrets`)."""

from edge.config.loader import ConfigError, ConfigIssue, demo_config_path, load_config
from edge.config.schema import Config
from edge.config.secrets import load_secrets

__all__ = [
    "Config",
    "ConfigError",
    "ConfigIssue",
    "demo_config_path",
    "load_config",
    "load_secrets",
]
