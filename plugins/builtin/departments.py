"""The operator's five support departments (the reference case)."""
from plugins.hookspecs import hookimpl
from plugins.interfaces import DepartmentSpec

DEPARTMENTS = [
    DepartmentSpec(
        slug="arrendasoft",
        name_es="Soporte Arrendasoft",
        name_en="Arrendasoft support",
        description_es=(
            "Terceros, propiedades, contratos, facturas, recibos de caja, comprobantes de egreso y los demás "
            "módulos del software Arrendasoft, además del sitio web integrado con él."
        ),
        description_en=(
            "Third parties, properties, contracts, invoices, cash receipts, expense vouchers and the other "
            "modules of the Arrendasoft software, plus the web site integrated with it."
        ),
        sort_order=10,
    ),
    DepartmentSpec(
        slug="moodle",
        name_es="Soporte Moodle",
        name_en="Moodle support",
        description_es=(
            "Cursos, matrículas, certificados, inscripciones, actividades, cambios de configuración, reportes, "
            "actualizaciones y demás recursos o errores de la plataforma Moodle."
        ),
        description_en=(
            "Courses, enrolments, certificates, registrations, activities, configuration changes, reports, "
            "updates and other resources or errors of the Moodle platform."
        ),
        sort_order=20,
    ),
    DepartmentSpec(
        slug="web",
        name_es="Soporte Páginas Web",
        name_en="Web pages support",
        description_es=(
            "El sitio web, WordPress, Joomla, diseño gráfico, animaciones, integración con redes sociales, "
            "actualizaciones de plugins y de versiones."
        ),
        description_en=(
            "The web site, WordPress, Joomla, graphic design, animations, social-network integration, plugin "
            "and version updates."
        ),
        sort_order=30,
    ),
    DepartmentSpec(
        slug="sima",
        name_es="Soporte SIMA",
        name_en="SIMA support",
        description_es=(
            "Fallas o inconsistencias de SIMA (sistema de información médico-administrativo): facturación, "
            "reportes, agenda, entre otros."
        ),
        description_en=(
            "Faults or inconsistencies of SIMA (the medical-administrative information system): billing, "
            "reports, agenda, among others."
        ),
        sort_order=40,
    ),
    DepartmentSpec(
        slug="custom",
        name_es="Soporte Software a la Medida",
        name_en="Custom software support",
        description_es="Software y aplicaciones desarrollados a la medida para el cliente.",
        description_en="Software and applications developed to measure for the client.",
        sort_order=50,
    ),
]


@hookimpl
def portal_register_departments():
    return DEPARTMENTS
