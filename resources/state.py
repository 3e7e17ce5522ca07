"""The state folder as a Dagster resource, shared by every resource that needs it (a nested resource)."""

from typing import Optional

import dagster as dg

from avgzsl.layout import StateLayout


class StateResource(dg.ConfigurableResource):
    """Where data, models, reports and stores live (default ``$AVGZSL_HOME`` or ``./.avgzsl``)."""

    home: Optional[str] = None

    @classmethod
    def of(cls, layout: StateLayout) -> "StateResource":
        return cls(home=str(layout.home))

    def layout(self) -> StateLayout:
        return StateLayout.resolve(self.home).prepare()


class UsesState(dg.ConfigurableResource):
    """A resource that reads the state folder from the shared :class:`StateResource` (default: ``$AVGZSL_HOME``)."""

    state: StateResource

    def __init__(self, **config):
        config.setdefault("state", StateResource())
        super().__init__(**config)
