"""Loading and validating the stack's config files, with errors that name file and line.

``yamlutil`` and ``duration`` are shared by every config: prometheus.yml (this package),
rule files (stack.rules) and alertmanager.yml (stack.alertmanager).
"""

from stack.config.duration import format_duration_ms, parse_duration, parse_duration_ms
from stack.config.yamlutil import ConfigError, check_keys, load_yaml

__all__ = ["ConfigError", "check_keys", "format_duration_ms", "load_yaml", "parse_duration",
           "parse_duration_ms"]
