"""The routing policy: community-first windows, straight-to-staff rules, SLAs, caps.

Seed 001 (M. Wu, "A Scientist's View of Social CRM", Lithium, 2010) asks employees to wait
and "let the community's superusers, advocates and influencers respond first", stepping
in "only when the community is not able to provide a satisfactory answers in a timely
manner. This wait time is different for every community and depends on the urgency of
the product and nature of the question." The policy makes that wait time a readable
setting per urgency and topic (``default_policy.toml`` beside this module), together with
what skips the wait (private channels, urgent complaints, an explicit request for staff),
service-level targets, the reassignment timeout and the per-agent cap.

Users override it with a ``[routing]`` section in ``socialcrm.toml`` (same keys, merged
over the defaults) or ``[routing] policy_file = "my-policy.toml"``.

Example
-------
>>> p = load_policy({"assignment": {"per_agent_cap": 3}})
>>> p.per_agent_cap, p.window_minutes_default
(3, 240.0)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_POLICY_FILE = "default_policy.toml"
INTENTS = ("question", "complaint", "praise", "feedback", "announcement", "other")


class PolicyError(ValueError):
    """A policy file or override that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class WindowRule:
    """One community-first window rule; a condition left empty matches everything."""

    name: str
    minutes: float
    urgency: tuple[str, ...] = ()
    intent: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    visibility: str | None = None


@dataclass(frozen=True)
class Policy:
    """Every routing setting, read from ``default_policy.toml`` plus overrides."""

    urgency_levels: tuple[str, ...]
    urgency_thresholds: dict[str, float]
    critical_patterns: tuple[str, ...]
    high_patterns: tuple[str, ...]
    topics: dict[str, tuple[str, ...]]
    window_minutes_default: float
    window_rules: tuple[WindowRule, ...]
    staff_private_channels: bool
    staff_complaint_urgencies: tuple[str, ...]
    staff_roles: tuple[str, ...]
    explicit_request_patterns: tuple[str, ...]
    community_roles: tuple[str, ...]
    community_tiers: tuple[str, ...]
    community_min_good_answers: int
    invite_top_k: int
    per_agent_cap: int
    reassign_after_minutes: float
    max_reassignments: int
    at_risk_share: float
    first_response_minutes: dict[str, float]
    resolution_minutes: dict[str, float]
    accepted_is_satisfactory: bool
    not_answers: tuple[str, ...]
    quiet_hours: float
    acknowledgement_patterns: tuple[str, ...]
    new_question_patterns: tuple[str, ...]
    priority_weights: dict[str, float]
    activity_half_life_days: float
    recent_hours: float
    accepted_bonus: float
    responder_weights: dict[str, float]
    day_granular_kinds: tuple[str, ...]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- derived, compiled once -------------------------------------------------------
    def level_rank(self, level: str) -> int:
        """0 for the least urgent level; unknown levels count as the second (normal)."""
        try:
            return self.urgency_levels.index(level)
        except ValueError:
            return min(1, len(self.urgency_levels) - 1)

    @property
    def acknowledgement_re(self) -> re.Pattern[str]:
        return _compile(self.acknowledgement_patterns)

    @property
    def new_question_re(self) -> re.Pattern[str]:
        return _compile(self.new_question_patterns)

    @property
    def explicit_request_re(self) -> re.Pattern[str]:
        return _compile(self.explicit_request_patterns)

    @property
    def critical_re(self) -> re.Pattern[str]:
        return _compile(self.critical_patterns)

    @property
    def high_re(self) -> re.Pattern[str]:
        return _compile(self.high_patterns)

    def first_response_target(self, level: str) -> float:
        """Minutes allowed to the first response at an urgency level."""
        return float(self.first_response_minutes.get(level, self.first_response_minutes["normal"]))

    def resolution_target(self, level: str) -> float:
        return float(self.resolution_minutes.get(level, self.resolution_minutes["normal"]))


