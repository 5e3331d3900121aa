# The chat server and the action server: Rasa's official image, our code, the trained model.
#   make train && docker build -f deploy/docker/rasa.Dockerfile -t haven-rasa .        (from the project root)
# One image for both (docs/deployment.md#images): `make run` starts the action server in the Rasa environment
# (.venv) too, so the action server runs with exactly the packages it is tested with (SQLAlchemy 1.4, rapidfuzz,
# jsonschema 4.17 as in constraints.txt), which rasa/rasa-sdk alone does not have.
#
# rasa/rasa:3.6.21 (not -full: that tag adds spaCy, MITIE and transformers models, gigabytes our pipeline does not
# use; config.yml is whitespace tokens, count vectors and DIET). Ubuntu 22.04, Python 3.10 in /opt/venv,
# user 1001, WORKDIR and HOME /app, ENTRYPOINT ["rasa"]. Pin its digest in production: rasa/rasa:3.6.21@sha256:...
FROM rasa/rasa:3.6.21

USER root
# Our runtime requirements (requirements.txt without the test tools) at the versions constraints.txt pins: pip
# aligns whatever the image has to the versions `make test` ran with.
COPY requirements.txt constraints.txt /tmp/haven/
RUN grep -vE '^(pytest|pytest-asyncio|playwright)==' /tmp/haven/requirements.txt > /tmp/haven/runtime.txt \
 && /opt/venv/bin/pip install --no-cache-dir -r /tmp/haven/runtime.txt -c /tmp/haven/constraints.txt \
 && rm -rf /tmp/haven

WORKDIR /app
# Code and data owned by root, read-only for the user that runs them. No .env, no var/, no secrets
# (.dockerignore): settings come from the environment at run time.
COPY --chown=root:root bot/ bot/
COPY --chown=root:root rasa_ext/ rasa_ext/
COPY --chown=root:root actions/ actions/
COPY --chown=root:root services/ services/
COPY --chown=root:root data/ data/
COPY --chown=root:root docs/schemas/ docs/schemas/
COPY --chown=root:root deploy/docker/run.py deploy/docker/run.py
COPY --chown=root:root config.yml domain.yml endpoints.yml credentials.yml ./
# The model `make train` built and `make test`/`make eval` checked (crisis detection included), not one trained
# again here: Rasa's training is not bit-for-bit reproducible across machines, and this one was evaluated.
COPY --chown=root:root models/current.tar.gz models/current.tar.gz
# The launcher's plan runs children with /app/.venv/bin/python: the image's venv.
RUN ln -s /opt/venv /app/.venv \
 && mkdir -m 0700 /data && chown 1001:0 /data

# HOME on /tmp: Rasa writes its small global config (~/.config/rasa) there; the code and /app stay read-only.
ENV PYTHONPATH=/app \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    RASA_CACHE_DIRECTORY=/tmp/rasa-cache \
    DATA_DIR=/data \
    HOST=0.0.0.0 \
    RASA_TELEMETRY_ENABLED=false \
    PYTHONUNBUFFERED=1
VOLUME /data
USER 1001
EXPOSE 5005
ENTRYPOINT ["/opt/venv/bin/python", "/app/deploy/docker/run.py"]
CMD ["rasa"]
