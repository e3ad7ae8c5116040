"""Every user-facing sentence, in English and Spanish (`locale: es` in ops.yml).

Handlers and renderers ask for a key; nothing user-facing is written inline elsewhere.
A key missing in Spanish falls back to English, and a missing key shows the key itself,
so a gap is visible instead of crashing a command.
"""

from __future__ import annotations

from typing import Any

CATALOG: dict[str, dict[str, str]] = {
    # errors
    "error.generic": {"en": "Something went wrong.", "es": "Algo salió mal."},
    "error.internal": {
        "en": "Something went wrong inside the bot (error id `{error_id}`). Nothing else was changed; quote the id to whoever runs the bot.",
        "es": "Algo falló dentro del bot (id de error `{error_id}`). No se cambió nada más; cita el id a quien opera el bot.",
    },
    "error.usage": {"en": "{detail}\nUsage: `{usage}`", "es": "{detail}\nUso: `{usage}`"},
    "error.parse": {"en": "I could not read that command: {detail}", "es": "No pude leer el comando: {detail}"},
    "error.unknown_command": {
        "en": "There is no command `{command}`.{suggestion} Try `{prefix} help`.",
        "es": "No existe el comando `{command}`.{suggestion} Prueba `{prefix} help`.",
    },
    "error.did_you_mean": {"en": " Did you mean {names}?", "es": " ¿Quisiste decir {names}?"},
    "error.role": {
        "en": "`{operation}` needs the *{needed}* role; you have *{role}*. Nothing was run.",
        "es": "`{operation}` requiere el rol *{needed}*; tienes *{role}*. No se ejecutó nada.",
    },
    "error.channel": {
        "en": "`{prefix}` cannot be used in this channel. Use one of: {channels}.",
        "es": "`{prefix}` no se puede usar en este canal. Usa uno de: {channels}.",
    },
    "error.unavailable": {
        "en": "The bot's {part} is unreachable, so `{operation}` is refused to stay safe: {detail}",
        "es": "El {part} del bot no responde, así que `{operation}` se rechaza por seguridad: {detail}",
    },
    "error.target": {"en": "{service}: {detail}", "es": "{service}: {detail}"},
    "error.timeout": {
        "en": "`{operation}` did not finish within {seconds}s.",
        "es": "`{operation}` no terminó en {seconds}s.",
    },
    "error.not_configured": {
        "en": "`{key}` is not set in ops.yml, so this command has nothing to act on.",
        "es": "`{key}` no está en ops.yml, así que este comando no tiene sobre qué actuar.",
    },
    "arg.missing": {"en": "`{field}` is missing.", "es": "Falta `{field}`."},
    "arg.extra": {"en": "Unexpected `{value}`.", "es": "No esperaba `{value}`."},
    "arg.unknown_flag": {"en": "Unknown option `--{flag}`.", "es": "Opción desconocida `--{flag}`."},
    "arg.flag_needs_value": {"en": "`--{flag}` needs a value.", "es": "`--{flag}` necesita un valor."},
    "arg.invalid": {"en": "`{field}`: {detail}", "es": "`{field}`: {detail}"},
    "arg.not_int": {"en": "must be a whole number", "es": "debe ser un número entero"},
    "arg.too_small": {"en": "must be at least {limit}", "es": "debe ser al menos {limit}"},
    "arg.too_big": {"en": "must be at most {limit}", "es": "debe ser como máximo {limit}"},
    "arg.too_long": {
        "en": "is too long (at most {limit} characters)",
        "es": "es demasiado largo (máximo {limit} caracteres)",
    },
    "arg.choice": {"en": "must be one of {choices}", "es": "debe ser uno de {choices}"},
    "arg.unknown_service": {
        "en": "unknown service; known services: {services}",
        "es": "servicio desconocido; servicios conocidos: {services}",
    },
    "arg.unknown_check": {
        "en": "unknown check; known checks: {checks}",
        "es": "chequeo desconocido; chequeos conocidos: {checks}",
    },
    "arg.bad_duration": {
        "en": "is not a duration (use e.g. 30s, 15m, 2h)",
        "es": "no es una duración (usa p. ej. 30s, 15m, 2h)",
    },
    "arg.bad_user": {
        "en": "is not a Slack user (mention them, like @ana)",
        "es": "no es un usuario de Slack (menciónalo, como @ana)",
    },
    # adapters
    "ack.running": {"en": "⏳ Running `{command}`…", "es": "⏳ Ejecutando `{command}`…"},
    "shell.choose": {"en": "Choose a number (Enter to skip): ", "es": "Elige un número (Enter para omitir): "},
    "shell.bye": {"en": "Bye.", "es": "Adiós."},
    "shell.welcome": {
        "en": "ops-bot shell as {user} ({role}). Type `/ops help`, or `exit`.",
        "es": "ops-bot shell como {user} ({role}). Escribe `/ops help`, o `exit`.",
    },
    "file.attached": {"en": "Full output attached as `{name}`.", "es": "Salida completa adjunta como `{name}`."},
    "file.upload_failed": {
        "en": "I could not attach `{name}` here ({error}); invite me to the channel to get files.",
        "es": "No pude adjuntar `{name}` aquí ({error}); invítame al canal para recibir archivos.",
    },
    "file.saved": {"en": "Full output saved to {path}", "es": "Salida completa guardada en {path}"},
    # help
    "help.title": {"en": "What you can run ({role})", "es": "Lo que puedes ejecutar ({role})"},
    "help.usage": {"en": "Usage", "es": "Uso"},
    "help.role": {"en": "Least role", "es": "Rol mínimo"},
    "help.destructive.confirm": {"en": "asks for confirmation", "es": "pide confirmación"},
    "help.destructive.critical": {
        "en": "needs your confirmation and a second admin's approval",
        "es": "requiere tu confirmación y la aprobación de otro admin",
    },
    "help.none": {"en": "You cannot run any command here.", "es": "No puedes ejecutar ningún comando aquí."},
    # roles
    "role.viewer": {"en": "viewer", "es": "viewer"},
    "role.operator": {"en": "operator", "es": "operator"},
    "role.admin": {"en": "admin", "es": "admin"},
    "role.none": {"en": "no role", "es": "ningún rol"},
    # health and status
    "health.title": {"en": "Health", "es": "Salud"},
    "status.title": {"en": "Status of {project}", "es": "Estado de {project}"},
    "status.summary.ok": {"en": "All {count} checks pass.", "es": "Los {count} chequeos pasan."},
    "status.summary.bad": {
        "en": "{bad} of {count} checks need attention.",
        "es": "{bad} de {count} chequeos requieren atención.",
    },
    "check.timeout": {"en": "no answer within {seconds}s", "es": "sin respuesta en {seconds}s"},
    "check.http": {"en": "HTTP {status}", "es": "HTTP {status}"},
    "check.refused": {"en": "unreachable: {detail}", "es": "inalcanzable: {detail}"},
    "check.container": {"en": "container {state}", "es": "contenedor {state}"},
    "check.no_container": {"en": "no container", "es": "sin contenedor"},
    "check.pong": {"en": "PONG", "es": "PONG"},
    "check.sql_ok": {"en": "SELECT 1 ok", "es": "SELECT 1 ok"},
    "check.nothing": {
        "en": "Nothing to check: ops.yml has no stack targets.",
        "es": "Nada que chequear: ops.yml no tiene objetivos.",
    },
    # containers
    "ps.title": {"en": "Containers of {project}", "es": "Contenedores de {project}"},
    "ps.none": {"en": "No containers found for {what}.", "es": "No hay contenedores para {what}."},
    "ps.columns": {"en": "SERVICE|CONTAINER|STATE|STATUS|IMAGE", "es": "SERVICIO|CONTENEDOR|ESTADO|STATUS|IMAGEN"},
    "logs.title": {"en": "Logs of {service}", "es": "Logs de {service}"},
    "logs.summary": {
        "en": "{count} lines from {container}{filters}.",
        "es": "{count} líneas de {container}{filters}.",
    },
    "logs.filter.grep": {"en": " matching “{grep}”", "es": " que contienen “{grep}”"},
    "logs.filter.since": {"en": " from the last {since}", "es": " de los últimos {since}"},
    "logs.empty": {"en": "No log lines{filters}.", "es": "No hay líneas de log{filters}."},
    "docker.unreachable": {"en": "Docker engine unreachable: {detail}", "es": "Motor Docker inalcanzable: {detail}"},
    "docker.timeout": {
        "en": "Docker engine did not answer within {seconds}s",
        "es": "El motor Docker no respondió en {seconds}s",
    },
    "docker.no_container": {
        "en": "no container for service {service} in project {project}",
        "es": "no hay contenedor para el servicio {service} en el proyecto {project}",
    },
    # contacts
    "contacts.title": {"en": "Contacts", "es": "Contactos"},
    "contacts.columns": {"en": "ROLE|NAME|SLACK|EMAIL|HOURS|NOW", "es": "ROL|NOMBRE|SLACK|EMAIL|HORARIO|AHORA"},
    "contacts.on_call": {"en": "on call", "es": "de guardia"},
    "contacts.any_hour": {"en": "any hour", "es": "cualquier hora"},
    "contacts.reachable": {"en": "reachable", "es": "disponible"},
    "contacts.off_hours": {"en": "off hours", "es": "fuera de horario"},
    "contacts.none": {"en": "ops.yml has no contacts.", "es": "ops.yml no tiene contactos."},
    "contacts.now": {"en": "Now: {now} ({tz})", "es": "Ahora: {now} ({tz})"},
    # audit
    "audit.title": {"en": "Audit: last {count}", "es": "Auditoría: últimas {count}"},
    "audit.columns": {
        "en": "WHEN|WHO|CHANNEL|COMMAND|DECISION|OUTCOME|MS",
        "es": "CUÁNDO|QUIÉN|CANAL|COMANDO|DECISIÓN|RESULTADO|MS",
    },
    "audit.empty": {"en": "No audit rows yet.", "es": "Aún no hay filas de auditoría."},
    "part.database": {"en": "audit database", "es": "base de datos de auditoría"},
    "part.redis": {"en": "Redis", "es": "Redis"},
}

LOCALES = ("en", "es")


class Catalog:
    """Looks up sentences for one locale and fills their `{fields}`."""

    def __init__(self, locale: str = "en") -> None:
        self.locale = locale if locale in LOCALES else "en"

    def __call__(self, key: str, **fields: Any) -> str:
        entry = CATALOG.get(key)
        if entry is None:
            return key
        template = entry.get(self.locale) or entry["en"]
        try:
            return template.format(**fields)
        except (KeyError, IndexError, ValueError):
            return template
