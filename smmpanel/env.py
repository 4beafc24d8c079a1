"""Small helpers to read settings from the environment."""

import os
import secrets
from pathlib import Path


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def data_dir() -> Path:
    path = Path(os.environ.get("SMMPANEL_DATA_DIR", "data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(directory: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into the data dir."""
    value = os.environ.get("SECRET_KEY", "").strip()
    if value:
        return value
    path = directory / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()
