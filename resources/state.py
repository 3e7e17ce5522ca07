"""The state folder as a Dagster resource."""

from typing import Optional

import dagster as dg

from avgzsl.layout import StateLayout


class StateResource(dg.ConfigurableResource):
    """Where data, models, reports and stores live (default ``$AVGZSL_HOME`` or ``./.avgzsl``)."""

    home: Optional[str] = None

    def layout(self) -> StateLayout:
        return StateLayout.resolve(self.home).prepare()
