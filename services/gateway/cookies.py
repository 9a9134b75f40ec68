"""The gateway's cookies as a nameko dependency: the session, the login
form's CSRF token, flash messages and the language choice.

Config: ``GATEWAY_SECRET_KEY`` (signs the session and flash cookies; the
service refuses to start without a proper one) and ``SESSION_COOKIE_SECURE``
(true behind HTTPS; false only for plain-HTTP local use).
"""
from itsdangerous import BadSignature, URLSafeTimedSerializer
from nameko.exceptions import ConfigurationError
from nameko.extensions import DependencyProvider

from services.gateway import auth, i18n
from services.gateway.web import delete_cookie, set_cookie

MIN_SECRET_LENGTH = 32
LOGIN_FORM_COOKIE = "tinxa_login_csrf"
FLASH_COOKIE = "tinxa_flash"
FLASH_MAX_AGE = 120
LANGUAGE_MAX_AGE = 365 * 24 * 3600


def truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class Cookies:
    """What a worker sees: read a request's cookies, set them on a response."""

    def __init__(self, codec, flash_serializer, secure):
        self._codec = codec
        self._flash = flash_serializer
        self.secure = secure

    def session(self, request):
        """The request's valid session, or None."""
        return self._codec.read(request.cookies.get(auth.SESSION_COOKIE))

    def new_session(self, user_id):
        return self._codec.new(user_id)

    def set_session(self, response, session):
        set_cookie(response, auth.SESSION_COOKIE, self._codec.dumps(session), self._codec.max_age, self.secure)

    def end_session(self, response):
        delete_cookie(response, auth.SESSION_COOKIE, self.secure)

    def login_form_token(self, request):
        return request.cookies.get(LOGIN_FORM_COOKIE)

    def set_login_form_token(self, response, token):
        """Double-submit token for the login form: it has no session yet, but
        a cross-site page must still not be able to log a browser in."""
        set_cookie(response, LOGIN_FORM_COOKIE, token, auth.SESSION_MAX_AGE, self.secure)

    def set_flash(self, response, level, text):
        """A one-time message for the next page (after a redirect)."""
        set_cookie(response, FLASH_COOKIE, self._flash.dumps({"level": level, "text": text}), FLASH_MAX_AGE, self.secure)

    def flash(self, request):
        """The pending flash message ``{"level", "text"}``, or None."""
        value = request.cookies.get(FLASH_COOKIE)
        if not value:
            return None
        try:
            return self._flash.loads(value, max_age=FLASH_MAX_AGE)
        except BadSignature:
            return None

    def clear_flash(self, request, response):
        """Once shown, a flash message is gone."""
        if request.cookies.get(FLASH_COOKIE):
            delete_cookie(response, FLASH_COOKIE, self.secure)

    def set_language(self, response, lang):
        set_cookie(response, i18n.LANGUAGE_COOKIE, lang, LANGUAGE_MAX_AGE, self.secure)


class CookieJar(DependencyProvider):
    def setup(self):
        config = self.container.config
        secret = str(config.get("GATEWAY_SECRET_KEY") or "")
        if len(secret) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                f"GATEWAY_SECRET_KEY must be set to a random string of at least {MIN_SECRET_LENGTH} characters"
            )
        secure = truthy(config.get("SESSION_COOKIE_SECURE", False))
        self.cookies = Cookies(
            auth.SessionCodec(secret),
            URLSafeTimedSerializer(secret, salt="tinxa.flash"),
            secure,
        )

    def get_dependency(self, worker_ctx):
        return self.cookies
