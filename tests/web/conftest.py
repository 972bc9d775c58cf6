"""The browser tests use the service's real test workspace (tests/api/conftest.py)."""

try:  # tests/ as a package, or tests/api and tests/web as top-level packages
    from ..api.conftest import Built, built_workspace, workspace_copy
except ImportError:  # pragma: no cover - depends on how pytest roots the packages
    from api.conftest import (  # type: ignore[no-redef]
        Built,
        built_workspace,
        workspace_copy,
    )

__all__ = ["Built", "built_workspace", "workspace_copy"]
