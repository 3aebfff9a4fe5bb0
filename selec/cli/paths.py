"""Where the demo federation's files live, and the environment its configs read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG_DIR = REPO_ROOT / "config" / "demo"
DEFAULT_DATA_DIR = Path("var") / "demo"
DEFAULT_BROKER = "127.0.0.1:50051"


def config_environ(data_dir: Path | None) -> Mapping[str, str]:
    """The environment configs are read with: the process's, plus SELEC_DATA_DIR."""
    environ = dict(os.environ)
    if data_dir is not None:
        environ["SELEC_DATA_DIR"] = str(data_dir.resolve())
    elif "SELEC_DATA_DIR" not in environ:
        environ["SELEC_DATA_DIR"] = str(DEFAULT_DATA_DIR.resolve())
    return environ


def node_config(config_dir: Path, country: str) -> Path:
    """The YAML file of a country's node in a federation config directory."""
    return config_dir / "nodes" / f"{country.lower()}.yaml"
