"""Download and splitting settings as a resource (shared by every shard of a run): a MediaSettings as config."""
from pydantic import Field

from avgzsl.media.shards import MediaSettings
from resources.config import settings_resource


class MediaResource(settings_resource(MediaSettings, skip=("shards_at_once",))):
    """How videos are fetched and split; shards of one run are processed ``parallel_shards`` at a time."""

    parallel_shards: int = Field(default=2, description="shards processed at once within a run")

    def settings(self) -> MediaSettings:
        return self.core()
