"""Recording and alerting rules: rule files, groups on the clock, the alert state machine, templates."""
