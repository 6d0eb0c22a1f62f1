"""Chapter 7, Alertmanager: configs are judged by the notifications they produce on a virtual clock.

Every check posts the same small incident to an Alertmanager built from the participant's config
(the stack's own, on a virtual clock, webhooks delivered to an in-memory inbox): at 00:00 instance
8080 goes down (``InstanceDown``, critical), at 00:01 the error ratio of all three toy services goes
up (three ``HighErrorRatio`` warnings); everything resolves at 00:10. What reached which receiver,
grouped how, answers the question -- not what the YAML looks like.
"""

from __future__ import annotations

from datetime import UTC, datetime

from stack.alertmanager import MatcherParseError, parse_config, routes_test
from stack.config import ConfigError
from workshop.checks.replay import deliver
from workshop.exercises import Exercise, Incorrect
from workshop.simulation import DEFAULT_START

INSTANCES = ("127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082")
DOWN = INSTANCES[0]
SILENCED = INSTANCES[1]
INCIDENT_END = DEFAULT_START + 600
UNTIL = DEFAULT_START + 900  # long enough for group_wait, a group_interval and the resolution

ROUTING = """\
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
receivers:
  - name: team
    webhook_configs:
      - url: http://127.0.0.1:5001/team
        send_resolved: true
  - name: pager
    webhook_configs:
      - url: http://127.0.0.1:5001/pager
        send_resolved: true
"""

INHIBITION = ROUTING + """\
inhibit_rules:
  - source_matchers: ['alertname="InstanceDown"']
    target_matchers: ['severity="warning"']
    equal: [instance]
"""

SILENCE = f'alertname="HighErrorRatio", instance="{SILENCED}"'


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def incident() -> list[tuple[float, list[dict]]]:
    """(time, alerts as Prometheus posts them): a critical one for 8080, then three warnings."""
    def alert(name, instance, severity, start):
        return {"labels": {"alertname": name, "instance": instance, "job": "toyservice",
                           "severity": severity},
                "annotations": {"summary": f"{name} on {instance}"},
                "startsAt": _iso(start), "endsAt": _iso(INCIDENT_END)}  # fmt: skip

    t0 = DEFAULT_START
    down = alert("InstanceDown", DOWN, "critical", t0)
    warnings = [alert("HighErrorRatio", i, "warning", t0 + 60) for i in INSTANCES]
    # Prometheus re-sends active alerts every minute (resend delay); so do we.
    posts = [(t0 + m * 60, [down] + (warnings if m >= 1 else [])) for m in range(10)]
    return posts + [(INCIDENT_END, warnings + [down])]


def run_incident(config_text: str, silences: tuple[str, ...] = ()):
    """The inbox after the incident went through an Alertmanager with ``config_text``."""
    return deliver(config_text, incident(), UNTIL, silences)


def _config(text):
    if not isinstance(text, str):
        raise Incorrect(f"the config should be YAML text in a string, not a {type(text).__name__}.")
    try:
        return parse_config(text)
    except ConfigError as e:
        raise Incorrect(f"the config is not valid: {e}") from None


def _firing(inbox, receiver: str):
    frame = inbox.frame()
    return frame[(frame["receiver"] == receiver) & (frame["status"] == "firing")]


def check_routing(text) -> str:
    config = _config(text)
    for labels, expected in ((f"alertname=InstanceDown severity=critical instance={DOWN}", ["pager"]),
                             (f"alertname=HighErrorRatio severity=warning instance={DOWN}", ["team"])):
        got = routes_test(config, labels)
        if got != expected:
            raise Incorrect(f"an alert with {labels} goes to {got or 'no receiver'}, "
                            f"it should go to {expected}.")  # fmt: skip
    inbox = run_incident(text)
    team = [n["payload"] for n in inbox.notifications() if n["payload"]["receiver"] == "team"]
    if not team:
        raise Incorrect("the team received nothing about the HighErrorRatio warnings.")
    first = {a["labels"]["instance"] for a in team[0]["alerts"] if a["status"] == "firing"}
    heard = {a["labels"]["instance"] for p in team for a in p["alerts"] if a["status"] == "firing"}
    if first != heard:
        raise Incorrect(f"the team's first notification lists {len(first)} of the {len(heard)} firing "
                        "HighErrorRatio alerts: group by alertname only, so one incident is one message.")
    pager = _firing(inbox, "pager")
    if list(pager["alertname"].unique()) != ["InstanceDown"]:
        raise Incorrect("the pager should get InstanceDown and nothing else.")
    return "critical alerts page, warnings reach the team in one grouped notification."


def check_inhibition(text) -> str:
    check_routing(text)
    inbox = run_incident(text)
    team = _firing(inbox, "team")
    muted = team[team["instance"] == DOWN]
    if not muted.empty:
        when = f"{muted['received_at'].iloc[0]:%H:%M:%S}"
        raise Incorrect(f"while {DOWN} is down, the team still hears about its HighErrorRatio (at {when}): "
                        "inhibit warnings on the instance that is down.")  # fmt: skip
    others = team[team["instance"] != DOWN]
    if others.empty:
        raise Incorrect("the team no longer hears about the other instances: the inhibition is too broad "
                        "(`equal: [instance]` limits it to the instance that is down).")  # fmt: skip
    return "the warnings of the instance that is down are inhibited, the others still arrive."


def check_silence(text) -> str:
    if not isinstance(text, str):
        kind = type(text).__name__
        raise Incorrect(f"the matchers should be a string like 'alertname=\"X\"', not a {kind}.")
    try:
        inbox = run_incident(ROUTING, silences=(text,))
    except MatcherParseError as e:
        raise Incorrect(f"the matchers do not parse: {e}") from None
    frame = _firing(inbox, "team")
    heard = set(frame["instance"])
    if SILENCED in heard:
        raise Incorrect(f"the team still hears about HighErrorRatio on {SILENCED}: "
                        "the silence does not match it.")  # fmt: skip
    if heard != set(INSTANCES) - {SILENCED}:
        raise Incorrect(f"the silence also mutes {sorted(set(INSTANCES) - {SILENCED} - heard)}: "
                        "make it match only that instance's HighErrorRatio.")  # fmt: skip
    if _firing(inbox, "pager").empty:
        raise Incorrect("the silence also mutes the InstanceDown page: match the alert name too.")
    return f"only HighErrorRatio on {SILENCED} is silenced."


q1 = Exercise(
    "q1", check_routing, variable="routing_config",
    hint="A root route with receiver `team` and `group_by: [alertname]`, and one child route matching "
         "severity=\"critical\" with receiver `pager`; two receivers with webhook URLs.",
    solution=f'routing_config = """\\\n{ROUTING}"""',
)  # fmt: skip
q2 = Exercise(
    "q2", check_inhibition, variable="inhibit_config",
    hint="Your routing config plus `inhibit_rules`: source InstanceDown, target severity=\"warning\", "
         "equal: [instance].",
    solution=f'inhibit_config = """\\\n{INHIBITION}"""',
)  # fmt: skip
q3 = Exercise(
    "q3", check_silence, variable="silence_matchers",
    hint="Matchers as amtool takes them: name=\"value\" pairs separated by commas, one for the alert "
         "name and one for the instance.",
    solution=f"silence_matchers = {SILENCE!r}",
)  # fmt: skip
