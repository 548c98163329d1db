FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=healthplans.settings.production
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation2 fonts-noto-core gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
# Production settings want their secrets; these placeholders only exist during the build.
RUN pip install --no-cache-dir . \
    && export SECRET_KEY=build REPORT_SIGNING_PASSPHRASE=build DATABASE_URL=postgres://build/build \
    && python manage.py compilemessages -v0 && python manage.py collectstatic --noinput -v0
EXPOSE 8000
CMD ["gunicorn", "healthplans.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
