# syntax=docker/dockerfile:1
# One image for every enerdiag application service (collector, safety, api, scheduler): the services
# differ only in the command docker-compose.yml gives them. See docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENERDIAG_DATA_DIR=/data \
    TZ=Asia/Shanghai

# CJK fonts and Pango for the PDF diagnosis reports (WeasyPrint) and matplotlib charts with
# Chinese labels; tzdata so logs and `date` in the scheduler use China time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        fonts-noto-cjk \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libfontconfig1 \
        tzdata \
    && rm -rf /var/lib/apt/lists/*

# Unprivileged user; /data is the ENERDIAG_DATA_DIR volume (spool, dead letters, reports); /broker-auth the
# volume the scheduler writes the broker's accounts to (a new named volume takes this owner from the image).
RUN groupadd --system --gid 10001 enerdiag \
    && useradd --system --uid 10001 --gid enerdiag --home-dir /home/enerdiag --create-home enerdiag \
    && mkdir -p /data /broker-auth \
    && chown enerdiag:enerdiag /data /broker-auth

WORKDIR /opt/enerdiag
# Only what the package needs (.dockerignore keeps .venv, .run, tests and caches out).
COPY pyproject.toml README.md ./
COPY core ./core
COPY collector ./collector
COPY analytics ./analytics
COPY api ./api
COPY simulators ./simulators
COPY dashboards ./dashboards
COPY enerdiag ./enerdiag
RUN pip install . && enerdiag --help >/dev/null

USER enerdiag
VOLUME ["/data"]
EXPOSE 8000

# The default command serves the API; docker-compose.yml sets the command of each service.
CMD ["enerdiag", "api", "--host", "0.0.0.0", "--port", "8000"]
