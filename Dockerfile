# One image for every loadcluster node: master, worker, exporter and the demo target.
#
#   docker build -t loadcluster:0.1.0 .                                              # with a registry
#   docker build --build-arg BASE_IMAGE=loadcluster/base:bookworm -t loadcluster:0.1.0 .   # air-gapped:
#       the base comes from deploy/base-image/build.sh (Debian packages, no registry needed)
#
# The locustfiles are baked in at /opt/loadcluster/locust (LOADCLUSTER_LOCUSTFILE points there); mount
# your own directory over it to run other tests with the same image.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
# Dependencies first, in their own layer: a source change rebuilds only the last one.
COPY pyproject.toml /src/
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /src/requirements.txt \
    && /opt/venv/bin/pip install --quiet -r /src/requirements.txt
COPY README.md /src/
COPY src /src/src
RUN /opt/venv/bin/pip install --quiet --no-deps /src \
    && /opt/venv/bin/pip uninstall --quiet --yes pip setuptools \
    && find /opt/venv -name __pycache__ -prune -exec rm -rf {} +

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOADCLUSTER_LOCUSTFILE=/opt/loadcluster/locust \
    LOADCLUSTER_RESULTS=/opt/loadcluster/results
RUN useradd --system --uid 10001 --user-group --home-dir /opt/loadcluster --no-create-home \
        --shell /usr/sbin/nologin loadcluster \
    && mkdir -p /opt/loadcluster/results \
    && chown loadcluster:loadcluster /opt/loadcluster/results
COPY --from=build /opt/venv /opt/venv
COPY locust /opt/loadcluster/locust
WORKDIR /opt/loadcluster
USER loadcluster:loadcluster
# 5557 master (ZeroMQ), 8089 web UI, 8090 master stats, 9646 exporter, 8080 demo target
EXPOSE 5557 8089 8090 9646 8080
ENTRYPOINT ["loadcluster"]
CMD ["--help"]
