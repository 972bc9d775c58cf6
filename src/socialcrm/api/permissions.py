"""Who may do what: the one permission matrix of the REST API and the dashboard.

Three roles (DESIGN.md "Interfaces"):

* **admin** — everything, including API tokens;
* **analyst** — reads everything the service shows, uploads interactions and fixes
  identities (merge/unmerge); does not work the routing queue;
* **agent** — a contact-center agent: reads profiles, conversations and the network,
  claims, answers and resolves conversations in the queue.

Every route declares one *action* below; a role lacks an action → ``403``.

Private interactions (``visibility = 'private'``: e-mail, DMs, calls, meetings...) are a
second, per-object rule: only roles listed in ``Settings.private_roles`` (default
``admin`` and ``agent``, so the agent sees the customer's e-mails and calls while an
analyst works on public and aggregate data) may receive them. The rule is applied to
every object, not per route:

* an interaction fetched by id that is private → ``404`` (its existence is not revealed);
* a conversation that contains any private message is private as a whole: listed and
  returned only to private roles; to others, interactions of it show no
  ``conversation_id`` and no ``in_reply_to``;
* the 360° view, an entity's timeline, the sentiment trajectory and the routing queue
  drop private items for other roles;
* aggregates (activity counts by channel, tie strength, influence, tiers, communities,
  alerts) are computed from all interactions and visible to every role that may read
  them: they reveal no message, id or timestamp.

This module is documented in docs/api.md (the table there is generated from
:data:`MATRIX` by ``python -m socialcrm.api.permissions``).
"""

from __future__ import annotations

from collections.abc import Iterable

ROLES: tuple[str, ...] = ("admin", "analyst", "agent")

ALL = frozenset(ROLES)

# action -> roles allowed, and what the action covers (for the documentation).
MATRIX: dict[str, tuple[frozenset[str], str]] = {
    "stats:read": (ALL, "overview counts and time series (aggregates)"),
    "entities:read": (ALL, "search entities, an entity, its 360° view and timeline"),
    "identities:write": (frozenset({"admin", "analyst"}), "merge and unmerge identities"),
    "interactions:read": (ALL, "list and get interactions (private ones: private roles only)"),
    "interactions:write": (
        frozenset({"admin", "analyst"}),
        "upload canonical rows; imports and quarantine",
    ),
    "conversations:read": (ALL, "list and get conversations (private ones: private roles only)"),
    "ties:read": (ALL, "ego networks, one tie explained, Dunbar layers, network view"),
    "influence:read": (ALL, "influencers, communities, advocates, tiers"),
    "queue:read": (ALL, "list the routing queue (private conversations: private roles only)"),
    "queue:act": (frozenset({"admin", "agent"}), "claim, reply to and resolve a conversation"),
    "alerts:read": (ALL, "weakening-tie and churn alerts with their next action"),
    "tokens:admin": (frozenset({"admin"}), "create, list and revoke API tokens"),
}


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may perform ``action`` (unknown actions are denied)."""
    roles, _ = MATRIX.get(action, (frozenset(), ""))
    return role in roles


def sees_private(role: str, private_roles: Iterable[str]) -> bool:
    """Whether ``role`` may receive private interactions (``Settings.private_roles``)."""
    return role in set(private_roles)


def actions_of(role: str) -> list[str]:
    return [a for a, (roles, _) in MATRIX.items() if role in roles]


def markdown_table(private_roles: Iterable[str] = ("admin", "agent")) -> str:
    """The matrix as a Markdown table (for docs/api.md)."""
    private = set(private_roles)
    lines = [
        "| action | covers | " + " | ".join(ROLES) + " |",
        "|---|---|" + "---|" * len(ROLES),
    ]
    for action, (roles, covers) in MATRIX.items():
        cells = " | ".join("yes" if r in roles else "—" for r in ROLES)
        lines.append(f"| `{action}` | {covers} | {cells} |")
    cells = " | ".join("yes" if r in private else "—" for r in ROLES)
    lines.append(f"| *private interactions* | `Settings.private_roles` (default) | {cells} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table())
