# winback worker image: slim, non-root, `winback` as entrypoint.
# (Built by users' CI; the development machines of this project have no Docker engine.)
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 winback \
 && mkdir -p /var/lib/winback && chown winback /var/lib/winback
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
RUN pip install --no-cache-dir '.[rocksdb]'

USER winback
ENV WINBACK_WEB_HOST=0.0.0.0 \
    WINBACK_WEB_PORT=6066 \
    WINBACK_DATA_DIR=/var/lib/winback \
    WINBACK_STORE=rocksdb
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/metrics' % os.environ['WINBACK_WEB_PORT'], timeout=4)"
ENTRYPOINT ["winback"]
CMD ["worker"]
