"""Logging in and out, sign-up with e-mail confirmation, forgotten and changed passwords,
the profile and the language switch.

Log in, sign-up, forgotten password and the reset form are each limited to AUTH_RATE_LIMIT
POST requests per client address (a counter per form; GETs are never limited). E-mailed links
are built on BASE_URL, never on the request's Host header. Links are signed tokens: the reset link
embeds a fingerprint of the current password hash, so it works once and stops working
as soon as the password changes, and expires after PASSWORD_RESET_MAX_AGE seconds.
"""
from __future__ import annotations

import hashlib
from zoneinfo import available_timezones

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.baseviews import BaseView
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import AuthDBView, UserDBModelView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_appbuilder.utils.limit import Limit
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from models import db, notifications
from models.accounts import UserPreference, open_client_account
from models.events import commit as commit_and_dispatch
from views.captcha import captcha_enabled, verify_captcha

PASSWORD_MIN = 8
_REQUIRED = _l("This field is required.")
_DUPLICATE = _l("An account with this e-mail address already exists. Log in, or use \"Forgot your password?\".")


def _auth_limit() -> list[Limit]:
    return [Limit(lambda: current_app.config["AUTH_RATE_LIMIT"], key_func=get_remote_address, methods=("POST",))]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal-{purpose}")


def _email_link(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, built on BASE_URL like every other e-mailed link.

    Never from the request's Host header: whoever asks for a reset link chooses that header,
    and would receive the victim's token on their own host when the victim clicks."""
    path = url_for(endpoint, **values)
    root = request.script_root
    if root and path.startswith(root):
        path = path[len(root):]
    return current_app.config["BASE_URL"].rstrip("/") + path


def _password_fingerprint(user) -> str:
    return hashlib.sha256((user.password or "").encode()).hexdigest()[:20]


def _preference(user_id: int) -> UserPreference:
    pref = db.session.get(UserPreference, user_id)
    if pref is None:
        pref = UserPreference(user_id=user_id)
        db.session.add(pref)
    return pref


def email_address():
    """A syntactically valid e-mail address (no DNS look-up). Names under the reserved
    .test domain pass: the demo's accounts and companies use them, and its own data must
    be editable."""
    return Email(_l("Write a valid e-mail address."), test_environment=True)


SESSION_PASSWORD_KEY = "_password"


def start_session(user, remember: bool = False) -> None:
    """Log the user in, remembering which password the session was opened with, so that
    changing the password ends every other session (see end_stale_session)."""
    login_user(user, remember=remember)
    session[SESSION_PASSWORD_KEY] = _password_fingerprint(user)


def end_stale_session():
    """Before each request: a session opened with a password that has since changed ends."""
    if not current_user.is_authenticated or SESSION_PASSWORD_KEY not in session:
        return None
    if session[SESSION_PASSWORD_KEY] == _password_fingerprint(current_user):
        return None
    logout_user()
    session.clear()
    flash(_l("Your password was changed. Log in again."), "warning")
    return redirect(url_for("PortalAuthView.login"))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_REQUIRED), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_REQUIRED), Length(max=200)])
    remember = BooleanField(_l("Remember me"))


class SignupForm(FlaskForm):
    company_name = StringField(_l("Company"), validators=[DataRequired(_REQUIRED), Length(max=200)])
    first_name = StringField(_l("First name"), validators=[DataRequired(_REQUIRED), Length(max=64)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(_REQUIRED), Length(max=64)])
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_REQUIRED), email_address(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_REQUIRED), Length(min=PASSWORD_MIN, max=200, message=_l(
            "The password must have at least %(n)s characters.", n=PASSWORD_MIN))])
    confirm = PasswordField(_l("Repeat the password"), validators=[
        EqualTo("password", _l("The passwords do not match."))])


class ForgotForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_REQUIRED), Length(max=320)])


class ResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(_REQUIRED), Length(min=PASSWORD_MIN, max=200, message=_l(
            "The password must have at least %(n)s characters.", n=PASSWORD_MIN))])
    confirm = PasswordField(_l("Repeat the password"), validators=[
        EqualTo("password", _l("The passwords do not match."))])


class ChangePasswordForm(ResetForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(_REQUIRED)])


class ProfileForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(_REQUIRED), Length(max=64)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(_REQUIRED), Length(max=64)])
    locale = SelectField(_l("Language"))
    timezone = SelectField(_l("Time zone"))


class PortalAuthView(AuthDBView):
    """Log in with e-mail and password (and "remember me"), sign-up, forgotten password."""

    login_template = "auth/login.html"
    limits = _auth_limit()

    @expose("/login/", methods=["GET", "POST"])
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm()
        if form.validate_on_submit():
            email = form.email.data.strip().lower()
            user = self.appbuilder.sm.auth_user_db(email, form.password.data)
            if user is None:
                flash(_l("Wrong e-mail address or password, or the account is not confirmed yet."), "danger")
            else:
                start_session(user, remember=form.remember.data)
                pref = db.session.get(UserPreference, user.id)
                if pref and pref.locale:
                    session["locale"] = pref.locale
                next_url = request.args.get("next")
                return redirect(get_safe_redirect(next_url) if next_url else url_for("PortalIndexView.index"))
        return self.render_template(self.login_template, form=form, appbuilder=self.appbuilder)

    @expose("/signup/", methods=["GET", "POST"])
    def signup(self):
        form = SignupForm()
        if form.validate_on_submit():
            email = form.email.data.strip().lower()
            sm = self.appbuilder.sm
            if not verify_captcha():
                flash(_l("Confirm that you are not a robot."), "danger")
            elif sm.find_user(email=email) or sm.find_user(username=email):
                flash(_DUPLICATE, "danger")
            else:
                # One transaction: the user, its account and the e-mail, or nothing.
                user = sm.add_user(username=email, first_name=form.first_name.data.strip(),
                                   last_name=form.last_name.data.strip(), email=email,
                                   role=sm.find_role("Client"), password=form.password.data, commit=False)
                if not user:  # another sign-up with this address won the race (FAB rolled back)
                    flash(_DUPLICATE, "danger")
                    return self.render_template("auth/signup.html", form=form, appbuilder=self.appbuilder,
                                                captcha=captcha_enabled())
                open_client_account(
                    db.session, user, company_name=form.company_name.data,
                    locale=str(session.get("locale") or current_app.config["DEFAULT_LOCALE"]),
                    confirmation_link=lambda new: _email_link(
                        "PortalAuthView.confirm", token=_serializer("confirm").dumps({"u": new.id})))
                commit_and_dispatch(db.session)
                return self.render_template("auth/message.html", appbuilder=self.appbuilder,
                                            title=_l("Confirm your e-mail address"),
                                            message=_l("We sent a link to %(email)s. Open it to activate your "
                                                       "account.", email=email))
        return self.render_template("auth/signup.html", form=form, appbuilder=self.appbuilder,
                                    captcha=captcha_enabled())

    @expose("/signup/confirm/<token>")
    def confirm(self, token):
        try:
            data = _serializer("confirm").loads(token, max_age=current_app.config["EMAIL_CONFIRM_MAX_AGE"])
        except (BadSignature, SignatureExpired):
            return self._link_problem()
        user = self.appbuilder.sm.get_user_by_id(data["u"])
        pref = db.session.get(UserPreference, data["u"])
        # The link works once: a confirmed address (or a user an administrator has since
        # deactivated) is not activated, nor logged in, again by an old link.
        if user is None or (pref is not None and pref.email_confirmed):
            return self._link_problem()
        user.active = True
        _preference(user.id).email_confirmed = True
        db.session.commit()
        start_session(user)
        flash(_l("Your e-mail address is confirmed. Welcome!"), "success")
        return redirect(url_for("ClientHomeView.home"))

    @expose("/password/forgot/", methods=["GET", "POST"])
    def forgot(self):
        form = ForgotForm()
        if form.validate_on_submit():
            email = form.email.data.strip().lower()
            user = self.appbuilder.sm.find_user(email=email)
            if user is not None and user.is_active:
                token = _serializer("reset").dumps({"u": user.id, "p": _password_fingerprint(user)})
                notifications.enqueue(
                    db.session, recipient=user.email, user_id=user.id, template="password_reset",
                    subject=_l("Reset your password"), event=f"user.reset:{user.id}", user=user,
                    url=_email_link("PortalAuthView.reset", token=token),
                    minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60)
                commit_and_dispatch(db.session)
            # The same answer whether or not the address has an account.
            return self.render_template("auth/message.html", appbuilder=self.appbuilder,
                                        title=_l("Check your e-mail"),
                                        message=_l("If %(email)s has an account, we sent it a link to choose a new "
                                                   "password. The link works once, for one hour.", email=email))
        return self.render_template("auth/forgot.html", form=form, appbuilder=self.appbuilder)

    @expose("/password/reset/<token>", methods=["GET", "POST"])
    def reset(self, token):
        try:
            data = _serializer("reset").loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
        except (BadSignature, SignatureExpired):
            return self._link_problem()
        user = self.appbuilder.sm.get_user_by_id(data["u"])
        if user is None or not user.is_active or data.get("p") != _password_fingerprint(user):
            return self._link_problem()
        form = ResetForm()
        if form.validate_on_submit():
            self.appbuilder.sm.reset_password(user.id, form.password.data)
            flash(_l("Your password was changed. Log in with the new one."), "success")
            return redirect(url_for("PortalAuthView.login"))
        return self.render_template("auth/reset.html", form=form, appbuilder=self.appbuilder)

    def _link_problem(self):
        return self.render_template("auth/message.html", appbuilder=self.appbuilder,
                                    title=_l("This link does not work"),
                                    message=_l("The link has expired or was already used. Ask for a new one."),
                                    status=400), 400


