# windvane worker image. Build: docker build -t windvane .
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md constraints.txt ./
COPY streams ./streams
COPY schemas ./schemas
RUN pip install -c constraints.txt -e .  # editable: schemas/ stays beside the package
ENV WINDVANE_DATA_DIR=/data WINDVANE_WEB_HOST=0.0.0.0
VOLUME ["/data"]
EXPOSE 6066
ENTRYPOINT ["windvane"]
CMD ["worker", "-l", "info"]
