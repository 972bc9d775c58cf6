"""Workspace settings: defaults in code, overrides in ``socialcrm.toml`` beside the store.

One flat, documented place for every tunable the stages read (half-life of tie decay,
strength threshold for reach, which roles may see private interactions...). Stages
receive the values they need as arguments; only the Workspace reads this file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_DB = "socialcrm.duckdb"
SETTINGS_FILE = "socialcrm.toml"


@dataclass(frozen=True)
class Settings:
    """Tunables of a workspace. Every field can be set in ``socialcrm.toml``."""

    db_path: Path = Path(DEFAULT_DB)
    memory_limit: str = "4GB"  # DuckDB spills to disk beyond this
    threads: int = 0  # 0 = all cores
    tie_half_life_days: float = 30.0  # older contact counts half as much every half-life
    reach_strength_threshold: float = 0.2  # ties at least this strong count for reach
    private_roles: tuple[str, ...] = ("admin", "agent")  # API roles allowed private interactions
    clock: str = "now"  # routing's "now": "now" (UTC), "latest" (newest interaction) or ISO time
    extra: dict[str, Any] = field(default_factory=dict)  # sections other stages read

    @classmethod
    def load(cls, db_path: Path | str | None = None, file: Path | None = None) -> Settings:
        """Defaults, then ``socialcrm.toml`` beside the store (or ``file``), then ``db_path``."""
        db = Path(db_path) if db_path is not None else Path(DEFAULT_DB)
        toml_path = file or db.parent / SETTINGS_FILE
        values: dict[str, Any] = {}
        if toml_path.exists():
            with toml_path.open("rb") as fh:
                raw = tomllib.load(fh)
            known = {f.name for f in fields(cls)}
            for key, value in raw.items():
                if key in known:
                    values[key] = tuple(value) if isinstance(value, list) else value
                else:
                    values.setdefault("extra", {})[key] = value
        settings = cls(**values)
        return replace(settings, db_path=db if db_path is not None else Path(settings.db_path))
