#!/bin/sh
# One image, several roles. The first argument picks the role; anything else runs as a command
# (for example `python manage.py createsuperuser`).
#   web           gunicorn on :8000
#   worker-long   Celery worker for session recordings (long queue)
#   worker-short  Celery worker for practice clips and housekeeping (short and default queues)
#   beat          Celery beat (retention, upload clean-up); run exactly one
#   migrate       apply database migrations and install the shipped emotion model, then exit
set -eu

prefix="${SER_QUEUE_PREFIX:-}"

case "${1:-web}" in
  web)
    exec gunicorn ser_portal.wsgi:application \
      --bind 0.0.0.0:8000 \
      --workers "${GUNICORN_WORKERS:-3}" \
      --timeout "${GUNICORN_TIMEOUT_S:-120}" \
      --access-logfile - \
      --access-logformat '%(h)s "%(r)s" %(s)s %(b)s %(L)ss'
    ;;
  worker-long)
    exec celery -A ser_portal worker --loglevel INFO -n "long@%h" \
      -Q "${prefix}long" --concurrency "${CELERY_LONG_CONCURRENCY:-1}"
    ;;
  worker-short)
    exec celery -A ser_portal worker --loglevel INFO -n "short@%h" \
      -Q "${prefix}short,${prefix}default" --concurrency "${CELERY_SHORT_CONCURRENCY:-2}"
    ;;
  beat)
    exec celery -A ser_portal beat --loglevel INFO \
      --schedule "${SER_VAR_DIR:-/data/var}/celerybeat-schedule"
    ;;
  migrate)
    python manage.py migrate --noinput
    exec python manage.py ensure_default_model
    ;;
  *)
    exec "$@"
    ;;
esac
