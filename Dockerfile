# One image for the worker and the API; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md worker.py ./
COPY domain domain
COPY workflows workflows
COPY activities activities
COPY store store
COPY engine engine
COPY entrypoints entrypoints
COPY api api
COPY delivery delivery
COPY security security
COPY reports reports
COPY contracts contracts
RUN pip install --no-cache-dir .
USER nobody
CMD ["complaints", "worker"]
