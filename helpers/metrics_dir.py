"""The folder of the workers' metrics files (prometheus_client's multiprocess mode), emptied
before the workers start; chosen before prometheus_client is first imported, as it requires."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsDir:
    """The folder of this run: METRICS_DIR when set, else a new temporary one for several
    workers; None (plain in-process metrics) for one worker without METRICS_DIR."""

    def __init__(self, configured: str, workers: int):
        self.path: Path | None = None
        self._made_here = False
        if not configured and workers == 1:
            return
        if "prometheus_client" in sys.modules:
            raise RuntimeError("the metrics folder must be chosen before prometheus_client loads")
        if configured:
            self.path = Path(configured).resolve()
            self.path.mkdir(parents=True, exist_ok=True)
            # Files of an earlier run would add its counts to this one's.
            for stale in self.path.glob("*.db"):
                stale.unlink()
        else:
            self.path = Path(tempfile.mkdtemp(prefix="vinterr-metrics-"))
            self._made_here = True
        # Inherited by the worker processes, which read it when they import prometheus_client.
        os.environ[ENV] = str(self.path)

    def remove(self) -> None:
        """Removes the folder when this run made it; a configured one keeps its files."""
        if self._made_here and self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
