# winback worker image: slim, non-root, `winback` as entrypoint (`worker` by default).
# Built by users' CI; the development machines of this project have no Docker engine, so
# tests/unit/deploy/test_compose.py checks this file's settings instead of building it.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 winback \
 && mkdir -p /var/lib/winback && chown winback:winback /var/lib/winback
WORKDIR /app
COPY requirements-image.lock pyproject.toml README.md ./
COPY streams ./streams
# Exact versions with checked hashes from the lock; the project itself resolves nothing.
RUN pip install --no-cache-dir --require-hashes -r requirements-image.lock \
 && pip install --no-cache-dir --no-deps --no-build-isolation .

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001
# The web server (/metrics, /healthz, /readyz; nothing else) binds every interface here, and only
# here: the kubelet and Prometheus reach it from outside the container. Outside one it is loopback.
ENV WINBACK_WEB_HOST=0.0.0.0 \
    WINBACK_WEB_PORT=6066 \
    WINBACK_DATA_DIR=/var/lib/winback \
    WINBACK_STORE=rocksdb
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['WINBACK_WEB_PORT'], timeout=4)"]
ENTRYPOINT ["winback"]
CMD ["worker"]
