# The staff inbox and the outbox deliverer (the services environment: a current Python and aiohttp).
#   docker build -f deploy/docker/services.Dockerfile -t haven-services .     (from the project root)
#   docker run ... haven-services inbox   |   docker run ... haven-services deliverer
FROM python:3.12-slim

# Our runtime requirements (requirements-services.txt without the test, lint and type tools) at the versions
# constraints-services.txt pins.
COPY requirements-services.txt constraints-services.txt /tmp/haven/
RUN grep -vE '^(pytest|pytest-asyncio|aiosmtpd|ruff|mypy|types-[A-Za-z]+)==' /tmp/haven/requirements-services.txt \
      > /tmp/haven/runtime.txt \
 && pip install --no-cache-dir -r /tmp/haven/runtime.txt -c /tmp/haven/constraints-services.txt \
 && rm -rf /tmp/haven \
 && useradd --system --uid 1001 --gid 0 --home-dir /app --shell /usr/sbin/nologin haven

WORKDIR /app
COPY --chown=root:root bot/ bot/
COPY --chown=root:root services/ services/
COPY --chown=root:root data/clinic/ data/clinic/
COPY --chown=root:root docs/schemas/ docs/schemas/
COPY --chown=root:root web/ web/
COPY --chown=root:root deploy/docker/run.py deploy/docker/run.py
# The launcher's plan runs the inbox and the deliverer with /app/.venv-services/bin/python: this Python.
RUN ln -s /usr/local /app/.venv-services \
 && mkdir -m 0700 /data && chown 1001:0 /data

ENV PYTHONPATH=/app \
    DATA_DIR=/data \
    INBOX_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
VOLUME /data
USER 1001
EXPOSE 8000
ENTRYPOINT ["python", "/app/deploy/docker/run.py"]
CMD ["inbox"]