class AccountView(BaseView):
    """The signed-in user's profile and password."""

    route_base = "/account"
    default_view = "profile"

    @expose("/profile/", methods=["GET", "POST"])
    @has_access
    def profile(self):
        user = g.user
        pref = _preference(user.id)
        form = ProfileForm(obj=user)
        form.locale.choices = [(code, lang["name"]) for code, lang in current_app.config["LANGUAGES"].items()]
        form.timezone.choices = [(tz, tz) for tz in sorted(available_timezones()) if "/" in tz]
        if request.method == "GET":
            form.locale.data = pref.locale or current_app.config["DEFAULT_LOCALE"]
            form.timezone.data = pref.timezone or current_app.config["DEFAULT_TIMEZONE"]
        if form.validate_on_submit():
            user.first_name = form.first_name.data.strip()
            user.last_name = form.last_name.data.strip()
            pref.locale = form.locale.data
            pref.timezone = form.timezone.data
            db.session.commit()
            session["locale"] = pref.locale
            flash(_l("Your profile was saved."), "success")
            return redirect(url_for("AccountView.profile"))
        db.session.rollback()
        return self.render_template("auth/profile.html", form=form, user=user)

    @expose("/password/", methods=["GET", "POST"])
    @has_access
    def password(self):
        form = ChangePasswordForm()
        if form.validate_on_submit():
            sm = self.appbuilder.sm
            if sm.auth_user_db(g.user.username, form.current.data) is None:
                form.current.errors.append(_l("The current password is not right."))
            else:
                sm.reset_password(g.user.id, form.password.data)
                session[SESSION_PASSWORD_KEY] = _password_fingerprint(g.user)  # this session stays; others end
                flash(_l("Your password was changed."), "success")
                return redirect(url_for("AccountView.profile"))
        return self.render_template("auth/password.html", form=form)


class LanguageView(BaseView):
    """Switch the interface language; remembered for signed-in users."""

    route_base = "/language"

    @expose("/<code>")
    def switch(self, code):
        if code not in current_app.config["LANGUAGES"]:
            abort(404)
        session["locale"] = code
        if g.user is not None and g.user.is_authenticated:
            _preference(g.user.id).locale = code
            db.session.commit()
        return redirect(get_safe_redirect(request.referrer or "/"))


class PortalUserDBModelView(UserDBModelView):
    """FAB's user administration; e-mail addresses (the log-in names) are kept lower-cased."""

    def pre_add(self, item):
        item.email = (item.email or "").strip().lower()
        super().pre_add(item)

    def pre_update(self, item):
        item.email = (item.email or "").strip().lower()
        super().pre_update(item)


class PortalSecurityManager(SecurityManager):
    authdbview = PortalAuthView

    userdbmodelview = PortalUserDBModelView
