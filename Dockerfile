# The workshop's own programs for docker-compose: the toy services, the load generator and the
# notification inbox, each started as `workshop <command> ...` (see docker-compose.yml).
# The Prometheus components themselves come from their official images, not from here.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/workshop
COPY pyproject.toml README.md ./
COPY stack ./stack
COPY toyservice ./toyservice
COPY workshop ./workshop
RUN pip install . \
    && mkdir -p /data \
    && chown nobody:nogroup /data

# Services bind 0.0.0.0 inside their container (compose publishes them on 127.0.0.1 of the host).
USER nobody
EXPOSE 8080 5001
ENTRYPOINT ["workshop"]
CMD ["--help"]
