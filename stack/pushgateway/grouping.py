"""Grouping keys: the label set in a push URL that names the group a push replaces.

``/metrics/job/backup/instance/db1`` addresses the group ``{job="backup", instance="db1"}``. A value
can only contain ``/`` if it is sent base64-encoded (``name@base64/<value>``, URL-safe alphabet,
padding optional, ``=`` for the empty value), because the path is split on ``/`` after it is
percent-decoded. The rules and error messages follow upstream's handler (spec §1), so clients
written for the real Pushgateway (prometheus_client's ``push_to_gateway`` among them) see the same
answers here.
"""

from __future__ import annotations

import base64
import binascii
import re

BASE64_SUFFIX = "@base64"
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_URLSAFE_RE = re.compile(r"[^A-Za-z0-9_-]")
_PLAIN_VALUE_RE = re.compile(r"^[A-Za-z0-9._~:-]+$")  # values that need neither base64 nor quoting


class GroupingKeyError(ValueError):
    """A push URL that does not describe a valid grouping key (answered with 400)."""


def parse_grouping_path(job_segment: str, job: str, label_path: str) -> dict[str, str]:
    """The grouping key of ``/metrics/<job_segment>/<job><label_path>``.

    ``job_segment`` is ``job`` or ``job@base64``; ``label_path`` is the rest of the path including
    its leading ``/`` (or empty). Checks run in upstream's order: job base64, labels, empty job.
    """
    if job_segment == "job" + BASE64_SUFFIX:
        try:
            job = decode_base64(job)
        except ValueError as e:
            raise GroupingKeyError(f'invalid base64 encoding in job name "{job}": {e}') from None
    elif job_segment != "job":
        raise GroupingKeyError(f"unknown path segment {job_segment!r}, expected job or job@base64")
    labels = split_labels(label_path)
    if not job:
        raise GroupingKeyError("job name is required")
    labels["job"] = job  # the dedicated job segment wins over a job pair in the rest of the path
    return labels


def split_labels(label_path: str) -> dict[str, str]:
    """Label pairs of a path like ``/instance/db1/path@base64/L3Zhci90bXA``."""
    result: dict[str, str] = {}
    if len(label_path) <= 1:  # "" or a single trailing "/" after the job
        return result
    parts = label_path.split("/")
    if len(parts) % 2 == 0:  # parts[0] is the empty string before the leading "/"
        raise GroupingKeyError(f'odd number of components in label string "{label_path}"')
    for name, value in zip(parts[1::2], parts[2::2], strict=True):
        plain = name.removesuffix(BASE64_SUFFIX)
        if not _LABEL_NAME_RE.match(plain) or plain.startswith("__"):
            raise GroupingKeyError(f'improper label name "{plain}"')
        if plain != name:
            try:
                value = decode_base64(value)
            except ValueError as e:
                raise GroupingKeyError(f'invalid base64 encoding for label {plain}="{value}": {e}') from None
        result[plain] = value
    return result


def decode_base64(value: str) -> str:
    """URL-safe base64 (RFC 4648 §5) with optional padding; ``=`` alone is the empty string."""
    s = value.rstrip("=")
    bad = _URLSAFE_RE.search(s)
    if bad:
        raise ValueError(f"illegal base64 data at input byte {bad.start()}")
    if len(s) % 4 == 1:
        raise ValueError(f"illegal base64 data at input byte {len(s) - 1}")
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), altchars=b"-_", validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as e:
        raise ValueError(f"invalid base64 value: {e}") from None


def grouping_path(key: dict[str, str]) -> str:
    """The push URL path for a grouping key, base64-encoding values that need it."""
    job = key["job"]
    parts = ["/metrics", *_pair("job", job)]
    for name in sorted(k for k in key if k != "job"):
        parts += _pair(name, key[name])
    return "/".join(parts)


def _pair(name: str, value: str) -> list[str]:
    if _PLAIN_VALUE_RE.match(value):
        return [name, value]
    encoded = base64.urlsafe_b64encode(value.encode()).decode() or "="
    return [name + BASE64_SUFFIX, encoded]
