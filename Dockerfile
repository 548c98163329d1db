FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=healthplans.settings.production
# Pango for WeasyPrint; the reports' fonts come with the Python packages (pyproject.toml).
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 gettext \
    && rm -rf /var/lib/apt/lists/*
# The processes run as this user: it reads the code and writes only the data directory, /data
# (HEALTHPLANS_VAR_DIR in docker-compose.yml; a new volume takes this owner from the image).
RUN useradd --system --user-group --uid 10001 --create-home --home-dir /home/healthplans healthplans \
    && mkdir /data && chown healthplans:healthplans /data
WORKDIR /app
# The dependencies alone, from pyproject.toml: this layer is rebuilt only when they change, not
# with every change of the code.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
      > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY . .
# The package without its dependencies, editable so that it runs from /app beside its templates,
# static files and messages. Static files are collected into STATIC_ROOT, /app/var/static, which
# the /data volume does not hide. Production settings want their secrets; these placeholders
# only exist during the build.
RUN pip install --no-deps -e . \
    && export SECRET_KEY=build REPORT_SIGNING_PASSPHRASE=build DATABASE_URL=postgres://build/build \
    && python manage.py compilemessages -v0 && python manage.py collectstatic --noinput -v0
USER healthplans
EXPOSE 8000
CMD ["gunicorn", "healthplans.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
