"""The WSGI entry point for gunicorn: ``gunicorn -c service/gunicorn.conf.py service.wsgi:app``."""

from service import create_app
from service.whole import WholeResponses

app = create_app()
# Outermost: a response leaves whole or not at all, even when the process dies mid-write.
app.wsgi_app = WholeResponses(app.wsgi_app)
