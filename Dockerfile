# Jerry: slim, non-root, dependencies in their own cached layer.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, from the pins, with empty packages standing in for the source:
# this layer is rebuilt only when pyproject.toml or constraints.txt change.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir -p bot handlers models migrations \
    && touch bot/__init__.py handlers/__init__.py models/__init__.py migrations/__init__.py \
    && pip install -c constraints.txt . \
    && pip uninstall -y jerry

COPY bot ./bot
# The scopes Jerry asks for, installed with the code: `jerry doctor` compares the token's.
COPY manifest.yml ./bot/manifest.yml
COPY handlers ./handlers
COPY models ./models
COPY migrations ./migrations
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 jerry \
    && mkdir -p /data && chown jerry /data

USER jerry
WORKDIR /data
ENV DATABASE_URL=sqlite+aiosqlite:////data/jerry.db PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4).status == 200 else 1)"
# `jerry serve` migrates the schema first (under a lock, so replicas can start together).
CMD ["sh", "-c", "exec jerry serve --port \"$PORT\""]