_COMPILED: dict[tuple[str, ...], re.Pattern[str]] = {}


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive alternation of the patterns (cached)."""
    if patterns not in _COMPILED:
        joined = "|".join(f"(?:{p})" for p in patterns) or r"(?!x)x"
        _COMPILED[patterns] = re.compile(joined, re.IGNORECASE)
    return _COMPILED[patterns]


def default_policy_dict() -> dict[str, Any]:
    """The shipped defaults as a plain dictionary (``default_policy.toml``)."""
    text = (resources.files("socialcrm.routing") / DEFAULT_POLICY_FILE).read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], over: dict[str, Any], where: str) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if key not in base:
            known = ", ".join(sorted(base))
            raise PolicyError(f"routing policy: unknown key {where}{key!r}; known here: {known}")
        if isinstance(base[key], dict) and key not in ("topics",):
            if not isinstance(value, dict):
                raise PolicyError(f"routing policy: {where}{key} must be a table, got {value!r}")
            out[key] = _merge(base[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


def load_policy(overrides: dict[str, Any] | None = None, file: str | Path | None = None) -> Policy:
    """Defaults, then a policy file (``file`` or ``overrides["policy_file"]``), then overrides.

    ``overrides`` is the ``[routing]`` section of ``socialcrm.toml``
    (``Settings.extra["routing"]``). ``[topics]`` is replaced whole when given, so a
    community can define its own topics; every other table merges key by key.
    """
    raw = default_policy_dict()
    overrides = dict(overrides or {})
    file = file or overrides.pop("policy_file", None)
    if file is not None:
        path = Path(file)
        try:
            with path.open("rb") as fh:
                raw = _merge(raw, tomllib.load(fh), "")
        except OSError as exc:
            raise PolicyError(f"routing policy file {path}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"routing policy file {path}: not valid TOML ({exc})") from None
    raw = _merge(raw, overrides, "")
    return _build(raw)


def policy_for(settings: Any) -> Policy:
    """The policy of a workspace's settings (``Settings.extra["routing"]``)."""
    extra = getattr(settings, "extra", {}) or {}
    return load_policy(extra.get("routing"))


def _tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple):
        raise PolicyError(f"routing policy: {where} must be a list of strings, got {value!r}")
    return tuple(str(v) for v in value)


