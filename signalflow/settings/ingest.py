"""Settings of apps/ingest, read through signalflow/settings/env.py. docs/ingest.md lists them all."""

from .env import env_bool, env_float, env_int, env_str, redis_db_url  # noqa: F401
from .redis import REDIS_URL

# Process
INGEST_METRICS_PORT = env_int("INGEST_METRICS_PORT", 9102)  # 0 turns the /metrics listener off
INGEST_CONFIG_RELOAD_SECONDS = env_float("INGEST_CONFIG_RELOAD_SECONDS", 30.0)  # source_config re-read (≤ 60 s)
INGEST_BACKOFF_MAX_SECONDS = env_float("INGEST_BACKOFF_MAX_SECONDS", 300.0)  # cap of a failing source's backoff
INGEST_STARTUP_SPREAD_SECONDS = env_float("INGEST_STARTUP_SPREAD_SECONDS", 60.0)  # first polls spread over this
# Signals already produced (id → last score/comment count), so a re-poll is a refresh, not a new signal.
INGEST_REDIS_URL = env_str("INGEST_REDIS_URL", redis_db_url(REDIS_URL, 4))
INGEST_SEEN_TTL_SECONDS = env_int("INGEST_SEEN_TTL_SECONDS", 7 * 24 * 3600)

# Reddit (asyncpraw, application-only OAuth). Free tier: 100 queries per minute per client id.
REDDIT_CLIENT_ID = env_str("REDDIT_CLIENT_ID", "")
REDDIT_CLIENT_SECRET = env_str("REDDIT_CLIENT_SECRET", "")
REDDIT_USER_AGENT = env_str("REDDIT_USER_AGENT", "signalflow/1.0 (by /u/signalflow)")
REDDIT_OAUTH_URL = env_str("REDDIT_OAUTH_URL", "https://oauth.reddit.com")
REDDIT_URL = env_str("REDDIT_URL", "https://www.reddit.com")
REDDIT_RATE_PER_SECOND = env_float("REDDIT_RATE_PER_SECOND", 1.5)
REDDIT_BURST = env_int("REDDIT_BURST", 5)
REDDIT_LISTING_LIMIT = env_int("REDDIT_LISTING_LIMIT", 100)
REDDIT_TOP_COMMENTS = env_int("REDDIT_TOP_COMMENTS", 25)
REDDIT_COMMENT_MIN_SCORE = env_int("REDDIT_COMMENT_MIN_SCORE", 5)
# comment trees fetched per subreddit poll (highest-scoring new posts first): bounds the first-start
# backlog (188 subreddits x 100 new posts) to what the 100 requests/min quota can serve
REDDIT_COMMENT_POSTS_PER_POLL = env_int("REDDIT_COMMENT_POSTS_PER_POLL", 10)
REDDIT_REFRESH_SECONDS = env_float("REDDIT_REFRESH_SECONDS", 900.0)
REDDIT_REFRESH_WINDOW_HOURS = env_float("REDDIT_REFRESH_WINDOW_HOURS", 24.0)

# Bluesky firehose (no credentials needed)
BLUESKY_FIREHOSE_URL = env_str("BLUESKY_FIREHOSE_URL", "wss://bsky.network/xrpc")
BLUESKY_RECV_TIMEOUT_SECONDS = env_float("BLUESKY_RECV_TIMEOUT_SECONDS", 30.0)  # watchdog: silence = dead socket
BLUESKY_CURSOR_SAVE_SECONDS = env_float("BLUESKY_CURSOR_SAVE_SECONDS", 1.0)
BLUESKY_BATCH_SIZE = env_int("BLUESKY_BATCH_SIZE", 200)
# the cursor already prevents duplicates; the seen-store only covers produced-but-not-yet-saved frames,
# so a short TTL keeps millions of post ids a day out of Redis
BLUESKY_SEEN_TTL_SECONDS = env_int("BLUESKY_SEEN_TTL_SECONDS", 3600)
BLUESKY_RATE_PER_SECOND = env_float("BLUESKY_RATE_PER_SECOND", 2000.0)  # signals produced per second
BLUESKY_BURST = env_int("BLUESKY_BURST", 2000)

# Hacker News (Algolia, no credentials needed)
HN_ALGOLIA_URL = env_str("HN_ALGOLIA_URL", "https://hn.algolia.com/api/v1")
HN_STORIES = env_int("HN_STORIES", 80)
HN_COMMENT_PAGES = env_int("HN_COMMENT_PAGES", 5)
# Algolia indexes with a delay: re-ask for this much before the high-water mark (the seen-store drops repeats)
HN_COMMENT_OVERLAP_SECONDS = env_int("HN_COMMENT_OVERLAP_SECONDS", 600)
HN_RATE_PER_SECOND = env_float("HN_RATE_PER_SECOND", 2.0)
HN_BURST = env_int("HN_BURST", 4)
HN_TIMEOUT_SECONDS = env_float("HN_TIMEOUT_SECONDS", 20.0)

# YouTube Data API v3 (google-api-python-client, API key)
YOUTUBE_API_KEY = env_str("YOUTUBE_API_KEY", "")
YOUTUBE_API_URL = env_str("YOUTUBE_API_URL", "https://youtube.googleapis.com/")
YOUTUBE_DAILY_QUOTA = env_int("YOUTUBE_DAILY_QUOTA", 10_000)
YOUTUBE_VIDEOS_PER_CHANNEL = env_int("YOUTUBE_VIDEOS_PER_CHANNEL", 5)
YOUTUBE_THREADS_PER_VIDEO = env_int("YOUTUBE_THREADS_PER_VIDEO", 100)
YOUTUBE_RATE_PER_SECOND = env_float("YOUTUBE_RATE_PER_SECOND", 2.0)
YOUTUBE_BURST = env_int("YOUTUBE_BURST", 4)
YOUTUBE_TIMEOUT_SECONDS = env_float("YOUTUBE_TIMEOUT_SECONDS", 30.0)
