"""The in-package Alertmanager: routing, grouping, dedup, inhibition, silences and webhooks.

Follows Alertmanager 0.34 semantics (see the shared spec) with the config format, API v2 and
webhook body of upstream, so ``amtool``, Prometheus and any webhook receiver work unchanged.

Live (what ``workshop alertmanager`` does)::

    am = Alertmanager("stack/alertmanager.yml", storage_path="data/")
    await am.start(); runner = await stack.alertmanager.main.serve(am, "127.0.0.1", 9093)

In a simulation, on the virtual clock, with no sockets::

    inbox = workshop.inbox.Inbox(clock=clock)
    am = Alertmanager(config, clock=clock, sender=inbox.deliver)   # webhooks go to the inbox
    notifier = Notifier(targets, poster=am.post_alerts)            # Prometheus posts to us

``routes_test(config, labels)`` answers what ``amtool config routes test`` answers.
"""

from stack.alertmanager.alertmanager import Alertmanager
from stack.alertmanager.alerts import Alert, fingerprint
from stack.alertmanager.config import Config, load_config, parse_config
from stack.alertmanager.matchers import MatcherParseError, parse_matchers
from stack.alertmanager.routing import Route, routes_test
from stack.alertmanager.webhook import HTTPSender, build_payload

__all__ = ["Alert", "Alertmanager", "Config", "HTTPSender", "MatcherParseError", "Route", "build_payload",
           "fingerprint", "load_config", "parse_config", "parse_matchers", "routes_test"]
