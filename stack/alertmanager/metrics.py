"""The Alertmanager's own metrics on ``/metrics``, with upstream's names so dashboards carry over.

Each Alertmanager object has its own registry (two in one test process must not share counters).
Gauges that describe current state (alerts by state, silences by state, aggregation groups) are
computed at scrape time by a collector instead of being kept up to date on every change.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily

# Failure reasons as upstream labels them (notify.go possibleFailureReasonCategory), plus ours.
REASON_CLIENT, REASON_SERVER, REASON_OTHER = "clientError", "serverError", "other"
REASON_UNSUPPORTED = "unsupportedIntegration"
INTEGRATIONS = ("webhook", "email", "pagerduty", "slack", "opsgenie", "wechat", "pushover", "victorops",
                "sns", "telegram", "webex", "discord", "msteams", "msteamsv2", "jira", "rocketchat",
                "incidentio", "mattermost")


class Metrics:
    def __init__(self, am):
        self.registry = CollectorRegistry()
        r = self.registry
        self.notifications = Counter("alertmanager_notifications",
                                     "The total number of attempted notifications.", ["integration"],
                                     registry=r)
        self.notifications_failed = Counter("alertmanager_notifications_failed",
                                            "The total number of failed notifications.",
                                            ["integration", "reason"], registry=r)
        self.requests = Counter("alertmanager_notification_requests",
                                "The total number of attempted notification requests.", ["integration"],
                                registry=r)
        self.requests_failed = Counter("alertmanager_notification_requests_failed",
                                       "The total number of failed notification requests.", ["integration"],
                                       registry=r)
        self.alerts_received = Counter("alertmanager_alerts_received", "The total number of received alerts.",
                                       ["version", "status"], registry=r)
        self.alerts_invalid = Counter("alertmanager_alerts_invalid",
                                      "The total number of received alerts that were invalid.", ["version"],
                                      registry=r)
        self.reload_ok = Gauge("alertmanager_config_last_reload_successful",
                               "Whether the last configuration reload attempt was successful.", registry=r)
        self.reload_time = Gauge("alertmanager_config_last_reload_success_timestamp_seconds",
                                 "Timestamp of the last successful configuration reload.", registry=r)
        for integration in INTEGRATIONS:  # upstream pre-initialises these so rate() works at once
            self.notifications.labels(integration)
            self.requests.labels(integration)
            self.requests_failed.labels(integration)
            for reason in (REASON_CLIENT, REASON_SERVER, REASON_OTHER):
                self.notifications_failed.labels(integration, reason)
        r.register(_StateCollector(am))


class _StateCollector:
    def __init__(self, am):
        self.am = am

    def collect(self):
        alerts = GaugeMetricFamily("alertmanager_alerts", "How many alerts by state.", labels=["state"])
        counts = self.am.alert_state_counts()
        for state in ("active", "suppressed", "unprocessed"):
            alerts.add_metric([state], counts.get(state, 0))
        yield alerts
        silences = GaugeMetricFamily("alertmanager_silences", "How many silences by state.", labels=["state"])
        for state, n in self.am.silences.counts().items():
            silences.add_metric([state], n)
        yield silences
        yield GaugeMetricFamily("alertmanager_dispatcher_aggregation_groups",
                                "Number of active aggregation groups", value=len(self.am.dispatcher.groups))
        yield GaugeMetricFamily("alertmanager_nflog_entries", "Entries in the notification log.",
                                value=len(self.am.nflog))
