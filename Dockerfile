# windvane worker image. Build: docker build -t windvane .
# Two stages: the first builds windvane's wheel from the source tree, the second installs
# that wheel (and its pinned dependencies) and nothing else of the checkout.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
# streams/schemas and streams/kafka-broker.pom.xml are symlinks to these two
COPY schemas ./schemas
COPY ops/kafka/pom.xml ./ops/kafka/pom.xml
COPY streams ./streams
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY constraints.txt /tmp/constraints.txt
COPY --from=build /wheels /tmp/wheels
RUN pip install -c /tmp/constraints.txt /tmp/wheels/windvane-*.whl && rm -rf /tmp/wheels /tmp/constraints.txt
WORKDIR /app
ENV WINDVANE_DATA_DIR=/data WINDVANE_WEB_HOST=0.0.0.0
VOLUME ["/data"]
EXPOSE 6066
ENTRYPOINT ["windvane"]
CMD ["worker", "-l", "info"]
