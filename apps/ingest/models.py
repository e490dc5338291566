"""What the sources watch (source_config) and where each stream resumes (ingest_cursors)."""

from django.db import models

from signalflow.signal import Platform


class SourceConfig(models.Model):
    """One watched source: a subreddit, an HN feed, a YouTube channel handle, the Bluesky firehose.

    Edited live (admin or SQL); running sources pick changes up within 60 s.
    """

    platform = models.CharField(max_length=16, choices=[(p.value, p.value) for p in Platform])
    identifier = models.CharField(max_length=200, help_text="subreddit name, @handle, feed name or 'firehose'")
    label = models.CharField(max_length=200, blank=True, help_text="category shown to people, e.g. technology")
    poll_interval_seconds = models.PositiveIntegerField(default=300)
    is_active = models.BooleanField(default=True)
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "source_config"
        constraints = [
            models.UniqueConstraint(fields=["platform", "identifier"], name="source_config_platform_identifier")
        ]
        ordering = ["platform", "identifier"]

    def __str__(self) -> str:
        return f"{self.platform}:{self.identifier}"


class IngestCursor(models.Model):
    """A resume point that must survive restarts: the firehose seq, a source's newest seen id."""

    key = models.CharField(max_length=300, primary_key=True)
    value = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "ingest_cursors"

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
