# SignalFlow application image: one image for every process (web, ingest, bridge, workers, beat,
# flower); docker-compose.yml picks the command. Build: docker build -t signalflow .
#
# torch comes from PyPI by default, which is the CUDA build the gpu worker needs. For CPU-only
# hosts, build with --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu (far smaller).
FROM python:3.11-slim-bookworm AS build

ARG TORCH_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
# Test and lint tools in the lock are harmless and small; keeping one lock keeps builds reproducible.
RUN pip install --upgrade pip wheel \
 && if [ -n "$TORCH_INDEX_URL" ]; then pip install --extra-index-url "$TORCH_INDEX_URL" "torch==2.13.0"; fi \
 && pip install -r /tmp/requirements.txt

FROM python:3.11-slim-bookworm

# libpq for pg_isready-free health checks is not needed: health checks use Python only.
RUN useradd --create-home --uid 10001 signalflow
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=signalflow.settings.production \
    SIGNALFLOW_METRICS_ADDR=0.0.0.0
WORKDIR /app
COPY --chown=signalflow:signalflow . /app
RUN mkdir -p /app/var/static /app/var/archive /app/var/models \
 && DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input --verbosity 0 \
 && chown -R signalflow:signalflow /app/var
USER signalflow
EXPOSE 8000 9100
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "signalflow.asgi:application"]
