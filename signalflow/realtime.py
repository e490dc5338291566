"""The live feed contract between the pipeline (publisher) and the WebSocket consumer (apps/api).

After a batch commits, the pipeline sends one message per stored signal to the Channels group
SIGNALS_GROUP: {"type": SIGNAL_STORED_TYPE, "signal": <public signal dict>}. Channels maps the
type "signal.stored" to the consumer method `signal_stored`.
"""

SIGNALS_GROUP = "signals"
SIGNAL_STORED_TYPE = "signal.stored"

# Fields of the public signal dict sent to WebSocket clients (body trimmed to 500 characters).
PUBLIC_SIGNAL_FIELDS = (
    "id",
    "platform",
    "title",
    "body",
    "url",
    "author",
    "community",
    "published_at",
    "topics",
    "sentiment_compound",
    "sentiment_label",
    "sentiment_model",
    "is_comment",
    "language",
    "raw_score",
    "comment_count",
    "velocity",
    "trending_score",
    "is_trending",
)
