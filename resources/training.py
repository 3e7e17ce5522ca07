"""Where training runs: the device and the torch CPU threads (not part of a run's identity)."""
import dagster as dg
from pydantic import Field

from avgzsl.runtime import configure_threads, resolve_device


class TrainingResource(dg.ConfigurableResource):
    """Device and CPU threads for training and evaluation."""

    device: str = Field(default="auto", description="auto | cpu | cuda | cuda:N")
    threads: int = Field(default=0, description="torch CPU threads; 0: $AVGZSL_TORCH_THREADS, else 1 (never the load)")

    def setup(self) -> str:
        """Apply the thread count; the resolved device."""
        configure_threads(self.threads or None)
        return resolve_device(self.device)
