# The harness CLI (the engine and the BetterPrompts plug-in) with the project's artifacts, for
# compose's one-shot migrate service (and CI jobs that want `harness` without a local Python).
# PYTHON_IMAGE: any image with python3 >= 3.11, venv and ca-certificates; extra CAs (a
# TLS-intercepting proxy) go in .docker/ca-certificates/*.crt.
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}
COPY .docker/ca-certificates/ /usr/local/share/ca-certificates/harness/
RUN update-ca-certificates >/dev/null && python3 -m venv /opt/harness
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md /src/
COPY harness /src/harness
COPY plugins/betterprompts /src/plugins/betterprompts
RUN /opt/harness/bin/pip install --no-cache-dir -q /src /src/plugins/betterprompts
COPY schema /app/schema
COPY seeds /app/seeds
WORKDIR /app
ENV PATH=/opt/harness/bin:$PATH
CMD ["harness", "--help"]
