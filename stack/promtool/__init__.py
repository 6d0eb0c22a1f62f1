"""``workshop promtool``: the upstream promtool's commands that the workshop uses."""
