FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY migrations ./migrations
# Editable, so bot/ finds migrations/ beside it.
RUN pip install --no-cache-dir -e .

RUN useradd --create-home --uid 1000 bot && mkdir -p /data && chown bot /data
USER bot
ENV DATABASE_PATH=/data/bot.sqlite3
VOLUME ["/data"]

CMD ["python", "-m", "bot"]
