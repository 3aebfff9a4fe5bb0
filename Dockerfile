# syntax=docker/dockerfile:1
# One image for every service of the federation (docs/deploying.md):
#   docker build -t selec-federation .
#   docker run selec-federation                                    the broker
#   docker run selec-federation connector --config /etc/selec/nodes/rs.yaml
# Every command here is one tests/unit/test_deployment.py also checks outside Docker.

ARG PYTHON_IMAGE=python:3.11-slim

# Builder: a wheel of the project, installed with its dependencies into a venv that has
# no pip of its own. Everything the build needs stays in this stage.
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY selec ./selec
COPY broker ./broker
COPY connectors ./connectors
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install /wheels/*.whl

# Final: the venv and the config, run as an unprivileged user. pip, setuptools and wheel
# are removed so nothing can be built or installed into a running container.
FROM ${PYTHON_IMAGE}
RUN python -m pip uninstall --yes pip setuptools wheel \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/selec \
        --shell /usr/sbin/nologin selec \
    && mkdir -p /var/lib/selec \
    && chown selec:selec /var/lib/selec
COPY --from=builder /opt/venv /opt/venv
COPY deploy/config /etc/selec
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# A node's database lives here, on a volume (compose.yaml). The directory belongs to the
# user, so a fresh named volume mounted on it does too.
WORKDIR /var/lib/selec
# Numeric, so orchestrators that require a non-root user (runAsNonRoot) can verify it.
USER 10001:10001
# gRPC: the broker and every node listen on 50051 in their own container; Prometheus
# metrics on 9150.
EXPOSE 50051 9150
# There is no grpc_health_probe or grpcurl in the image, so the probe is a Python
# one-liner over grpc.health.v1 (overall status, empty service name). A connector that
# listens elsewhere sets SELEC_HEALTH_ADDRESS.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, grpc; from grpc_health.v1 import health_pb2 as h, health_pb2_grpc as g; c = grpc.insecure_channel(os.environ.get('SELEC_HEALTH_ADDRESS', '127.0.0.1:50051')); sys.exit(g.HealthStub(c).Check(h.HealthCheckRequest(), timeout=4).status != h.HealthCheckResponse.SERVING)"]
ENTRYPOINT ["selec"]
CMD ["broker", "--config", "/etc/selec/broker.yaml"]
