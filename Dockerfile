# syntax=docker/dockerfile:1
# The Greenshift operator image: `docker build -t <registry>/greenshift-operator:<version> .`
# Two stages: the build stage makes a virtualenv from the pinned requirements.lock and the
# package; the runtime stage copies only that virtualenv. It runs as a numeric non-root user
# and writes nothing at runtime outside /tmp (an emptyDir in deploy/deployment.yaml), so the
# root filesystem can be read-only. Pin the base by digest in your registry mirror if you can.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/greenshift
COPY requirements.lock ./
RUN /opt/greenshift/bin/pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml ./
COPY operator ./operator
COPY crds ./crds
COPY templates ./templates
COPY deploy ./deploy
# --no-deps: the dependencies are exactly requirements.lock's. The import proves the wheel whole.
RUN /opt/greenshift/bin/pip install --no-cache-dir --no-deps . \
    && /opt/greenshift/bin/python -m compileall -q /opt/greenshift \
    && /opt/greenshift/bin/python -c "import greenshift.cli, greenshift.runner, greenshift.commands.install, greenshift.commands.run"

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="greenshift-operator" \
      org.opencontainers.image.description="Kubernetes operator of the MyGov.be wallet platform" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/greenshift/bin:$PATH
# openssl (from ca-certificates) makes the webhook's certificate in self-managed mode.
RUN groupadd --system --gid 10001 greenshift \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin greenshift \
    && openssl version
COPY --from=build /opt/greenshift /opt/greenshift
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080 8081 9443
ENTRYPOINT ["greenshift"]
CMD ["run"]
