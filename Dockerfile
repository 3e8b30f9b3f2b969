# One image for web, workers, beat and the optional emulator (docker-compose.yml picks the command).
FROM python:3.11-slim
# Production logs one JSON object per line (config/logging.py); LOG_FORMAT=plain for people.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=config.settings.production LOG_FORMAT=json
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs settings to load, not real services.
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.sqlite3 REDIS_URL=redis://unused:6379/0 \
    python manage.py collectstatic --noinput \
 && useradd --create-home --uid 1000 atelier && mkdir -p /app/var && chown atelier /app/var
USER atelier
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "config.asgi"]
