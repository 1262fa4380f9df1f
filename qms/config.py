"""Settings from the environment (see .env.example). Nothing secret has a default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> Settings:
        return cls(
            database_url=os.environ.get("QMS_DATABASE_URL") or None,
            data_dir=Path(data_dir or os.environ.get("QMS_DATA_DIR") or "./.qms").absolute(),
        )
