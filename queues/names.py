"""Queue names: 1-63 letters, digits or ``-``, starting and ending with a letter or digit."""

from __future__ import annotations

from queues.limits import MSG_QUEUE_NAME, QUEUE_NAME_RE


def check_queue_name(name: object) -> str:
    """``name`` if it is a valid queue name, else ``ValueError`` naming the rule.

    >>> check_queue_name("jobs-dlq")
    'jobs-dlq'
    """
    if not isinstance(name, str) or not QUEUE_NAME_RE.fullmatch(name):
        raise ValueError(MSG_QUEUE_NAME.format(name=name))
    return name
