# A stand-in for prom/prometheus built from Debian's package, for sites without a registry:
#   docker build -f deploy/base-image/prometheus.Dockerfile -t loadcluster/prometheus:bookworm deploy/base-image
# (deploy/base-image/build.sh builds it after the base). Same entrypoint and paths as prom/prometheus.
ARG BASE_IMAGE=loadcluster/base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/* /usr/share/man/* \
    && ln -s /usr/bin/prometheus /bin/prometheus 2>/dev/null || true \
    && mkdir -p /prometheus /etc/prometheus && chown nobody:nogroup /prometheus
USER nobody
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
