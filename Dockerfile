# Production image: runs as a non-root user; migrations run as the owner role on start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN SECRET_KEY=collectstatic-only DATABASE_URL=postgres://x@localhost/x ALLOWED_HOSTS=x \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 --no-create-home app \
 && chown -R app /app/staticfiles

USER app
EXPOSE 8000
# migrate (as the owner login in DATABASE_URL), verify RLS with the system checks, then serve.
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py check --deploy --fail-level ERROR && exec gunicorn -c config/gunicorn.py config.wsgi:application"]
