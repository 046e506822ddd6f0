# sentimon in a container: CPU-only torch, the bundled model, the database on a volume.
#   docker build -t sentimon .
#   docker run -d --name sentimon -v sentimon-data:/data --env-file sentimon.env sentimon
FROM python:3.11-slim

RUN useradd --system --create-home --home-dir /data sentimon
WORKDIR /opt/sentimon
COPY setup.cfg pyproject.toml README.md ./
COPY sentimon ./sentimon
COPY connectors ./connectors
COPY models ./models
COPY alerts ./alerts
# Extras to install, e.g. --build-arg EXTRAS=postgres for `sentimon worker` (contrib/compose.yaml).
ARG EXTRAS=""
# The CPU wheel first: an unpinned torch would pull gigabytes of CUDA packages.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}"

USER sentimon
WORKDIR /data
VOLUME ["/data"]
ENV SENTIMON_CONFIG=/data/sentimon.toml HF_HUB_OFFLINE=1
STOPSIGNAL SIGTERM
CMD ["sentimon", "run"]
