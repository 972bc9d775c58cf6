"""The REST API: ``create_app(workspace)`` builds it (and the dashboard) over one workspace.

Imported lazily so the CLI (which registers ``serve`` and ``tokens`` from
:mod:`socialcrm.api.commands`) does not load FastAPI for every command.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from socialcrm.api.app import create_app

        return create_app
    raise AttributeError(name)
