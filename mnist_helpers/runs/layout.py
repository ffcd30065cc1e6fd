"""The artifacts layout: where a run keeps each file, relative to its artifacts folder.

Written once here; the notebooks, the run folder, the checkpoint keeper and the command line all
read it. Importing it imports nothing heavy.
"""

from __future__ import annotations

from pathlib import Path

BEST_CHECKPOINT = Path("checkpoints") / "best.pt"  # best validation accuracy so far
LAST_CHECKPOINT = Path("checkpoints") / "last.pt"  # latest finished epoch, for resuming
HISTORY_FILE = Path("history.json")  # one record per finished epoch
METRICS_FILE = Path("metrics.json")  # 03's test metrics
ONNX_FILE = Path("model") / "mnist_cnn.onnx"  # 04's export
FIGURES_DIR = Path("figures")
SAMPLES_DIR = Path("samples")
NOTEBOOKS_DIR = Path("notebooks")  # executed copies from make run
# Folders whose leftover temporary files (from a killed writer) the next run removes.
WRITTEN_DIRS = (Path("."), BEST_CHECKPOINT.parent, FIGURES_DIR, ONNX_FILE.parent, SAMPLES_DIR)


class RunFiles:
    """Where a run folder keeps its files; shared by the lock holder and the checkpoint keeper."""

    folder: Path

    @property
    def best_path(self) -> Path:
        """Checkpoint with the best validation accuracy so far."""
        return self.folder / BEST_CHECKPOINT

    @property
    def last_path(self) -> Path:
        """Checkpoint of the latest finished epoch (for resuming)."""
        return self.folder / LAST_CHECKPOINT

    @property
    def history_path(self) -> Path:
        """History of all finished epochs, as JSON."""
        return self.folder / HISTORY_FILE
