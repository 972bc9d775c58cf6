"""Twitter handle helpers shared by the Twitter adapters (:mod:`.twcs`, :mod:`.ibm`).

A mention is ``@`` plus 1–15 ASCII letters, digits or underscores, not glued to a
preceding word (so ``ann@example.com`` is no mention) and not running on into a longer
word — Twitter's own username rule (help.twitter.com, "Username rules"). Twitter
handles are case-insensitive, so a mention is written with the spelling of the
author it matches in the same file (``@DELTA`` → ``Delta``), or of its first mention
when no author matches: otherwise one account would split into several identities.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_MENTION = re.compile(r"(?<![A-Za-z0-9_@])@([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_])")


def mentions(text: str | None) -> list[str]:
    """The handles mentioned in ``text``, in order of first appearance, without ``@``."""
    if not text or "@" not in text:
        return []
    return list(dict.fromkeys(_MENTION.findall(text)))


def case_map(names: Iterable[str]) -> dict[str, str]:
    """Lower-cased name → the first spelling seen, to write mentions like their authors."""
    out: dict[str, str] = {}
    for name in names:
        out.setdefault(name.lower(), name)
    return out


def targets(
    first: Iterable[str], text: str | None, actor: str, spelling: dict[str, str]
) -> list[str]:
    """``twitter:`` handles addressed by a tweet: ``first`` (the party replied to), then
    the mentioned handles, without repeats and without the actor itself.

    A mention is spelt as in ``spelling``; an unknown one is added to it, so later
    mentions of the same account share its first spelling.
    """
    out: dict[str, None] = {}
    for name in first:
        out[f"twitter:{name}"] = None
    for name in mentions(text):
        out[f"twitter:{spelling.setdefault(name.lower(), name)}"] = None
    out.pop(actor, None)
    return list(out)
