"""Configuration: one settings class, every value from a COMPLAINTS_* environment variable.

Every default here is documented in README.md (Configuration).
"""

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.policy import Policy, PolicyError, parse_policy

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "domain" / "default_policy.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPLAINTS_")

    temporal_address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "complaints"
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: a SQLite file in data_dir
    policy: Path = DEFAULT_POLICY
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'complaints.sqlite3'}"

    def load_policy(self) -> Policy:
        try:
            text = self.policy.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(
                f"COMPLAINTS_POLICY: cannot read {self.policy}: {exc.strerror}"
            ) from exc
        return parse_policy(text, source=str(self.policy))
