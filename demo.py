"""The reference case as demo data: ``load_demo()`` fills a migrated database, idempotently.

Every row is looked up by its natural key first (user name, tax id, service name,
invoice number, domain name, ticket number), so running it again creates nothing new and
changes nothing already there. Ticket content comes from ``random.Random(2022)``: the same
63 numbers, subjects and messages each time. Tickets are inserted directly, not through
``models.support.open_ticket``, so no e-mail is queued in the outbox.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from models import db
from models.accounts import Client, Contact, UserPreference
from models.billing import Invoice
from models.catalog import Domain, Service
from models.support import (
    ANSWERED, CLOSED, CUSTOMER_REPLY, HIGH, IN_PROGRESS, LOW, MEDIUM, ON_HOLD, OPEN, RESOLVED,
    Department, StaffDepartment, Ticket, TicketMessage,
)
from models.timeutil import utcnow

TICKET_SEED = 2022
TICKET_COUNT = 63
TICKET_MAX_AGE_DAYS = 400

# (email, password, first name, last name, role)
ADMIN = ("admin@demo.test", "admin", "Ana", "Administradora", "Admin")
# department slug -> (email, password, first name, last name)
STAFF = {
    "arrendasoft": ("agente@demo.test", "agente", "Andrés", "Agente"),
    "moodle": ("moodle@demo.test", "agente", "Marcela", "Ríos"),
    "web": ("web@demo.test", "agente", "Walter", "Gómez"),
    "sima": ("sima@demo.test", "agente", "Sofía", "Martínez"),
    "custom": ("medida@demo.test", "agente", "Manuel", "Medina"),
}
CLIENT_OWNER = ("cliente@demo.test", "cliente", "María Fernanda", "Restrepo", "Client")
CLIENT_SUPPORT = ("soporte@losandes.test", "soporte", "Camilo", "Soporte", "Client")

CLIENT = dict(
    company_name="Inmobiliaria Los Andes S.A.S.",
    tax_id="900123456-7",
    address="Calle 10 # 43-12",
    city="Medellín",
    country="CO",
    phone="+57 604 555 0101",
    email="contabilidad@losandes.test",
    legal_rep_name="María Fernanda Restrepo",
    legal_rep_id_number="43123456",
    legal_rep_email="mfrestrepo@losandes.test",
    legal_rep_phone="+57 300 555 0199",
    currency="COP",
)

DEMO_LOGINS = [
    (ADMIN[0], ADMIN[1], "Admin"),
    *[(email, password, f"Staff ({slug})") for slug, (email, password, *_rest) in STAFF.items()],
    (CLIENT_OWNER[0], CLIENT_OWNER[1], "Client (owner)"),
    (CLIENT_SUPPORT[0], CLIENT_SUPPORT[1], "Client (tickets, services)"),
]


@dataclass
class Summary:
    created: dict = field(default_factory=dict)

    def add(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


# --- Users ---------------------------------------------------------------------------------

def ensure_user(sm, email: str, password: str, first_name: str, last_name: str, role_name: str):
    """Return (user, created): the user whose user name is the lower-cased e-mail, created
    with that role when missing. Nothing is committed here."""
    username = email.strip().lower()
    user = sm.find_user(username=username) or sm.find_user(email=username)
    if user is not None:
        return user, False
    role = sm.find_role(role_name)
    if role is None:
        raise RuntimeError(f"role {role_name!r} does not exist; run `flask portal sync`")
    user = sm.add_user(username=username, first_name=first_name, last_name=last_name, email=username,
                       role=role, password=password, commit=False)
    if not user:  # FAB logs the reason and rolls the session back
        raise RuntimeError(f"could not create the user {username}")
    return user, True


def create_admin(email: str, password: str, first_name: str, last_name: str):
    """The `flask portal create-admin` command: (user, created), committed."""
    user, created = ensure_user(current_app.appbuilder.sm, email, password, first_name, last_name,
                                current_app.config.get("AUTH_ROLE_ADMIN", "Admin"))
    if created:
        _confirmed(user)
        db.session.commit()
    return user, created


def _confirmed(user) -> None:
    """Demo accounts count as having confirmed their e-mail address (as a sign-up would)."""
    if db.session.get(UserPreference, user.id) is None:
        db.session.add(UserPreference(user_id=user.id, email_confirmed=True))


def _user(summary: Summary, sm, email, password, first_name, last_name, role_name):
    user, created = ensure_user(sm, email, password, first_name, last_name, role_name)
    if created:
        _confirmed(user)
        summary.add("users")
    return user


# --- Account, catalog and billing ------------------------------------------------------------

def _client(summary: Summary) -> Client:
    client = db.session.scalar(select(Client).where(Client.tax_id == CLIENT["tax_id"]).order_by(Client.id))
    if client is None:
        client = Client(**CLIENT)
        db.session.add(client)
        db.session.flush()
        summary.add("clients")
    return client


def _contact(summary: Summary, client: Client, *, user=None, **fields) -> Contact:
    query = select(Contact).where(Contact.client_id == client.id)
    query = query.where(Contact.user_id == user.id) if user is not None else query.where(
        Contact.user_id.is_(None), Contact.email == fields["email"])
    contact = db.session.scalar(query.order_by(Contact.id))
    if contact is None:
        contact = Contact(client_id=client.id, user_id=user.id if user is not None else None, **fields)
        db.session.add(contact)
        summary.add("contacts")
    return contact


def _services(summary: Summary, client: Client, today: dt.date) -> dict[str, Service]:
    specs = [
        ("Arrendasoft Pro (licencia anual)", "arrendasoft", "4800000", "yearly", "active", 212),
        ("Moodle Campus Virtual", "moodle", "350000", "monthly", "active", 12),
        ("Sitio web corporativo WordPress", "web", "120000", "monthly", "active", 5),
        ("SIMA Clínica", "sima", "900000", "monthly", "suspended", -20),
    ]
    by_department = {}
    for name, slug, amount, cycle, status, due_in_days in specs:
        service = db.session.scalar(select(Service).where(Service.client_id == client.id, Service.name == name)
                                    .order_by(Service.id))
        if service is None:
            service = Service(client_id=client.id, name=name, department_slug=slug, status=status,
                              billing_cycle=cycle, amount=Decimal(amount), currency="COP",
                              next_due_date=today + dt.timedelta(days=due_in_days))
            db.session.add(service)
            summary.add("services")
        by_department[slug] = service
    db.session.flush()
    return by_department


def _domains(summary: Summary, client: Client, today: dt.date) -> None:
    # (name, status, registered days ago, expires in days, auto renew)
    specs = [
        ("losandes.test", "active", 6 * 365 + 40, 325, True),
        ("arriendoslosandes.test", "active", 2 * 365 + 100, 165, False),
        ("losandes-old.test", "expired", 5 * 365 + 200, -95, False),
    ]
    for name, status, registered_ago, expires_in, auto_renew in specs:
        if db.session.scalar(select(Domain.id).where(Domain.name == name)) is None:
            db.session.add(Domain(client_id=client.id, name=name, status=status,
                                  registered_on=today - dt.timedelta(days=registered_ago),
                                  expires_on=today + dt.timedelta(days=expires_in), auto_renew=auto_renew))
            summary.add("domains")


def _invoices(summary: Summary, client: Client, today: dt.date) -> None:
    # (number, status, issued days ago, due in days, [(description, quantity, unit price)])
    specs = [
        ("DEMO-0001", "paid", 75, -60, [
            ("Arrendasoft Pro (licencia anual)", "1", "4800000"),
            ("Implementación y capacitación Arrendasoft (horas)", "8", "95000"),
        ]),
        ("DEMO-0002", "paid", 45, -30, [
            ("Moodle Campus Virtual - mensualidad", "1", "350000"),
            ("Sitio web corporativo WordPress - mensualidad", "1", "120000"),
        ]),
        ("DEMO-0003", "unpaid", 40, -10, [
            ("SIMA Clínica - mensualidad", "1", "900000"),
        ]),
        ("DEMO-0004", "unpaid", 5, 10, [
            ("Moodle Campus Virtual - mensualidad", "1", "350000"),
            ("Sitio web corporativo WordPress - mensualidad", "1", "120000"),
            # 2.75 h x 83,333.3333 = 229,166.666575 -> 229,166.67: the line is rounded, then summed.
            ("Horas de soporte técnico adicional (2,75 h)", "2.75", "83333.3333"),
        ]),
    ]
    for number, status, issued_ago, due_in, lines in specs:
        if db.session.scalar(select(Invoice.id).where(Invoice.number == number)) is not None:
            continue
        invoice = Invoice(client_id=client.id, number=number, status=status, currency="COP",
                          issued_on=today - dt.timedelta(days=issued_ago), due_on=today + dt.timedelta(days=due_in),
                          total=Decimal("0"))
        for description, quantity, unit_price in lines:
            invoice.add_line(description, Decimal(quantity), Decimal(unit_price))
        db.session.add(invoice)
        summary.add("invoices")


# --- Tickets ---------------------------------------------------------------------------------

SUBJECTS = {
    "arrendasoft": [
        "Mejoras para el módulo de nómina.",
        "Error al generar el recibo de caja de un arrendatario",
        "No se puede anular un comprobante de egreso",
        "Ajuste del incremento anual por IPC en los contratos",
        "Propietario duplicado en el módulo de terceros",
        "El estado de cuenta del propietario no cuadra con la liquidación",
        "Capacitación para las nuevas auxiliares contables",
        "Factura electrónica rechazada por la DIAN",
        "Los inmuebles no se publican en el sitio web",
        "Cambiar la resolución de facturación",
        "El reporte de cartera por edades sale en blanco",
        "Importar propiedades desde Excel",
        "Crear usuario para la nueva asesora comercial",
        "Error al liquidar la comisión de administración",
        "La conciliación bancaria muestra movimientos repetidos",
        "Certificado de retención en la fuente para propietarios",
        "Contrato de arrendamiento comercial con IVA",
        "Lentitud al abrir el módulo de contratos",
        "Agregar el campo de codeudor en el contrato",
        "Las fotos de los inmuebles no cargan en el portal",
        "Exportar la información exógena para la DIAN",
    ],
    "moodle": [
        "Error al generar certificados",
        "Matricular masivamente a los asesores nuevos",
        "El curso de inducción no aparece a los estudiantes",
        "Actualizar Moodle a la última versión estable",
        "Configurar el cuestionario final con intentos ilimitados",
        "Reporte de finalización del curso de servicio al cliente",
        "Los correos de notificación de Moodle no llegan",
        "Poner el logo nuevo en la plataforma",
        "Restablecer la contraseña de un estudiante",
        "Error al subir un paquete SCORM",
        "Crear una categoría de cursos para el área jurídica",
        "Las calificaciones no pasan al libro de calificaciones",
        "Insignias al completar el curso",
        "Inscripción automática con clave de matriculación",
    ],
    "web": [
        "Actualizar los plugins de WordPress",
        "El formulario de contacto no envía correos",
        "Cambiar los banners de la página principal",
        "Certificado SSL vencido en arriendoslosandes.test",
        "Agregar la página de política de tratamiento de datos",
        "El sitio carga muy lento desde el celular",
        "Crear cuentas de correo para dos asesores",
        "Integrar el chat de WhatsApp en el sitio",
        "Error 500 al entrar al administrador de WordPress",
        "Publicar una vacante en Trabaje con nosotros",
        "Redirigir losandes-old.test al dominio nuevo",
        "Copia de seguridad antes del rediseño",
    ],
    "sima": [
        "No se pueden asignar citas en la agenda de odontología",
        "Error al imprimir la historia clínica",
        "RIPS generados con campos vacíos",
        "Crear usuario para el nuevo médico general",
        "Las autorizaciones de la EPS no quedan registradas",
        "Facturación a EPS con valor de copago incorrecto",
        "Reactivar el servicio suspendido",
        "Agregar plantilla de consentimiento informado",
        "Los recordatorios de citas por SMS no salen",
        "Consultar el historial de un paciente trasladado",
    ],
    "custom": [
        "Cotización: integración del software con el banco",
        "Desarrollo de app móvil para arrendatarios",
        "Tablero de indicadores para la gerencia",
        "Automatizar el envío de estados de cuenta por correo",
        "Firma electrónica de contratos de arrendamiento",
        "Integración con la pasarela de pagos PSE",
        "Migración de datos del sistema anterior",
    ],
}
# How many of the 63 tickets each department gets.
TICKETS_PER_DEPARTMENT = {"arrendasoft": 20, "moodle": 14, "web": 12, "sima": 10, "custom": 7}
STATUSES = (OPEN, ANSWERED, CUSTOMER_REPLY, IN_PROGRESS, ON_HOLD, RESOLVED, CLOSED)
# Who spoke last follows from the status: Open has only the client's first message,
# Answered ends with staff, Customer-Reply with the client.
MESSAGE_COUNTS = {
    OPEN: (1,),
    ANSWERED: (2, 4),
    CUSTOMER_REPLY: (3,),
    IN_PROGRESS: (2, 3),
    ON_HOLD: (2, 4),
    RESOLVED: (2, 4),
    CLOSED: (2, 3, 4),
}
# Tickets still being worked on are recent; finished ones go back the whole period.
MAX_AGE_DAYS = {OPEN: 20, ANSWERED: 45, CUSTOMER_REPLY: 45, IN_PROGRESS: 90, ON_HOLD: 180,
                RESOLVED: TICKET_MAX_AGE_DAYS, CLOSED: TICKET_MAX_AGE_DAYS}

OPENINGS = [
    "Buenos días,\n\n{detail}\n\nQuedamos atentos, muchas gracias.",
    "Hola,\n\nles escribo por lo siguiente: {detail}\n\n¿Nos pueden ayudar lo antes posible?",
    "Buenas tardes,\n\n{detail}\n\nGracias por su colaboración.",
    "Cordial saludo,\n\n{detail}\n\nQuedo pendiente de su respuesta.",
]
DETAILS = {
    "arrendasoft": [
        "Desde esta mañana el sistema muestra un error en Arrendasoft y no nos deja continuar con el proceso.",
        "Necesitamos este ajuste en Arrendasoft antes del cierre contable de fin de mes.",
        "Varias auxiliares reportan el mismo problema en Arrendasoft desde sus equipos.",
        "Les envío el caso con el número del contrato y el nombre del arrendatario para que lo revisen.",
    ],
    "moodle": [
        "Varios estudiantes del campus virtual nos reportaron el inconveniente esta semana.",
        "Lo necesitamos para el grupo de asesores que empieza el curso el próximo lunes.",
        "Intentamos hacerlo desde el usuario administrador de Moodle pero no encontramos la opción.",
    ],
    "web": [
        "Lo notamos hoy en el sitio web corporativo, tanto en computador como en celular.",
        "Es para la campaña de arriendos que sale la otra semana.",
        "Un cliente nos avisó del problema por teléfono.",
    ],
    "sima": [
        "El personal de recepción de la clínica no puede seguir trabajando normalmente en SIMA.",
        "Es urgente porque tenemos que radicar ante la EPS esta semana.",
        "Pasa con todos los usuarios de SIMA desde la actualización del fin de semana.",
    ],
    "custom": [
        "Queremos saber el alcance, el tiempo estimado y el valor de este desarrollo.",
        "La gerencia aprobó el proyecto y queremos empezar este trimestre.",
        "Les compartimos la idea general para que nos hagan una propuesta.",
    ],
}
STAFF_FIRST = [
    "Hola {client}, gracias por escribirnos. Ya estamos revisando el caso; ¿nos puedes enviar una captura "
    "de pantalla del mensaje que aparece?",
    "Hola {client}. Recibimos la solicitud y la estamos analizando. Te contamos en cuanto tengamos novedades.",
    "Buenos días {client}. Para avanzar necesitamos saber desde qué usuario y a qué hora ocurrió.",
]
CLIENT_FOLLOW_UP = [
    "Les envío la información que pidieron. El problema se sigue presentando.",
    "Ocurrió con el usuario de contabilidad, hacia las 10 de la mañana.",
    "Gracias. Ya probamos de nuevo y sigue igual, ¿lo pueden revisar otra vez?",
]
STAFF_SECOND = [
    "Listo, {client}: aplicamos la corrección. Por favor confirma que ya funciona correctamente.",
    "Ya quedó realizado el ajuste. Si vuelve a presentarse nos avisas por este mismo ticket.",
    "Hicimos el cambio solicitado y lo probamos con tu usuario. Quedamos atentos a tus comentarios.",
]
CLIENT_THANKS = [
    "Confirmo que ya funciona. Muchas gracias, pueden cerrar el ticket.",
    "Perfecto, quedó funcionando. Gracias por la ayuda.",
]
INTERNAL_NOTES = [
    "Nota interna: el error viene de la última actualización; revisar con desarrollo antes de responder.",
    "Nota interna: el cliente tiene el aviso de cobro DEMO-0003 vencido; confirmar con cartera.",
]


@dataclass
class TicketPlan:
    number: str
    department: str
    status: str
    priority: str
    subject: str
    opener: str  # "owner" or "support"
    age_minutes: int
    # (role, body, offset in minutes after the ticket was opened); role is "client",
    # "staff" or "note" (an internal staff note)
    messages: list
    with_service: bool


def ticket_plan(seed: int = TICKET_SEED) -> list[TicketPlan]:
    """The demo tickets, the same for the same seed (times are offsets from now)."""
    rng = random.Random(seed)
    numbers: list[str] = []
    while len(numbers) < TICKET_COUNT:
        number = f"{rng.randrange(1_000_000):06d}"
        if number not in numbers:
            numbers.append(number)
    departments = [slug for slug, n in TICKETS_PER_DEPARTMENT.items() for _ in range(n)]
    statuses = [STATUSES[i % len(STATUSES)] for i in range(TICKET_COUNT)]
    rng.shuffle(statuses)
    subjects = {slug: rng.sample(options, TICKETS_PER_DEPARTMENT[slug]) for slug, options in SUBJECTS.items()}
    plans = []
    for i, (number, slug, status) in enumerate(zip(numbers, departments, statuses)):
        subject = subjects[slug].pop()
        priority = rng.choices((HIGH, MEDIUM, LOW), weights=(2, 5, 3))[0]
        count = rng.choice(MESSAGE_COUNTS[status])
        age_minutes = rng.randint(90, MAX_AGE_DAYS[status] * 24 * 60)
        # Messages happen within the first ten days, or within the ticket's age if shorter.
        span = min(age_minutes - 30, 10 * 24 * 60)
        offsets = [0] + sorted(rng.randint(15, span) for _ in range(count - 1))
        bodies = [rng.choice(OPENINGS).format(detail=rng.choice(DETAILS[slug]))]
        for position in range(1, count):
            if position % 2 == 1:
                bodies.append(rng.choice(STAFF_FIRST if position == 1 else STAFF_SECOND))
            elif status == CLOSED and position == count - 1:
                bodies.append(rng.choice(CLIENT_THANKS))
            else:
                bodies.append(rng.choice(CLIENT_FOLLOW_UP))
        messages = [("client" if k % 2 == 0 else "staff", body, offset)
                    for k, (body, offset) in enumerate(zip(bodies, offsets))]
        plans.append(TicketPlan(number=number, department=slug, status=status, priority=priority,
                                subject=subject, opener="owner" if rng.random() < 0.3 else "support",
                                age_minutes=age_minutes, messages=messages,
                                with_service=slug != "custom" and rng.random() < 0.7))
    # Two tickets being worked on carry an internal note, after the client's first message.
    noted = [p for p in plans if p.status in (IN_PROGRESS, ON_HOLD) and len(p.messages) < 4][:2]
    for plan, note in zip(noted, INTERNAL_NOTES):
        first_offset = plan.messages[1][2] if len(plan.messages) > 1 else plan.messages[0][2] + 30
        plan.messages.insert(1, ("note", note, max(1, first_offset - 5)))
    return plans


def _tickets(summary: Summary, client: Client, departments: dict, staff: dict, openers: dict,
             services: dict) -> None:
    plans = ticket_plan()
    taken = set(db.session.scalars(select(Ticket.number).where(Ticket.number.in_([p.number for p in plans]))))
    now = utcnow()
    for plan in plans:
        if plan.number in taken:
            continue  # already loaded (or, unlikely, a real ticket has that number: left alone)
        opener = openers[plan.opener]
        agent = staff[plan.department]
        opened = now - dt.timedelta(minutes=plan.age_minutes)
        service = services.get(plan.department) if plan.with_service else None
        ticket = Ticket(
            number=plan.number, client_id=client.id, department_id=departments[plan.department].id,
            user_id=opener.id, name=f"{opener.first_name} {opener.last_name}", email=opener.email,
            subject=plan.subject, service_id=service.id if service else None, priority=plan.priority,
            status=plan.status, assignee_id=None if plan.status == OPEN else agent.id,
            created_at=opened, updated_at=opened,
        )
        summary.add("tickets")
        for role, body, offset in plan.messages:
            at = opened + dt.timedelta(minutes=offset)
            from_staff = role != "client"
            author = agent if from_staff else opener
            ticket.messages.append(TicketMessage(
                user_id=author.id, author_name=f"{author.first_name} {author.last_name}",
                body=body.format(client=opener.first_name), from_staff=from_staff, internal=role == "note",
                created_at=at,
            ))
            if role != "note":  # as models.support.reply does, internal notes leave updated_at alone
                ticket.updated_at = at
            summary.add("ticket messages")
        db.session.add(ticket)


# --- Everything --------------------------------------------------------------------------------

def load_demo() -> dict:
    """Load the reference case; return how many rows of each kind were created."""
    from views.departments import sync_plugin_departments

    summary = Summary()
    created_departments = sync_plugin_departments()  # commits on its own
    if created_departments:
        summary.add("departments", created_departments)
    departments = {d.slug: d for d in db.session.scalars(select(Department))}
    missing = [slug for slug in STAFF if slug not in departments]
    if missing:
        raise RuntimeError(f"departments missing: {', '.join(missing)}")

    sm = current_app.appbuilder.sm
    today = utcnow().date()
    try:
        _user(summary, sm, *ADMIN)
        staff = {}
        for slug, (email, password, first, last) in STAFF.items():
            user = _user(summary, sm, email, password, first, last, "Staff")
            staff[slug] = user
            if db.session.get(StaffDepartment, (user.id, departments[slug].id)) is None:
                db.session.add(StaffDepartment(user_id=user.id, department_id=departments[slug].id))
                summary.add("staff departments")

        client = _client(summary)
        owner = _user(summary, sm, *CLIENT_OWNER)
        _contact(summary, client, user=owner, name=CLIENT["legal_rep_name"], email=owner.email,
                 phone=CLIENT["legal_rep_phone"], position="Representante legal", is_owner=True, scopes="")
        _contact(summary, client, name="Jorge Contador", email="jorge@losandes.test", phone="+57 604 555 0102",
                 position="Contador", scopes="invoices pay billing_emails")
        support = _user(summary, sm, *CLIENT_SUPPORT)
        _contact(summary, client, user=support, name="Camilo Soporte", email=support.email,
                 phone="+57 604 555 0103", position="Sistemas", scopes="tickets support_emails services")

        services = _services(summary, client, today)
        _domains(summary, client, today)
        _invoices(summary, client, today)
        db.session.flush()
        _tickets(summary, client, departments, staff, {"owner": owner, "support": support}, services)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return summary.created
