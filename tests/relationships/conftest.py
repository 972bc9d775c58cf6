"""Fixtures of the relationship tests: the real SocioPatterns slice (see hand_data.py for the
hand-made log)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from socialcrm.relationships.eval_data import sociopatterns_edges


@pytest.fixture(scope="session")
def sp_dir(shared_data: Path) -> Path:
    return shared_data / "sociopatterns_highschool2013"


@pytest.fixture(scope="session")
def sp_slice(sp_dir: Path) -> pd.DataFrame:
    """The first 2,000 contacts of SocioPatterns high school 2013 (Dec 2, 11:00-11:54 UTC)."""
    return sociopatterns_edges(sp_dir / "tij_thiers13.dat", nrows=2000)