def _build(raw: dict[str, Any]) -> Policy:
    try:
        u, w, st, cm, a, sla, sat = (
            raw["urgency"],
            raw["window"],
            raw["staff"],
            raw["community"],
            raw["assignment"],
            raw["sla"],
            raw["satisfaction"],
        )
        levels = _tuple(u["levels"], "urgency.levels")
        rules = []
        for i, r in enumerate(w.get("rules", [])):
            if "minutes" not in r:
                raise PolicyError(f"routing policy: window.rules[{i}] needs minutes")
            unknown = set(r) - {
                "name",
                "minutes",
                "urgency",
                "intent",
                "topics",
                "channels",
                "visibility",
            }
            if unknown:
                raise PolicyError(
                    f"routing policy: window.rules[{i}] has unknown keys {sorted(unknown)}"
                )
            rules.append(
                WindowRule(
                    name=str(r.get("name", f"rule {i + 1}")),
                    minutes=float(r["minutes"]),
                    urgency=_tuple(r.get("urgency"), f"window.rules[{i}].urgency"),
                    intent=_tuple(r.get("intent"), f"window.rules[{i}].intent"),
                    topics=_tuple(r.get("topics"), f"window.rules[{i}].topics"),
                    channels=_tuple(r.get("channels"), f"window.rules[{i}].channels"),
                    visibility=r.get("visibility"),
                )
            )
        for name in ("first_response_minutes", "resolution_minutes"):
            missing = set(levels) - set(sla[name])
            if missing:
                raise PolicyError(f"routing policy: sla.{name} lacks levels {sorted(missing)}")
        policy = Policy(
            urgency_levels=levels,
            urgency_thresholds={k: float(v) for k, v in u["score_thresholds"].items()},
            critical_patterns=_tuple(u["critical_patterns"], "urgency.critical_patterns"),
            high_patterns=_tuple(u["high_patterns"], "urgency.high_patterns"),
            topics={k: _tuple(v, f"topics.{k}") for k, v in raw["topics"].items()},
            window_minutes_default=float(w["default_minutes"]),
            window_rules=tuple(rules),
            staff_private_channels=bool(st["private_channels"]),
            staff_complaint_urgencies=_tuple(
                st["complaint_urgencies"], "staff.complaint_urgencies"
            ),
            staff_roles=_tuple(st["roles"], "staff.roles"),
            explicit_request_patterns=_tuple(
                st["explicit_request_patterns"], "staff.explicit_request_patterns"
            ),
            community_roles=_tuple(cm["roles"], "community.roles"),
            community_tiers=_tuple(cm["tiers"], "community.tiers"),
            community_min_good_answers=int(cm["min_good_answers"]),
            invite_top_k=int(cm["invite_top_k"]),
            per_agent_cap=int(a["per_agent_cap"]),
            reassign_after_minutes=float(a["reassign_after_minutes"]),
            max_reassignments=int(a["max_reassignments"]),
            at_risk_share=float(sla["at_risk_share"]),
            first_response_minutes={k: float(v) for k, v in sla["first_response_minutes"].items()},
            resolution_minutes={k: float(v) for k, v in sla["resolution_minutes"].items()},
            accepted_is_satisfactory=bool(sat["accepted"]),
            not_answers=_tuple(sat["not_answers"], "satisfaction.not_answers"),
            quiet_hours=float(sat["quiet_hours"]),
            acknowledgement_patterns=_tuple(
                sat["acknowledgement_patterns"], "satisfaction.acknowledgement_patterns"
            ),
            new_question_patterns=_tuple(
                sat["new_question_patterns"], "satisfaction.new_question_patterns"
            ),
            priority_weights={k: float(v) for k, v in raw["priority"]["weights"].items()},
            activity_half_life_days=float(raw["responders"]["activity_half_life_days"]),
            recent_hours=float(raw["responders"]["recent_hours"]),
            accepted_bonus=float(raw["responders"]["accepted_bonus"]),
            responder_weights={k: float(v) for k, v in raw["responders"]["weights"].items()},
            day_granular_kinds=_tuple(raw["replay"]["day_granular_kinds"], "replay"),
            raw=raw,
        )
    except KeyError as exc:
        raise PolicyError(f"routing policy: missing key {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, PolicyError):
            raise
        raise PolicyError(f"routing policy: {exc}") from None
    for patterns in (
        policy.critical_patterns,
        policy.high_patterns,
        policy.explicit_request_patterns,
        policy.acknowledgement_patterns,
        policy.new_question_patterns,
    ):
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise PolicyError(f"routing policy: bad regular expression {p!r}: {exc}") from None
    if policy.per_agent_cap < 1:
        raise PolicyError("routing policy: assignment.per_agent_cap must be at least 1")
    return policy


# --- decisions over columns of conversations ---------------------------------------------
# Decisions take columns (a DataFrame, or a dict of arrays for one conversation) and
# return arrays: the same code decides for 100,000 queued conversations and, within
# microseconds, for the one that just arrived (replay, bench).


def column(conv: Any, name: str, n: int, fill: Any = None) -> np.ndarray:
    if name in conv:
        value = conv[name]
        return value.to_numpy() if isinstance(value, pd.Series) else np.asarray(value, dtype=object)
    return np.full(n, fill, dtype=object)


def n_rows(conv: Any) -> int:
    return len(conv) if isinstance(conv, pd.DataFrame) else len(next(iter(conv.values())))


def _isin(values: np.ndarray, allowed: tuple[str, ...]) -> np.ndarray:
    if not allowed:
        return np.ones(len(values), dtype=bool)
    wanted = set(allowed)
    return np.fromiter((v in wanted for v in values), dtype=bool, count=len(values))


def community_window(conv: Any, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """Minutes of community-first window and the rule that set it, per conversation.

    ``conv`` has columns ``urgency`` (level), ``intent``, ``topics`` (lists),
    ``channel`` and ``visibility``. The first matching rule wins; no match gives
    ``window.default_minutes``.
    """
    n = n_rows(conv)
    urgency, intent = column(conv, "urgency", n), column(conv, "intent", n)
    channel, visibility = column(conv, "channel", n), column(conv, "visibility", n)
    topics = column(conv, "topics", n)
    minutes = np.full(n, policy.window_minutes_default, dtype=float)
    rule = np.full(n, "default", dtype=object)
    decided = np.zeros(n, dtype=bool)
    for r in policy.window_rules:
        m = ~decided & _isin(urgency, r.urgency) & _isin(intent, r.intent)
        m &= _isin(channel, r.channels)
        if r.visibility:
            m &= visibility == r.visibility
        if r.topics:
            wanted = set(r.topics)
            m &= np.fromiter(
                (bool(wanted.intersection(t)) if t is not None else False for t in topics),
                dtype=bool,
                count=n,
            )
        minutes[m] = r.minutes
        rule[m] = r.name
        decided |= m
    return minutes, rule


def straight_to_staff(conv: Any, policy: Policy) -> np.ndarray:
    """Why each conversation skips the community window (None when it does not).

    Rules, first match: a private channel; a complaint at a staff urgency
    (``staff.complaint_urgencies``); the customer asking for staff in their words
    (``request_text``, matched against ``staff.explicit_request_patterns``).
    """
    n = n_rows(conv)
    visibility = column(conv, "visibility", n)
    intent, urgency = column(conv, "intent", n), column(conv, "urgency", n)
    texts = column(conv, "request_text", n, "")
    rx = policy.explicit_request_re
    urgent = set(policy.staff_complaint_urgencies)
    out = np.full(n, None, dtype=object)
    for i in range(n):
        if policy.staff_private_channels and visibility[i] != "public":
            out[i] = "private channel"
        elif intent[i] == "complaint" and urgency[i] in urgent:
            out[i] = f"{urgency[i]} complaint"
        elif isinstance(texts[i], str) and texts[i]:
            m = rx.search(texts[i])
            if m:
                out[i] = f"asked for staff: '{m.group(0)}'"
    return out
