"""socialcrm: a Social CRM engine — the R in CRM is Relationship, not Record."""

from socialcrm.settings import Settings
from socialcrm.workspace import Workspace

__all__ = ["Settings", "Workspace"]
__version__ = "0.1.0"
