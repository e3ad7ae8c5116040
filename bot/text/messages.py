"""Every user-facing sentence, in English and Spanish (`locale: es` in ops.yml).

Handlers and renderers ask for a key; nothing user-facing is written inline elsewhere.
A key missing in Spanish falls back to English, and a missing key shows the key itself,
so a gap is visible instead of crashing a command.

Plurals and numbers (issue 13): a language's value may be a dict of CLDR plural categories
(`{"one": "{count:n} line", "other": "{count:n} lines"}`); Babel's plural rule for the
`count` field picks one (without a `count`, the first number field of the `other` variant;
a missing category falls back to `other`). A second count in the same sentence is written
inline: `{errors:one=# menciona|other=# mencionan}` (`#` is the number in the locale's form).
In a template, `{x:n}` shows a number in the locale's form (`20,000` / `20.000`), `{x:.1n}`
with one decimal; a `timedelta` field is always shown as a localized duration (`1h 5min`). Why this and not gettext `.po` files yet is in
`bot/text/locale.py`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.text import locale as lc

CATALOG: dict[str, dict[str, str | dict[str, str]]] = {
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
        "en": "is too long (at most {limit:one=# character|other=# characters})",
        "es": "es demasiado largo (máximo {limit:one=# carácter|other=# caracteres})",
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
    # confirmations
    "confirm.title": {"en": "{command}", "es": "{command}"},
    "confirm.generic": {"en": "This will run `{command}`.", "es": "Esto ejecutará `{command}`."},
    "confirm.pending": {
        "en": "Nothing has changed yet. Only {user} can confirm, within {minutes} min.",
        "es": "Aún no se cambió nada. Solo {user} puede confirmar, dentro de {minutes} min.",
    },
    "confirm.pending_critical": {
        "en": "Nothing has changed yet. Critical step: {user} confirms within {minutes} min, then a second admin must approve.",
        "es": "Aún no se cambió nada. Paso crítico: {user} confirma dentro de {minutes} min y luego otro admin debe aprobar.",
    },
    "confirm.button.confirm": {"en": "Confirm", "es": "Confirmar"},
    "confirm.button.cancel": {"en": "Cancel", "es": "Cancelar"},
    "confirm.button.approve": {"en": "Approve", "es": "Aprobar"},
    "confirm.button.reject": {"en": "Reject", "es": "Rechazar"},
    "confirm.dialog.title": {"en": "Are you sure?", "es": "¿Seguro?"},
    "confirm.dialog.text": {"en": "This runs `{command}` now.", "es": "Esto ejecuta `{command}` ahora."},
    "confirm.field.requested_by": {"en": "Requested by", "es": "Pedido por"},
    "confirm.field.approved_by": {"en": "Approved by", "es": "Aprobado por"},
    "confirm.field.state": {"en": "State", "es": "Estado"},
    "confirm.awaiting": {"en": "⏸ awaiting a second admin", "es": "⏸ esperando a otro admin"},
    "confirm.awaiting_detail": {
        "en": "Confirmed by {user}. Waiting for another admin to approve; nothing has changed yet.",
        "es": "Confirmado por {user}. Esperando que otro admin apruebe; aún no se cambió nada.",
    },
    "confirm.running": {"en": "⏳ running", "es": "⏳ ejecutando"},
    "confirm.done": {"en": "✅ done in {seconds}s", "es": "✅ hecho en {seconds}s"},
    "confirm.failed": {"en": "❌ failed after {seconds}s", "es": "❌ falló tras {seconds}s"},
    "confirm.cancelled_title": {"en": "Cancelled", "es": "Cancelado"},
    "confirm.cancelled": {
        "en": "`{command}` was cancelled by {user}. Nothing was run.",
        "es": "`{command}` fue cancelado por {user}. No se ejecutó nada.",
    },
    "confirm.expired": {
        "en": "This confirmation has expired or does not exist. Nothing was run; send the command again.",
        "es": "Esta confirmación expiró o no existe. No se ejecutó nada; envía el comando otra vez.",
    },
    "confirm.not_requester": {
        "en": "Only {user}, who asked for it, can confirm or cancel this.",
        "es": "Solo {user}, quien lo pidió, puede confirmar o cancelar esto.",
    },
    "confirm.same_person": {
        "en": "A critical step needs a second admin: you asked for it, so someone else must approve.",
        "es": "Un paso crítico requiere otro admin: tú lo pediste, así que otra persona debe aprobar.",
    },
    "confirm.state.pending": {
        "en": "This step still awaits its requester's confirmation.",
        "es": "Este paso aún espera la confirmación de quien lo pidió.",
    },
    "confirm.state.awaiting_approval": {
        "en": "This step was already confirmed and awaits a second admin.",
        "es": "Este paso ya fue confirmado y espera a otro admin.",
    },
    "confirm.state.running": {
        "en": "This step is already running; it will not run twice.",
        "es": "Este paso ya se está ejecutando; no se ejecutará dos veces.",
    },
    "confirm.state.done": {
        "en": "This step already ran; it will not run twice.",
        "es": "Este paso ya se ejecutó; no se ejecutará dos veces.",
    },
    "confirm.state.failed": {
        "en": "This step already ran and failed; send the command again to retry.",
        "es": "Este paso ya se ejecutó y falló; envía el comando otra vez para reintentar.",
    },
    "confirm.state.cancelled": {
        "en": "This step was cancelled; nothing was run.",
        "es": "Este paso fue cancelado; no se ejecutó nada.",
    },
    "confirm.collision": {
        "en": "Could not park the confirmation; try again.",
        "es": "No se pudo registrar la confirmación; inténtalo de nuevo.",
    },
    "confirm.unknown_operation": {"en": "`{operation}` no longer exists.", "es": "`{operation}` ya no existe."},
    # step lifecycle (confirmations: channel binding, outcomes under outages, shutdown, recovery)
    "confirm.wrong_channel": {
        "en": "This confirmation belongs to channel {channel}, where the step was asked for; confirm it there. Nothing was run.",
        "es": "Esta confirmación pertenece al canal {channel}, donde se pidió el paso; confírmalo allí. No se ejecutó nada.",
    },
    "confirm.no_channel": {"en": "(the terminal)", "es": "(la terminal)"},
    "confirm.audit_failed_not_run": {
        "en": "The audit log could not record this click ({detail}), so `{command}` did NOT run and nothing was changed. The same button works again once the bot's database answers.",
        "es": "El registro de auditoría no pudo anotar este clic ({detail}), así que `{command}` NO se ejecutó y no se cambió nada. El mismo botón vuelve a funcionar cuando la base de datos del bot responda.",
    },
    "confirm.interrupted": {"en": "⛔ interrupted after {seconds}s", "es": "⛔ interrumpido tras {seconds}s"},
    "confirm.interrupted_detail": {
        "en": "The bot was shutting down and the step did not end within {seconds}s, so it was stopped (its programs were killed). It may have done part of its work: check before running it again.",
        "es": "El bot se estaba apagando y el paso no terminó en {seconds}s, así que se detuvo (se mataron sus programas). Puede haber hecho parte de su trabajo: revisa antes de ejecutarlo otra vez.",
    },
    "confirm.interrupted_found": {
        "en": "⛔ {user}: `{command}` was interrupted: the bot replica running it stopped before it ended. Its outcome is unknown; check what it changed before running it again.",
        "es": "⛔ {user}: `{command}` se interrumpió: la réplica del bot que lo ejecutaba se detuvo antes de que terminara. Su resultado es desconocido; revisa qué cambió antes de ejecutarlo otra vez.",
    },
    "confirm.interrupted_found_detail": {
        "en": "interrupted: its replica ({owner}) stopped renewing its lease before the step ended",
        "es": "interrumpido: su réplica ({owner}) dejó de renovar su lease antes de que el paso terminara",
    },
    "confirm.state.interrupted": {
        "en": "This step was interrupted when the bot running it stopped; its outcome is unknown. Check, then send the command again if needed.",
        "es": "Este paso se interrumpió cuando se detuvo el bot que lo ejecutaba; su resultado es desconocido. Revisa y envía el comando otra vez si hace falta.",
    },
    "confirm.shutting_down": {
        "en": "The bot is restarting, so nothing was run. Click again in a minute; another replica will take it.",
        "es": "El bot se está reiniciando, así que no se ejecutó nada. Vuelve a hacer clic en un minuto; otra réplica lo tomará.",
    },
    "confirm.audit_kept": {
        "en": "⚠️ The audit log could not be written ({detail}). The row is kept and will be written as soon as the bot's database answers.",
        "es": "⚠️ No se pudo escribir el registro de auditoría ({detail}). La fila se guarda y se escribirá en cuanto la base de datos del bot responda.",
    },
    "confirm.record_not_updated": {
        "en": "⚠️ The outcome above is what happened, but the confirmation's record in the bot's {part} could not be updated ({detail}).",
        "es": "⚠️ El resultado de arriba es lo que pasó, pero el registro de la confirmación en el {part} del bot no se pudo actualizar ({detail}).",
    },
    # incidents and escalation
    "incident.unknown_severity": {
        "en": "Unknown severity; use one of: {severities}.",
        "es": "Severidad desconocida; usa una de: {severities}.",
    },
    "incident.not_found": {"en": "There is no {ref}.", "es": "No existe {ref}."},
    "incident.none_open": {"en": "There is no open incident.", "es": "No hay incidentes abiertos."},
    "incident.which": {
        "en": "Several incidents are open ({refs}); say which, e.g. `INC-7`.",
        "es": "Hay varios incidentes abiertos ({refs}); indica cuál, p. ej. `INC-7`.",
    },
    "incident.already": {"en": "{ref} is already {state}.", "es": "{ref} ya está {state}."},
    "incident.no_item": {"en": "{ref} has no such checklist item.", "es": "{ref} no tiene ese ítem de checklist."},
    "incident.bad_ref": {"en": "is not an incident (use INC-42 or 42)", "es": "no es un incidente (usa INC-42 o 42)"},
    "incident.button.declare": {"en": "Declare an incident", "es": "Declarar un incidente"},
    "modal.declare.title": {"en": "Declare an incident", "es": "Declarar incidente"},
    "modal.declare.submit": {"en": "Declare", "es": "Declarar"},
    "modal.declare.severity": {"en": "Severity", "es": "Severidad"},
    "modal.declare.what": {"en": "What is happening?", "es": "¿Qué está pasando?"},
    "incident.button.ack": {"en": "Acknowledge", "es": "Reconocer"},
    "incident.button.resolve": {"en": "Resolve", "es": "Resolver"},
    "incident.declared_title": {"en": "{ref} declared ({sev})", "es": "{ref} declarado ({sev})"},
    "incident.declared": {
        "en": "{ref}: {title}. The timeline is a thread in the incident channel; escalation follows the {sev} policy.",
        "es": "{ref}: {title}. La línea de tiempo es un hilo en el canal de incidentes; el escalamiento sigue la política {sev}.",
    },
    "incident.no_policy": {
        "en": "ops.yml has no escalation policy for {sev} (`escalation.{key}`): nobody is paged. Call people yourself (`/ops contacts`), or add the policy.",
        "es": "ops.yml no tiene política de escalamiento para {sev} (`escalation.{key}`): no se avisa a nadie. Llama tú a las personas (`/ops contacts`), o agrega la política.",
    },
    "incident.state.open": {"en": "open", "es": "abierto"},
    "incident.state.acknowledged": {"en": "acknowledged", "es": "reconocido"},
    "incident.state.resolved": {"en": "resolved", "es": "resuelto"},
    "incident.plan": {"en": "Plan", "es": "Plan"},
    "incident.plan.page": {"en": "page {name} ({role}) {when}", "es": "avisar a {name} ({role}) {when}"},
    "incident.plan.ticket": {"en": "open a ticket {when}", "es": "abrir un ticket {when}"},
    "incident.plan.checklist": {"en": "post the checklist {when}", "es": "publicar el checklist {when}"},
    "incident.plan.now": {"en": "now", "es": "ahora"},
    "incident.plan.at": {"en": "at {when}", "es": "a las {when}"},
    "incident.plan.unless": {"en": " unless acknowledged", "es": " salvo que se reconozca"},
    "incident.no_worker": {
        "en": "No Slack connection here: pages go out when `ops-bot serve` or `ops-bot socket` runs on this database.",
        "es": "Sin conexión a Slack aquí: los avisos salen cuando `ops-bot serve` u `ops-bot socket` corre sobre esta base.",
    },
    "incident.acked": {
        "en": {
            "one": "{ref} acknowledged by {user}; {stopped:n} pending escalation step stopped.",
            "other": "{ref} acknowledged by {user}; {stopped:n} pending escalation steps stopped.",
        },
        "es": {
            "one": "{ref} reconocido por {user}; {stopped:n} paso de escalamiento detenido.",
            "other": "{ref} reconocido por {user}; {stopped:n} pasos de escalamiento detenidos.",
        },
    },
    "incident.resolved": {
        "en": "{ref} resolved after {duration}; acknowledged by {acked}; {pages:one=# page|other=# pages} sent.",
        "es": "{ref} resuelto tras {duration}; reconocido por {acked}; {pages:one=# aviso enviado|other=# avisos enviados}.",
    },
    "incident.list_title": {"en": "Incidents", "es": "Incidentes"},
    "incident.list_columns": {
        "en": "ID|SEV|STATE|TITLE|DECLARED|ACK",
        "es": "ID|SEV|ESTADO|TÍTULO|DECLARADO|RECONOCIDO",
    },
    "incident.list_empty": {"en": "No incidents yet.", "es": "Aún no hay incidentes."},
    "incident.ticked": {"en": "“{item}” ticked.", "es": "“{item}” marcado."},
    "incident.unticked": {"en": "“{item}” unticked.", "es": "“{item}” desmarcado."},
    "oncall.title": {"en": "On call", "es": "De guardia"},
    "oncall.columns": {"en": "ROLE|WHO|NAME", "es": "ROL|QUIÉN|NOMBRE"},
    "oncall.none": {"en": "Nobody is on call in ops.yml.", "es": "Nadie está de guardia en ops.yml."},
    "oncall.set": {
        "en": "{user} is now on call for {role} (was {previous}). Announced in the incident channel.",
        "es": "{user} queda de guardia para {role} (antes {previous}). Anunciado en el canal de incidentes.",
    },
    "oncall.which_role": {"en": "Say which role: {roles}.", "es": "Indica qué rol: {roles}."},
    "oncall.nobody": {"en": "nobody", "es": "nadie"},
    "escalation.announce": {
        "en": "🚨 *{ref}* · {sev} · {title}\nDeclared by {user}. Updates go in this thread.",
        "es": "🚨 *{ref}* · {sev} · {title}\nDeclarado por {user}. Las novedades van en este hilo.",
    },
    "escalation.page_dm": {
        "en": "📟 You are paged for *{ref}* ({sev}): {title}\n<{link}|Open the incident thread>",
        "es": "📟 Te avisan por *{ref}* ({sev}): {title}\n<{link}|Abrir el hilo del incidente>",
    },
    "escalation.paged": {"en": "📟 Paged {user} ({role}).", "es": "📟 Aviso enviado a {user} ({role})."},
    "escalation.paged_escalated": {
        "en": "⏫ Nobody acknowledged in time: escalated to {user} ({role}).",
        "es": "⏫ Nadie reconoció a tiempo: escalado a {user} ({role}).",
    },
    "escalation.on_call_suffix": {"en": ", on call", "es": ", de guardia"},
    "escalation.late": {
        "en": " _(sent {late} late: {reason})_",
        "es": " _(enviado con {late} de retraso: {reason})_",
    },
    # escalation under outages (bot/incidents/escalation.py): why a step was late, steps that failed for good
    "escalation.late.no_worker": {
        "en": "the bot was not running when it was due",
        "es": "el bot no estaba corriendo cuando tocaba",
    },
    "escalation.late.slack": {"en": "Slack did not answer from {since}", "es": "Slack no respondía desde las {since}"},
    "escalation.late.database": {
        "en": "the bot's database was unavailable from {since}",
        "es": "la base de datos del bot no estaba disponible desde las {since}",
    },
    "escalation.late.rate_limited": {
        "en": "Slack rate-limited it (429) and it waited for Retry-After",
        "es": "Slack lo limitó (429) y esperó el Retry-After",
    },
    "escalation.late.lease": {
        "en": "the replica sending it stopped mid-send; another one took it over",
        "es": "la réplica que lo enviaba se detuvo a medias; otra lo retomó",
    },
    "escalation.page_dm_nothread": {
        "en": "📟 You are paged for *{ref}* ({sev}): {title}",
        "es": "📟 Te avisan por *{ref}* ({sev}): {title}",
    },
    "escalation.page_failed": {
        "en": "❌ {ref}: could not page {user}: Slack said `{error}`. The escalation goes on with its next step.",
        "es": "❌ {ref}: no se pudo avisar a {user}: Slack dijo `{error}`. El escalamiento sigue con su siguiente paso.",
    },
    "escalation.announce_failed": {
        "en": "⚠️ {ref}: I could not post the incident in {channel} (Slack said `{error}`), so it has no thread"
        " there. Pages go out anyway. To fix it, invite me in that channel: `/invite @ops-bot`.",
        "es": "⚠️ {ref}: no pude publicar el incidente en {channel} (Slack dijo `{error}`), así que no tiene hilo"
        " allí. Los avisos salen igual. Para arreglarlo, invítame en ese canal: `/invite @ops-bot`.",
    },
    "escalation.no_channel": {
        "en": "⚠️ {ref}: ops.yml sets no `slack.incident_channel`, so the incident has no thread. Pages go out anyway.",
        "es": "⚠️ {ref}: ops.yml no define `slack.incident_channel`, así que el incidente no tiene hilo. Los avisos"
        " salen igual.",
    },
    "escalation.acknowledged": {
        "en": {
            "one": "✅ Acknowledged by {user}. {stopped:n} pending escalation step stopped.",
            "other": "✅ Acknowledged by {user}. {stopped:n} pending escalation steps stopped.",
        },
        "es": {
            "one": "✅ Reconocido por {user}. {stopped:n} paso de escalamiento detenido.",
            "other": "✅ Reconocido por {user}. {stopped:n} pasos de escalamiento detenidos.",
        },
    },
    "escalation.resolved": {
        "en": "🏁 Resolved by {user} after {duration}. Acknowledged by {acked}; {pages:one=# page|other=# pages} sent.",
        "es": "🏁 Resuelto por {user} tras {duration}. Reconocido por {acked}; {pages:one=# aviso enviado|other=# avisos enviados}.",
    },
    "escalation.nobody": {"en": "nobody", "es": "nadie"},
    "escalation.waiting_hours": {
        "en": "🌙 {user} is outside working hours; the notification will be sent at {when}.",
        "es": "🌙 {user} está fuera de horario; la notificación se enviará a las {when}.",
    },
    "escalation.ticket": {"en": "🎫 Ticket {ticket} opened for {ref}.", "es": "🎫 Ticket {ticket} abierto para {ref}."},
    "escalation.checklist": {"en": "📋 Checklist for {ref}:", "es": "📋 Checklist de {ref}:"},
    "escalation.ticked": {"en": "☑️ {user} ticked “{item}”.", "es": "☑️ {user} marcó “{item}”."},
    "escalation.unticked": {"en": "↩︎ {user} unticked “{item}”.", "es": "↩︎ {user} desmarcó “{item}”."},
    "escalation.handover": {
        "en": "🔁 On call for {role}: {user} takes over from {previous} (set by {by}).",
        "es": "🔁 Guardia de {role}: {user} releva a {previous} (por {by}).",
    },
    "escalation.webhook_failed": {
        "en": "⚠️ The ticket webhook kept failing; the ticket exists here only: {error}",
        "es": "⚠️ El webhook de tickets siguió fallando; el ticket existe solo aquí: {error}",
    },
    # health and status
    "health.title": {"en": "Health", "es": "Salud"},
    "status.title": {"en": "Status of {project}", "es": "Estado de {project}"},
    "status.summary.ok": {
        "en": {"one": "The {count:n} check passes.", "other": "All {count:n} checks pass."},
        "es": {"one": "El {count:n} chequeo pasa.", "other": "Los {count:n} chequeos pasan."},
    },
    "status.summary.bad": {
        "en": "{bad:one=# of {count:one=# check|other=# checks} needs|other=# of {count:n} checks need} attention.",
        "es": "{bad:one=# de {count:one=# chequeo|other=# chequeos} requiere|other=# de {count:n} chequeos requieren} atención.",
    },
    "check.timeout": {"en": "no answer within {seconds}s", "es": "sin respuesta en {seconds}s"},
    "check.http": {"en": "HTTP {status}", "es": "HTTP {status}"},
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
        "en": {
            "one": "{count:n} line from {container}{filters}.",
            "other": "{count:n} lines from {container}{filters}.",
        },
        "es": {"one": "{count:n} línea de {container}{filters}.", "other": "{count:n} líneas de {container}{filters}."},
    },
    "logs.filter.grep": {"en": " matching “{grep}”", "es": " que contienen “{grep}”"},
    "logs.filter.since": {"en": " from the last {since}", "es": " de los últimos {since}"},
    "logs.empty": {"en": "No log lines{filters}.", "es": "No hay líneas de log{filters}."},
    # live tail (/ops logs <service> --follow)
    "logs.follow.title": {"en": "Live tail of {service}", "es": "Logs en vivo de {service}"},
    "logs.follow.too_long": {"en": "is too long (at most {limit})", "es": "es demasiado largo (máximo {limit})"},
    "logs.follow.too_short": {"en": "is too short (at least {limit})", "es": "es demasiado corto (mínimo {limit})"},
    "logs.follow.bad_id": {"en": "is not a live tail id", "es": "no es un id de logs en vivo"},
    "logs.follow.no_thread": {
        "en": "A live tail needs a thread to write into, and this client has none. The last lines instead: `{command}`",
        "es": "Los logs en vivo necesitan un hilo donde escribir, y este cliente no lo tiene. Las últimas líneas: `{command}`",
    },
    "logs.follow.started": {
        "en": "Following {service}'s logs for {duration} (until {until}). New lines arrive below, at most one message a second; the whole capture comes as a file at the end. Stop it with the button or `{command}`.",
        "es": "Siguiendo los logs de {service} durante {duration} (hasta {until}). Las líneas nuevas llegan abajo, como máximo un mensaje por segundo; la captura completa llega como archivo al final. Detenlo con el botón o `{command}`.",
    },
    "logs.follow.stop_button": {"en": "Stop", "es": "Detener"},
    "logs.follow.summary_live": {"en": "Live tail of {service}", "es": "Logs en vivo de {service}"},
    "logs.follow.batch_more": {
        "en": {
            "one": "…{count:n} earlier line of this second is in the file at the end.",
            "other": "…{count:n} earlier lines of this second are in the file at the end.",
        },
        "es": {
            "one": "…{count:n} línea anterior de este segundo está en el archivo final.",
            "other": "…{count:n} líneas anteriores de este segundo están en el archivo final.",
        },
    },
    "logs.follow.batch_summary": {
        "en": {"one": "{service}: {count:n} new line", "other": "{service}: {count:n} new lines"},
        "es": {"one": "{service}: {count:n} línea nueva", "other": "{service}: {count:n} líneas nuevas"},
    },
    "logs.follow.thread_refused": {
        "en": "Could not write into a thread here ({detail}); invite the bot to this channel, or use `logs --tail`.",
        "es": "No se pudo escribir en un hilo aquí ({detail}); invita al bot a este canal, o usa `logs --tail`.",
    },
    "logs.follow.done": {
        "en": {
            "one": "Live tail of {service} ended: {count:n} line in {took}, {why}.",
            "other": "Live tail of {service} ended: {count:n} lines in {took}, {why}.",
        },
        "es": {
            "one": "Terminaron los logs en vivo de {service}: {count:n} línea en {took}, {why}.",
            "other": "Terminaron los logs en vivo de {service}: {count:n} líneas en {took}, {why}.",
        },
    },
    "logs.follow.why.time": {"en": "its time was up", "es": "se cumplió su tiempo"},
    "logs.follow.why.stopped": {"en": "stopped by {user}", "es": "detenido por {user}"},
    "logs.follow.why.ended": {
        "en": "the container stopped writing (it exited)",
        "es": "el contenedor dejó de escribir (terminó)",
    },
    "logs.follow.why.failed": {"en": "the stream broke: {detail}", "es": "el flujo se cortó: {detail}"},
    "logs.follow.why.thread": {
        "en": "the thread refused a message: {detail}",
        "es": "el hilo rechazó un mensaje: {detail}",
    },
    "logs.follow.capped": {
        "en": "{kept:one=Only the first line|other=Only the first # lines} ({size} MB) {kept:one=was|other=were} kept in the file.",
        "es": "{kept:one=Solo se guardó en el archivo la primera línea|other=Solo se guardaron en el archivo las primeras # líneas} ({size} MB).",
    },
    "logs.follow.file_in_thread": {
        "en": "The whole capture is attached in the thread as {name}.",
        "es": "La captura completa está adjunta en el hilo como {name}.",
    },
    "logs.follow.stopping": {"en": "Stopping the live tail…", "es": "Deteniendo los logs en vivo…"},
    "logs.follow.already_stopping": {
        "en": "This live tail is already stopping (asked by {user}).",
        "es": "Estos logs en vivo ya se están deteniendo (lo pidió {user}).",
    },
    "logs.follow.already_ended": {"en": "This live tail has already ended.", "es": "Estos logs en vivo ya terminaron."},
    "logs.follow.unknown": {
        "en": "No such live tail (it ended a while ago, or the id is wrong).",
        "es": "No existen esos logs en vivo (terminaron hace rato, o el id está mal).",
    },
    # metrics (/ops metrics)
    "metrics.title": {"en": "API metrics", "es": "Métricas de la API"},
    "metrics.latency_title": {"en": "API latency per route", "es": "Latencia de la API por ruta"},
    "metrics.cache_title": {"en": "Cache hit rate", "es": "Tasa de aciertos de caché"},
    "metrics.family_title": {"en": "{name} ({type})", "es": "{name} ({type})"},
    "metrics.bad_name": {
        "en": "is not a metric name (letters, digits, _ and :)",
        "es": "no es un nombre de métrica (letras, dígitos, _ y :)",
    },
    "metrics.window_too_long": {"en": "is too long (at most {limit})", "es": "es demasiado largo (máximo {limit})"},
    "metrics.unreachable": {"en": "{url} unreachable: {detail}", "es": "{url} inalcanzable: {detail}"},
    "metrics.http": {"en": "{url} answered HTTP {status}", "es": "{url} respondió HTTP {status}"},
    "metrics.too_big": {"en": "{url} sent more than {size} MB", "es": "{url} envió más de {size} MB"},
    "metrics.unparsable": {
        "en": "{url} is not Prometheus text format: {detail}",
        "es": "{url} no está en formato de texto Prometheus: {detail}",
    },
    "metrics.latency_columns": {
        "en": "ROUTE|REQUESTS|REQ/S|5XX|P50|P95|P99",
        "es": "RUTA|PETICIONES|PET/S|5XX|P50|P95|P99",
    },
    "metrics.histogram_columns": {"en": "LABELS|COUNT|P50|P95|P99", "es": "ETIQUETAS|CUENTA|P50|P95|P99"},
    "metrics.sample_columns": {"en": "SAMPLE|LABELS|VALUE", "es": "MUESTRA|ETIQUETAS|VALOR"},
    "metrics.note_single": {
        "en": "One scrape: totals and quantiles since the API started. A rate needs two scrapes (`--window 1s`).",
        "es": "Una sola lectura: totales y cuantiles desde que arrancó la API. Una tasa necesita dos lecturas (`--window 1s`).",
    },
    "metrics.note_window": {
        "en": "Rates, 5xx share and quantiles come from two scrapes {seconds}s apart (counters only hold totals since the API started).",
        "es": "Tasas, porcentaje de 5xx y cuantiles salen de dos lecturas separadas por {seconds}s (los contadores solo guardan totales desde que arrancó la API).",
    },
    "metrics.note_since_start": {
        "en": "* since the API started: fewer than {min:one=# request|other=# requests} in those {seconds}s.",
        "es": "* desde que arrancó la API: menos de {min:one=# petición|other=# peticiones} en esos {seconds}s.",
    },
    "metrics.bars_window": {
        "en": "Requests per latency bucket, last {seconds}s:",
        "es": "Peticiones por tramo de latencia, últimos {seconds}s:",
    },
    "metrics.bars_since_start": {
        "en": "Requests per latency bucket, since the API started:",
        "es": "Peticiones por tramo de latencia, desde que arrancó la API:",
    },
    "metrics.unknown": {
        "en": "There is no metric {name} in /metrics ({count:one=# family|other=# families}).",
        "es": "No hay métrica {name} en /metrics ({count:one=# familia|other=# familias}).",
    },
    "metrics.close": {"en": "Close names: {names}", "es": "Nombres parecidos: {names}"},
    "metrics.latency_summary": {
        "en": "Slowest route: {route}, p95 {p95} ({routes:one=# route|other=# routes}).",
        "es": "Ruta más lenta: {route}, p95 {p95} ({routes:one=# ruta|other=# rutas}).",
    },
    "metrics.no_requests": {"en": "No requests recorded yet.", "es": "Aún no hay peticiones registradas."},
    "metrics.no_latency": {
        "en": "The API exports no {name} histogram.",
        "es": "La API no exporta el histograma {name}.",
    },
    "metrics.cache_summary": {"en": "Cache hit rate {rate}.", "es": "Tasa de aciertos de caché {rate}."},
    "metrics.overview_summary": {
        "en": "{families:one=# metric family|other=# metric families}.",
        "es": "{families:one=# familia|other=# familias} de métricas.",
    },
    "metrics.field.rate": {"en": "Requests/s", "es": "Peticiones/s"},
    "metrics.field.errors": {"en": "5xx share", "es": "Porcentaje 5xx"},
    "metrics.field.worst": {"en": "Worst p95", "es": "Peor p95"},
    "metrics.field.cache": {"en": "Cache hit rate", "es": "Aciertos de caché"},
    "metrics.more_rows": {
        "en": {"one": "…and {count:n} more sample.", "other": "…and {count:n} more samples."},
        "es": {"one": "…y {count:n} muestra más.", "other": "…y {count:n} muestras más."},
    },
    "metrics.family_summary": {
        "en": {"one": "{name}: {count:n} sample.", "other": "{name}: {count:n} samples."},
        "es": {"one": "{name}: {count:n} muestra.", "other": "{name}: {count:n} muestras."},
    },
    # diagnose (/ops diagnose <section>)
    "diagnose.title": {"en": "Diagnose: {section}", "es": "Diagnóstico: {section}"},
    "diagnose.section.api": {"en": "API not responding", "es": "API no responde"},
    "diagnose.section.db": {"en": "Database connection errors", "es": "Errores de conexión a DB"},
    "diagnose.section.redis": {"en": "Redis disconnected", "es": "Redis desconectado"},
    "diagnose.section.payments": {"en": "Payments not processing", "es": "Pagos no procesándose"},
    "diagnose.section.slow": {"en": "Slow system", "es": "Sistema lento"},
    "diagnose.summary.ok": {
        "en": {"one": "The {count:n} finding is ok.", "other": "All {count:n} findings are ok."},
        "es": {"one": "El {count:n} hallazgo está bien.", "other": "Los {count:n} hallazgos están bien."},
    },
    "diagnose.summary.bad": {
        "en": "{bad:one=# of {count:one=# finding|other=# findings} needs|other=# of {count:n} findings need} attention: {names}.",
        "es": "{bad:one=# de {count:one=# hallazgo|other=# hallazgos} requiere|other=# de {count:n} hallazgos requieren} atención: {names}.",
    },
    "diagnose.timing": {
        "en": {
            "one": "{count:n} step ran in {took:.2n}s.",
            "other": "{count:n} steps ran at once in {took:.2n}s (one after another they took {sequential:.2n}s).",
        },
        "es": {
            "one": "{count:n} paso corrió en {took:.2n}s.",
            "other": "{count:n} pasos corrieron a la vez en {took:.2n}s (uno tras otro tomaron {sequential:.2n}s).",
        },
    },
    "diagnose.skipped": {
        "en": "Not checked (not configured in ops.yml): {names}.",
        "es": "Sin revisar (no configurado en ops.yml): {names}.",
    },
    "diagnose.step.container": {"en": "{service} container", "es": "contenedor {service}"},
    "diagnose.step.log_errors": {
        "en": "errors in {service}'s last {lines:one=log line|other=# log lines}",
        "es": "errores en {lines:one=la última línea|other=las últimas # líneas} de log de {service}",
    },
    "diagnose.step.health": {"en": "GET {path}", "es": "GET {path}"},
    "diagnose.step.connections": {"en": "connections (pg_stat_activity)", "es": "conexiones (pg_stat_activity)"},
    "diagnose.step.ping": {"en": "Redis PING", "es": "PING a Redis"},
    "diagnose.step.memory": {"en": "Redis memory", "es": "memoria de Redis"},
    "diagnose.step.webhooks": {
        "en": "webhooks in api logs (last {minutes} min)",
        "es": "webhooks en los logs de api (últimos {minutes} min)",
    },
    "diagnose.step.failed_jobs": {"en": "failed jobs in {queue}", "es": "jobs fallidos en {queue}"},
    "diagnose.step.latency": {"en": "request latency", "es": "latencia de peticiones"},
    "diagnose.step.slow_queries": {"en": "slowest queries", "es": "consultas más lentas"},
    "diagnose.step.cache": {"en": "cache hit rate", "es": "tasa de aciertos de caché"},
    "diagnose.container": {"en": "{name} is {state}", "es": "{name} está {state}"},
    "diagnose.no_log_lines": {"en": "no log lines", "es": "sin líneas de log"},
    "diagnose.log_errors": {
        "en": "{errors:one=# of {lines:one=# line|other=# lines} mentions|other=# of {lines:one=# line|other=# lines} mention} an error",
        "es": "{errors:one=# de {lines:one=# línea|other=# líneas} menciona|other=# de {lines:one=# línea|other=# líneas} mencionan} un error",
    },
    "diagnose.last_errors": {
        "en": "Last errors in {service}'s logs:",
        "es": "Últimos errores en los logs de {service}:",
    },
    "diagnose.health_slow": {
        "en": "{detail}, slower than {limit} ms",
        "es": "{detail}, más lento que {limit} ms",
    },
    "diagnose.connections": {
        "en": {
            "one": "{count:n} connection to {db} ({states}); {total:n} of {max:n} allowed in the server",
            "other": "{count:n} connections to {db} ({states}); {total:n} of {max:n} allowed in the server",
        },
        "es": {
            "one": "{count:n} conexión a {db} ({states}); {total:n} de {max:n} permitidas en el servidor",
            "other": "{count:n} conexiones a {db} ({states}); {total:n} de {max:n} permitidas en el servidor",
        },
    },
    "diagnose.ping": {"en": "PONG in {ms} ms", "es": "PONG en {ms} ms"},
    "diagnose.memory": {"en": "{used} of {max} used ({share})", "es": "{used} de {max} en uso ({share})"},
    "diagnose.memory_unbounded": {
        "en": "{used} used, no maxmemory limit",
        "es": "{used} en uso, sin límite maxmemory",
    },
    "diagnose.webhooks_none": {
        "en": "no webhook lines in the last {window}: are webhooks arriving?",
        "es": "ninguna línea de webhook en los últimos {window}: ¿están llegando los webhooks?",
    },
    "diagnose.webhooks": {
        "en": {
            "one": "{count:n} webhook line in the last {window}, {ago}; {errors:one=it mentions|other=# of them mention} an error",
            "other": "{count:n} webhook lines in the last {window}, the last {ago}; {errors:one=# of them mentions|other=# of them mention} an error",
        },
        "es": {
            "one": "{count:n} línea de webhook en los últimos {window}, {ago}; {errors:one=menciona|other=# mencionan} un error",
            "other": "{count:n} líneas de webhook en los últimos {window}, la última {ago}; {errors:one=# menciona|other=# mencionan} un error",
        },
    },
    "diagnose.webhook_errors": {"en": "Last webhook errors:", "es": "Últimos errores de webhooks:"},
    "diagnose.failed_none": {"en": "no failed jobs in {queue}", "es": "no hay jobs fallidos en {queue}"},
    "diagnose.failed_jobs": {
        "en": {
            "one": "{count:n} failed job in {queue}; top reasons: {reasons}",
            "other": "{count:n} failed jobs in {queue}; top reasons: {reasons}",
        },
        "es": {
            "one": "{count:n} job fallido en {queue}; motivos principales: {reasons}",
            "other": "{count:n} jobs fallidos en {queue}; motivos principales: {reasons}",
        },
    },
    "diagnose.latency": {
        "en": "slowest route {route}: p50 {p50}, p95 {p95}, p99 {p99} ({routes:one=# route|other=# routes}, {basis})",
        "es": "ruta más lenta {route}: p50 {p50}, p95 {p95}, p99 {p99} ({routes:one=# ruta|other=# rutas}, {basis})",
    },
    "diagnose.basis.window": {"en": "last {seconds}s", "es": "últimos {seconds}s"},
    "diagnose.basis.start": {"en": "since the API started", "es": "desde que arrancó la API"},
    "diagnose.slow_queries": {
        "en": "slowest statement in {db}: {worst} ms on average ({query})",
        "es": "consulta más lenta en {db}: {worst} ms en promedio ({query})",
    },
    "diagnose.cache": {"en": "{rate} ({source})", "es": "{rate} ({source})"},
    "diagnose.cache_from_redis": {
        "en": "Redis keyspace hits, since the API exports no cache_hit_rate",
        "es": "aciertos del keyspace de Redis, ya que la API no exporta cache_hit_rate",
    },
    "diagnose.cache_unknown": {
        "en": "no cache_hit_rate on /metrics and no cache lookups in Redis yet",
        "es": "no hay cache_hit_rate en /metrics ni lecturas de caché en Redis aún",
    },
    "diagnose.remedy.restart": {"en": "Restart {service}", "es": "Reiniciar {service}"},
    "diagnose.remedy.logs": {"en": "Logs of {service}", "es": "Logs de {service}"},
    "diagnose.remedy.connections": {"en": "Connections", "es": "Conexiones"},
    "diagnose.remedy.cache_stats": {"en": "Cache stats", "es": "Estadísticas de caché"},
    "diagnose.remedy.retry": {"en": "Retry failed {queue} jobs", "es": "Reintentar jobs fallidos de {queue}"},
    "diagnose.remedy.webhook_logs": {"en": "Webhook logs", "es": "Logs de webhooks"},
    "diagnose.remedy.queue": {"en": "Queue {queue}", "es": "Cola {queue}"},
    "diagnose.remedy.slow_queries": {"en": "Slow queries", "es": "Consultas lentas"},
    "diagnose.remedy.latency": {"en": "Latency", "es": "Latencia"},
    "diagnose.add_to": {"en": "Add to {ref}", "es": "Agregar a {ref}"},
    "diagnose.bad_id": {"en": "is not a findings id", "es": "no es un id de hallazgos"},
    "diagnose.findings_expired": {
        "en": "These findings expired; run the diagnose again and add the new ones.",
        "es": "Estos hallazgos expiraron; vuelve a ejecutar el diagnóstico y agrega los nuevos.",
    },
    "diagnose.already_posted": {
        "en": "These findings are already in {ref}'s thread.",
        "es": "Estos hallazgos ya están en el hilo de {ref}.",
    },
    "diagnose.posted": {
        "en": "The findings go into {ref}'s thread.",
        "es": "Los hallazgos van al hilo de {ref}.",
    },
    "escalation.diagnosis": {
        "en": "🩺 {user} added diagnose findings ({section}):",
        "es": "🩺 {user} agregó hallazgos de diagnóstico ({section}):",
    },
    "containers.field.service": {"en": "Service", "es": "Servicio"},
    "containers.field.container": {"en": "Container", "es": "Contenedor"},
    "containers.field.state": {"en": "State now", "es": "Estado actual"},
    "containers.field.image": {"en": "Image", "es": "Imagen"},
    "containers.after": {"en": "{name}: {state}", "es": "{name}: {state}"},
    "containers.restart.title": {"en": "Restart {service}", "es": "Reiniciar {service}"},
    "containers.restart.preview": {
        "en": {"one": "Will restart {count:n} container:", "other": "Will restart {count:n} containers:"},
        "es": {"one": "Se reiniciará {count:n} contenedor:", "other": "Se reiniciarán {count:n} contenedores:"},
    },
    "containers.restart.done": {"en": "{service} restarted and running.", "es": "{service} reiniciado y corriendo."},
    "containers.restart.failed": {
        "en": "{service} was restarted but is not running.",
        "es": "{service} se reinició pero no está corriendo.",
    },
    "containers.stop.title": {"en": "Stop {service}", "es": "Detener {service}"},
    "containers.stop.preview": {
        "en": {"one": "Will stop {count:n} container:", "other": "Will stop {count:n} containers:"},
        "es": {"one": "Se detendrá {count:n} contenedor:", "other": "Se detendrán {count:n} contenedores:"},
    },
    "containers.stop.done": {"en": "{service} stopped.", "es": "{service} detenido."},
    "containers.stop.failed": {"en": "{service} did not stop.", "es": "{service} no se detuvo."},
    "containers.start.title": {"en": "Start {service}", "es": "Iniciar {service}"},
    "containers.start.done": {"en": "{service} started and running.", "es": "{service} iniciado y corriendo."},
    "containers.start.failed": {"en": "{service} did not start.", "es": "{service} no inició."},
    "containers.up.title": {"en": "Up: {project}", "es": "Up: {project}"},
    "containers.up.done": {"en": "Every service is running.", "es": "Todos los servicios están corriendo."},
    "containers.up.partial": {
        "en": "Not every service is running: see below.",
        "es": "No todos los servicios están corriendo: ver abajo.",
    },
    "containers.up.missing": {
        "en": "{service}: no container exists (create it with docker compose up on the host)",
        "es": "{service}: no existe contenedor (créalo con docker compose up en el host)",
    },
    "containers.up.already": {"en": "{name}: already running", "es": "{name}: ya estaba corriendo"},
    "docker.unreachable": {
        "en": "{what}: Docker engine unreachable ({detail})",
        "es": "{what}: motor Docker inalcanzable ({detail})",
    },
    "docker.timeout": {
        "en": "{what}: no answer from the Docker engine within {seconds}s",
        "es": "{what}: el motor Docker no respondió en {seconds}s",
    },
    "docker.no_container": {
        "en": "no container for service {service} in project {project}",
        "es": "no hay contenedor para el servicio {service} en el proyecto {project}",
    },
    # cache and tenants
    "arg.tenant_empty": {"en": "a tenant id is required", "es": "se requiere un id de tenant"},
    "arg.tenant_wildcard": {
        "en": "wildcards (* ? [ ] \\) are not allowed: name exactly one tenant",
        "es": "no se permiten comodines (* ? [ ] \\): indica exactamente un tenant",
    },
    "arg.tenant_pattern": {
        "en": "is not a tenant id (must match {pattern})",
        "es": "no es un id de tenant (debe cumplir {pattern})",
    },
    "stack.not_configured": {
        "en": "`{setting}` is not set in ops.yml, so this command has nothing to act on.",
        "es": "`{setting}` no está en ops.yml, así que este comando no tiene sobre qué actuar.",
    },
    "cache.unreachable": {"en": "stack Redis unreachable: {detail}", "es": "Redis del stack inalcanzable: {detail}"},
    "cache.empty": {"en": "No keys in any database.", "es": "No hay claves en ninguna base."},
    "cache.stats.title": {"en": "Cache (Redis) statistics", "es": "Estadísticas de caché (Redis)"},
    "cache.stats.version": {"en": "Version", "es": "Versión"},
    "cache.stats.uptime": {"en": "Uptime", "es": "Tiempo activo"},
    "cache.stats.clients": {"en": "Connected clients", "es": "Clientes conectados"},
    "cache.stats.memory": {"en": "Used memory", "es": "Memoria usada"},
    "cache.stats.hits": {"en": "Keyspace hits", "es": "Aciertos"},
    "cache.stats.misses": {"en": "Keyspace misses", "es": "Fallos"},
    "cache.stats.evicted": {"en": "Evicted keys", "es": "Claves desalojadas"},
    "cache.stats.columns": {"en": "DB|KEYS|WITH TTL", "es": "BD|CLAVES|CON TTL"},
    "cache.stats.summary": {
        "en": {"one": "{keys:n} key, hit rate {rate}.", "other": "{keys:n} keys, hit rate {rate}."},
        "es": {"one": "{keys:n} clave, tasa de aciertos {rate}.", "other": "{keys:n} claves, tasa de aciertos {rate}."},
    },
    "cache.ping.title": {"en": "Cache PING", "es": "PING de caché"},
    "cache.ping.summary": {"en": "PONG in {ms} ms", "es": "PONG en {ms} ms"},
    "cache.flush.title": {"en": "Cache of tenant {tenant}", "es": "Caché del tenant {tenant}"},
    "cache.flush.progress": {
        "en": "deleted {deleted:one=# key|other=# keys} so far",
        "es": "{deleted:one=# clave borrada|other=# claves borradas} hasta ahora",
    },
    "cache.flush.done": {
        "en": {
            "one": "Deleted {deleted:n} cache key of tenant {tenant} in {seconds:.2n}s.",
            "other": "Deleted {deleted:n} cache keys of tenant {tenant} in {seconds:.2n}s.",
        },
        "es": {
            "one": "Se borró {deleted:n} clave de caché del tenant {tenant} en {seconds:.2n}s.",
            "other": "Se borraron {deleted:n} claves de caché del tenant {tenant} en {seconds:.2n}s.",
        },
    },
    "cache.flush.interrupted": {
        "en": "The flush of tenant {tenant} STOPPED after deleting {deleted:one=# key|other=# keys}: {detail}. Its cache is partly cleared; run the command again once Redis answers.",
        "es": "El borrado del tenant {tenant} SE DETUVO tras borrar {deleted:one=# clave|other=# claves}: {detail}. Su caché quedó a medias; repite el comando cuando Redis responda.",
    },
    "cache.preview.tenant": {
        "en": {
            "one": "{count:n} key matches `{pattern}` and would be deleted. Nothing has been deleted yet.",
            "other": "{count:n} keys match `{pattern}` and would be deleted. Nothing has been deleted yet.",
        },
        "es": {
            "one": "{count:n} clave coincide con `{pattern}` y se borraría. Aún no se borró nada.",
            "other": "{count:n} claves coinciden con `{pattern}` y se borrarían. Aún no se borró nada.",
        },
    },
    "cache.preview.samples": {"en": "For example:", "es": "Por ejemplo:"},
    "cache.flush_all.title": {"en": "Flush the stack's cache database", "es": "Vaciar la base de caché del stack"},
    "tenant.unknown": {
        "en": "There is no tenant `{tenant}` in table {table}. Nothing was changed.",
        "es": "No existe el tenant `{tenant}` en la tabla {table}. No se cambió nada.",
    },
    "tenant.state.active": {"en": "active", "es": "activo"},
    "tenant.state.inactive": {"en": "disabled", "es": "desactivado"},
    "tenant.field.cache_keys": {"en": "cache keys", "es": "claves de caché"},
    "tenant.cache.not_configured": {
        "en": "no stack Redis in ops.yml, so no cache to clear",
        "es": "ops.yml no tiene Redis del stack, así que no hay caché que borrar",
    },
    "tenant.cache.unknown": {"en": "unknown ({detail})", "es": "desconocido ({detail})"},
    "tenant.show.title": {"en": "Tenant {tenant}", "es": "Tenant {tenant}"},
    "tenant.show.summary": {
        "en": "Tenant {tenant} is {state}; cache keys: {keys}.",
        "es": "El tenant {tenant} está {state}; claves de caché: {keys}.",
    },
    "tenant.disable.title": {"en": "Disable tenant {tenant}", "es": "Desactivar tenant {tenant}"},
    "tenant.enable.title": {"en": "Enable tenant {tenant}", "es": "Activar tenant {tenant}"},
    "tenant.disabled": {
        "en": "tenant {tenant} disabled (was {was})",
        "es": "tenant {tenant} desactivado (estaba {was})",
    },
    "tenant.enabled": {
        "en": "tenant {tenant} enabled (was {was}); its cache refills as it is used.",
        "es": "tenant {tenant} activado (estaba {was}); su caché se vuelve a llenar con el uso.",
    },
    "tenant.disabled_flushed": {
        "en": "{disabled}; {deleted:one=# cache key deleted|other=# cache keys deleted} in {seconds:.2n}s.",
        "es": "{disabled}; {deleted:one=# clave de caché borrada|other=# claves de caché borradas} en {seconds:.2n}s.",
    },
    "tenant.disabled_flush_failed": {
        "en": "PARTIAL: {disabled}, but clearing its cache FAILED after {deleted:one=# key|other=# keys}: {detail}. Retry with `/ops cache flush-tenant {tenant}`.",
        "es": "PARCIAL: {disabled}, pero el borrado de su caché FALLÓ tras {deleted:one=# clave|other=# claves}: {detail}. Reintenta con `/ops cache flush-tenant {tenant}`.",
    },
    "tenant.preview.disable": {
        "en": "Tenant {tenant} is {state}. Confirming sets it disabled and deletes its cache keys ({keys}).",
        "es": "El tenant {tenant} está {state}. Al confirmar se desactiva y se borran sus claves de caché ({keys}).",
    },
    "tenant.preview.enable": {
        "en": "Tenant {tenant} is {state}. Confirming sets it active.",
        "es": "El tenant {tenant} está {state}. Al confirmar se activa.",
    },
    # queues (Bull Board)
    "arg.unknown_queue": {
        "en": "unknown queue; known queues: {queues}",
        "es": "cola desconocida; colas conocidas: {queues}",
    },
    "arg.bad_queue": {
        "en": "is not a queue name (letters, digits and _ . : @ -)",
        "es": "no es un nombre de cola (letras, dígitos y _ . : @ -)",
    },
    "arg.bad_job_id": {
        "en": "is not a job id (letters, digits and _ . : -, no `/` or `..`) nor `all`",
        "es": "no es un id de job (letras, dígitos y _ . : -, sin `/` ni `..`) ni `all`",
    },
    "bull.timeout": {
        "en": "no answer from Bull Board within {seconds}s",
        "es": "Bull Board no respondió en {seconds}s",
    },
    "bull.unreachable": {
        "en": "Bull Board unreachable at {url}: {detail}",
        "es": "Bull Board inalcanzable en {url}: {detail}",
    },
    "bull.http": {
        "en": "Bull Board answered HTTP {status}{message}",
        "es": "Bull Board respondió HTTP {status}{message}",
    },
    "bull.not_a_board": {
        "en": "{url} answered HTTP 404 to Bull Board's API: is stack.bull_board.base_url where the board is mounted?",
        "es": "{url} respondió HTTP 404 a la API de Bull Board: ¿stack.bull_board.base_url es donde está montado el board?",
    },
    "bull.bad_answer": {
        "en": "{url} sent an answer that is not Bull Board's API",
        "es": "{url} envió una respuesta que no es de la API de Bull Board",
    },
    "bull.queue_not_found": {
        "en": "queue {queue} not found on Bull Board",
        "es": "la cola {queue} no existe en Bull Board",
    },
    "bull.job_not_found": {
        "en": "job {job} not found in queue {queue}",
        "es": "el job {job} no existe en la cola {queue}",
    },
    "bull.job_not_retriable": {
        "en": "job {job} of {queue} is {state}, not failed: nothing was retried",
        "es": "el job {job} de {queue} está {state}, no fallido: no se reintentó nada",
    },
    "bull.read_only": {
        "en": "queue {queue} is read-only on Bull Board",
        "es": "la cola {queue} es de solo lectura en Bull Board",
    },
    "queue.list_title": {"en": "Queues", "es": "Colas"},
    "queue.title": {"en": "Queue {queue}", "es": "Cola {queue}"},
    "queue.columns": {
        "en": "QUEUE|WAITING|ACTIVE|COMPLETED|FAILED|DELAYED|PAUSED",
        "es": "COLA|EN ESPERA|ACTIVOS|COMPLETADOS|FALLIDOS|DIFERIDOS|PAUSADOS",
    },
    "queue.jobs_columns": {"en": "JOB|FAILED|TRIES|REASON", "es": "JOB|FALLÓ|INTENTOS|MOTIVO"},
    "queue.effect_columns": {"en": "JOBS|BEFORE|NOW", "es": "JOBS|ANTES|AHORA"},
    "queue.list_summary": {
        "en": "{count:one=# queue|other=# queues}, {failed:one=# failed job|other=# failed jobs} in all.",
        "es": "{count:one=# cola|other=# colas}, {failed:one=# job fallido|other=# jobs fallidos} en total.",
    },
    "queue.none": {"en": "Bull Board reports no queues.", "es": "Bull Board no informa ninguna cola."},
    "queue.missing": {
        "en": "Configured but not on Bull Board: {queues}",
        "es": "Configuradas pero ausentes en Bull Board: {queues}",
    },
    "queue.summary": {
        "en": {"one": "{queue}: {failed:n} failed job.", "other": "{queue}: {failed:n} failed jobs."},
        "es": {"one": "{queue}: {failed:n} job fallido.", "other": "{queue}: {failed:n} jobs fallidos."},
    },
    "queue.no_failed": {"en": "No failed jobs.", "es": "No hay jobs fallidos."},
    "queue.no_reason": {"en": "(no reason given)", "es": "(sin motivo)"},
    "queue.reasons": {"en": "Failure reasons:", "es": "Motivos de fallo:"},
    "queue.reasons_newest": {
        "en": "Failure reasons (newest {read:n} of {total:one=# failed job|other=# failed jobs}):",
        "es": "Motivos de fallo ({read:one=el más reciente|other=los # más recientes} de {total:one=# job fallido|other=# jobs fallidos}):",
    },
    "queue.reasons_more": {
        "en": {"one": "…and {count:n} other reason", "other": "…and {count:n} other reasons"},
        "es": {"one": "…y {count:n} motivo más", "other": "…y {count:n} motivos más"},
    },
    "queue.jobs_shown": {
        "en": "Showing the newest {shown:n} of {total:one=# failed job|other=# failed jobs}.",
        "es": "{shown:one=Se muestra el más reciente|other=Se muestran los # más recientes} de {total:one=# job fallido|other=# jobs fallidos}.",
    },
    "queue.retry_hint": {"en": "To retry them: `{command}`", "es": "Para reintentarlos: `{command}`"},
    "queue.retry_title": {"en": "Retry failed jobs of {queue}", "es": "Reintentar jobs fallidos de {queue}"},
    "queue.retry_job_title": {"en": "Retry job {job} of {queue}", "es": "Reintentar el job {job} de {queue}"},
    "queue.preview_all": {
        "en": "Would retry every failed job of {queue}: {count:n} now. They go back to waiting and run again.",
        "es": "Se reintentaría cada job fallido de {queue}: {count:n} ahora. Vuelven a la espera y se ejecutan de nuevo.",
    },
    "queue.preview_job": {
        "en": "Would retry job {job} of {queue}, failed {ago} (tries: {tries}): {reason}",
        "es": "Se reintentaría el job {job} de {queue}, que falló {ago} (intentos: {tries}): {reason}",
    },
    "queue.nothing_to_retry": {
        "en": "{queue} has no failed jobs: nothing to retry.",
        "es": "{queue} no tiene jobs fallidos: nada que reintentar.",
    },
    "queue.job_not_failed": {
        "en": "Job {job} of {queue} is {state}, not failed: nothing to retry.",
        "es": "El job {job} de {queue} está {state}, no fallido: nada que reintentar.",
    },
    "queue.retried_all": {
        "en": {
            "one": "Bull Board retried {count:n} failed job of {queue}.",
            "other": "Bull Board retried {count:n} failed jobs of {queue}.",
        },
        "es": {
            "one": "Bull Board reintentó {count:n} job fallido de {queue}.",
            "other": "Bull Board reintentó {count:n} jobs fallidos de {queue}.",
        },
    },
    "queue.retried_skipped": {
        "en": {
            "one": "{count:n} could not be retried (it changed state meanwhile).",
            "other": "{count:n} could not be retried (they changed state meanwhile).",
        },
        "es": {
            "one": "{count:n} no se pudo reintentar (cambió de estado mientras tanto).",
            "other": "{count:n} no se pudieron reintentar (cambiaron de estado mientras tanto).",
        },
    },
    "queue.retried_job": {
        "en": "Bull Board retried job {job} of {queue}.",
        "es": "Bull Board reintentó el job {job} de {queue}.",
    },
    "queue.still_running": {
        "en": "The retried jobs are still running; `{command}` shows where they end up.",
        "es": "Los jobs reintentados aún se ejecutan; `{command}` muestra cómo terminan.",
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
        "en": "WHEN|WHO|CHANNEL|COMMAND|DECISION|OUTCOME|VERIFIED|MS",
        "es": "CUÁNDO|QUIÉN|CANAL|COMANDO|DECISIÓN|RESULTADO|VERIFICADO|MS",
    },
    # the audit row's decision and outcome codes as the reader's words (the row keeps the code)
    "audit.word.allowed": {"en": "allowed", "es": "permitido"},
    "audit.word.pending": {"en": "pending", "es": "pendiente"},
    "audit.word.unknown": {"en": "unknown", "es": "desconocido"},
    "audit.word.invalid": {"en": "invalid", "es": "inválido"},
    "audit.word.denied": {"en": "denied", "es": "denegado"},
    "audit.word.requested": {"en": "requested", "es": "solicitado"},
    "audit.word.confirmed": {"en": "confirmed", "es": "confirmado"},
    "audit.word.approved": {"en": "approved", "es": "aprobado"},
    "audit.word.cancelled": {"en": "cancelled", "es": "cancelado"},
    "audit.word.executed": {"en": "executed", "es": "ejecutado"},
    "audit.word.scheduled": {"en": "scheduled", "es": "programado"},
    "audit.word.policy": {"en": "policy", "es": "política"},
    "audit.word.ok": {"en": "ok", "es": "ok"},
    "audit.word.failed": {"en": "failed", "es": "falló"},
    "audit.word.refused": {"en": "refused", "es": "rechazado"},
    "audit.word.timeout": {"en": "timeout", "es": "sin respuesta a tiempo"},
    "audit.word.error": {"en": "error", "es": "error"},
    "audit.word.interrupted": {"en": "interrupted", "es": "interrumpido"},
    "audit.empty": {"en": "No audit rows yet.", "es": "Aún no hay filas de auditoría."},
    "part.database": {"en": "audit database", "es": "base de datos de auditoría"},
    "part.redis": {"en": "Redis", "es": "Redis"},
    # steps: runbook procedures shown as one message (bot/procedures/steps.py)
    "steps.state.waiting": {"en": "{n}. {label} — waiting", "es": "{n}. {label} — en espera"},
    "steps.state.running": {
        "en": "{n}. {label} — running for {elapsed}",
        "es": "{n}. {label} — ejecutando hace {elapsed}",
    },
    "steps.state.done": {"en": "{n}. {label} — done in {elapsed}", "es": "{n}. {label} — hecho en {elapsed}"},
    "steps.state.failed": {
        "en": "{n}. {label} — FAILED after {elapsed}: {detail}",
        "es": "{n}. {label} — FALLÓ tras {elapsed}: {detail}",
    },
    "steps.state.skipped": {"en": "{n}. {label} — not run", "es": "{n}. {label} — no ejecutado"},
    "steps.summary.starting": {
        "en": {"one": "Starting {total:n} step…", "other": "Starting {total:n} steps…"},
        "es": {"one": "Iniciando {total:n} paso…", "other": "Iniciando {total:n} pasos…"},
    },
    "steps.summary.running": {
        "en": "Step {n} of {total} running ({elapsed} so far).",
        "es": "Ejecutando el paso {n} de {total} ({elapsed} hasta ahora).",
    },
    "steps.summary.done": {
        "en": {"one": "{total:n} step done in {elapsed}.", "other": "All {total:n} steps done in {elapsed}."},
        "es": {
            "one": "{total:n} paso terminado en {elapsed}.",
            "other": "Los {total:n} pasos terminaron en {elapsed}.",
        },
    },
    "steps.summary.failed": {
        "en": "Stopped at step {n} of {total} ({label}): {detail}. The steps after it were not run.",
        "es": "Detenido en el paso {n} de {total} ({label}): {detail}. Los pasos siguientes no se ejecutaron.",
    },
    "steps.next": {"en": "What to do next: {hint}", "es": "Qué hacer ahora: {hint}"},
    "steps.tail": {"en": "Last lines of step {n}:", "es": "Últimas líneas del paso {n}:"},
    "steps.omitted": {
        "en": {"one": "[… {count:n} line left out …]", "other": "[… {count:n} lines left out …]"},
        "es": {"one": "[… {count:n} línea omitida …]", "other": "[… {count:n} líneas omitidas …]"},
    },
    "steps.preview": {
        "en": "Confirming runs: {label}\nNothing has run yet.",
        "es": "Al confirmar se ejecuta: {label}\nAún no se ejecutó nada.",
    },
    "steps.failed": {"en": "the step failed", "es": "el paso falló"},
    "steps.exit": {"en": "exit code {code}", "es": "código de salida {code}"},
    "steps.timeout": {
        "en": "did not finish within {seconds}s and was stopped",
        "es": "no terminó en {seconds}s y se detuvo",
    },
    "steps.timeout_container": {
        "en": "did not finish within {seconds}s; it may still be running inside {container}",
        "es": "no terminó en {seconds}s; puede seguir ejecutándose dentro de {container}",
    },
    "steps.not_found": {"en": "program `{program}` not found", "es": "no se encontró el programa `{program}`"},
    "steps.not_executable": {
        "en": "program `{program}` cannot be run (permission denied)",
        "es": "el programa `{program}` no se puede ejecutar (permiso denegado)",
    },
    "steps.no_cwd": {"en": "directory {cwd} does not exist", "es": "el directorio {cwd} no existe"},
    "steps.bad_command": {
        "en": "the step line `{command}` in ops.yml cannot be split into words: {detail}",
        "es": "la línea `{command}` del paso en ops.yml no se puede dividir en palabras: {detail}",
    },
    "steps.unknown_placeholder": {
        "en": "the step line `{command}` in ops.yml uses `{{{name}}}`, which this command does not provide",
        "es": "la línea `{command}` del paso en ops.yml usa `{{{name}}}`, que este comando no entrega",
    },
    "steps.bad_value": {
        "en": "`{name}` may not be empty or start with `-`",
        "es": "`{name}` no puede estar vacío ni empezar con `-`",
    },
    "steps.crashed": {"en": "unexpected error: {error}", "es": "error inesperado: {error}"},
    "steps.no_container": {
        "en": "no container for service {service}",
        "es": "no hay contenedor para el servicio {service}",
    },
    "steps.label.host": {"en": "{name}: `{command}` in {cwd}", "es": "{name}: `{command}` en {cwd}"},
    "steps.label.container": {
        "en": "{name}: `{command}` in the {service} container",
        "es": "{name}: `{command}` en el contenedor {service}",
    },
    "steps.label.stop": {"en": "Stop {service}", "es": "Detener {service}"},
    "steps.label.start": {"en": "Start {service}", "es": "Iniciar {service}"},
    "steps.label.health": {"en": "Health check (as /ops status)", "es": "Chequeo de salud (como /ops status)"},
    "steps.label.verify": {
        "en": "Verify {name} (gzip integrity, sha256)",
        "es": "Verificar {name} (integridad gzip, sha256)",
    },
    "steps.label.restore": {
        "en": "Restore {name} into {db} (psql, one transaction)",
        "es": "Restaurar {name} en {db} (psql, una transacción)",
    },
    "steps.label.dump": {"en": "pg_dump | gzip → {dir}/{name}", "es": "pg_dump | gzip → {dir}/{name}"},
    "steps.label.revert": {"en": "git revert {commit} in {repo}", "es": "git revert {commit} en {repo}"},
    "steps.health.ok": {
        "en": {"one": "{count:n} check passes", "other": "{count:n} checks pass"},
        "es": {"one": "{count:n} chequeo pasa", "other": "{count:n} chequeos pasan"},
    },
    "steps.health.failed": {
        "en": "{bad:one=# of {count:one=# check|other=# checks} fails|other=# of {count:n} checks fail}: {names}",
        "es": "{bad:one=# de {count:one=# chequeo|other=# chequeos} falla|other=# de {count:n} chequeos fallan}: {names}",
    },
    "steps.health.retrying": {
        "en": "{bad:n} of {count:one=# check|other=# checks} not passing yet (try {attempt})",
        "es": "{bad:one=# de {count:one=# chequeo|other=# chequeos} aún no pasa|other=# de {count:n} chequeos aún no pasan} (intento {attempt})",
    },
    # database (runbook "Gestión de Base de Datos", "Backups y Recuperación")
    "arg.bad_migration": {
        "en": "is not a migration name (letters, digits, _ and -, starting with a letter or digit)",
        "es": "no es un nombre de migración (letras, dígitos, _ y -, empezando por letra o dígito)",
    },
    "arg.bad_backup": {
        "en": "is not a backup name: use a name from `/ops db backups`, like pedidos_20251107_020000.sql.gz (never a path)",
        "es": "no es un nombre de backup: usa un nombre de `/ops db backups`, como pedidos_20251107_020000.sql.gz (nunca una ruta)",
    },
    "db.field.name": {"en": "Backup", "es": "Backup"},
    "db.field.size": {"en": "Size", "es": "Tamaño"},
    "db.field.age": {"en": "Made", "es": "Hecho"},
    "db.field.dir": {"en": "Directory", "es": "Directorio"},
    "db.field.database": {"en": "Database", "es": "Base de datos"},
    "db.connections.title": {"en": "Connections to {db}", "es": "Conexiones a {db}"},
    "db.connections.columns": {
        "en": "PID|USER|STATE|IN STATE FOR|QUERY",
        "es": "PID|USUARIO|ESTADO|EN ESTADO HACE|CONSULTA",
    },
    "db.connections.summary": {
        "en": {
            "one": "{count:n} connection to {db} ({states}); {total:n} of max_connections {max:n} in use on the server.",
            "other": "{count:n} connections to {db} ({states}); {total:n} of max_connections {max:n} in use on the server.",
        },
        "es": {
            "one": "{count:n} conexión a {db} ({states}); {total:n} de max_connections {max:n} en uso en el servidor.",
            "other": "{count:n} conexiones a {db} ({states}); {total:n} de max_connections {max:n} en uso en el servidor.",
        },
    },
    "db.slow.title": {
        "en": {"one": "Slowest query of {db}", "other": "Slowest {count:n} queries of {db}"},
        "es": {"one": "La consulta más lenta de {db}", "other": "Las {count:n} consultas más lentas de {db}"},
    },
    "db.slow.columns": {"en": "MEAN MS|CALLS|TOTAL MS|ROWS|QUERY", "es": "MEDIA MS|LLAMADAS|TOTAL MS|FILAS|CONSULTA"},
    "db.slow.summary": {
        "en": {
            "one": "{count:n} query by mean time; the slowest takes {worst} ms on average.",
            "other": "{count:n} queries by mean time; the slowest takes {worst} ms on average.",
        },
        "es": {
            "one": "{count:n} consulta por tiempo medio; la más lenta tarda {worst} ms en promedio.",
            "other": "{count:n} consultas por tiempo medio; la más lenta tarda {worst} ms en promedio.",
        },
    },
    "db.slow.empty": {
        "en": "pg_stat_statements has no statements for {db} yet.",
        "es": "pg_stat_statements aún no tiene consultas de {db}.",
    },
    "db.slow.not_installed": {
        "en": "The pg_stat_statements extension is not installed in {db}, so there are no query statistics (shared_preload_libraries is {preload}).",
        "es": "La extensión pg_stat_statements no está instalada en {db}, así que no hay estadísticas de consultas (shared_preload_libraries es {preload}).",
    },
    "db.slow.not_loaded": {
        "en": "pg_stat_statements is installed in {db} but the server did not load it: it is not in shared_preload_libraries ({preload}).",
        "es": "pg_stat_statements está instalada en {db} pero el servidor no la cargó: no está en shared_preload_libraries ({preload}).",
    },
    "db.slow.how_to_enable": {
        "en": "To enable it: 1) in postgresql.conf set shared_preload_libraries = 'pg_stat_statements' (keep any libraries already listed); 2) restart Postgres (docker-compose restart postgres); 3) in {db} run CREATE EXTENSION IF NOT EXISTS pg_stat_statements;",
        "es": "Para activarla: 1) en postgresql.conf pon shared_preload_libraries = 'pg_stat_statements' (conserva las librerías ya listadas); 2) reinicia Postgres (docker-compose restart postgres); 3) en {db} ejecuta CREATE EXTENSION IF NOT EXISTS pg_stat_statements;",
    },
    "db.slow.not_available": {
        "en": "This server does not ship the extension: install the PostgreSQL contrib package first.",
        "es": "Este servidor no trae la extensión: instala primero el paquete contrib de PostgreSQL.",
    },
    "db.migrate.title": {"en": "Database migrations", "es": "Migraciones de la base de datos"},
    "db.migrate.preview": {
        "en": "This applies every pending migration to the stack's database.",
        "es": "Esto aplica todas las migraciones pendientes a la base del stack.",
    },
    "db.migrate.hint": {
        "en": "read the attached output: a migration may have been applied in part. Fix the cause and run `/ops db migrate` again, or mark the failed migration rolled back with `/ops db migrate-rollback <migration>`.",
        "es": "lee la salida adjunta: una migración pudo quedar aplicada a medias. Corrige la causa y repite `/ops db migrate`, o marca la migración fallida como revertida con `/ops db migrate-rollback <migration>`.",
    },
    "db.migrate_rollback.title": {"en": "Roll back migration {migration}", "es": "Revertir la migración {migration}"},
    "db.migrate_rollback.preview": {
        "en": "This marks migration {migration} as rolled back (prisma migrate resolve --rolled-back).",
        "es": "Esto marca la migración {migration} como revertida (prisma migrate resolve --rolled-back).",
    },
    "db.migrate_rollback.hint": {
        "en": "check the migration name against the migrations folder and the attached output; nothing else was changed.",
        "es": "revisa el nombre de la migración contra la carpeta de migraciones y la salida adjunta; no se cambió nada más.",
    },
    "db.backup.title": {"en": "Backup of {db}", "es": "Backup de {db}"},
    "db.backup.pruned_line": {"en": "removed {name}", "es": "borrado {name}"},
    "db.backup.dump_hint": {
        "en": "no backup file was kept (the partial file is deleted). Read the attached output: check the database is up (`/ops health db`), the space left in the backups directory, and that pg_dump matches the server's version.",
        "es": "no quedó ningún archivo de backup (el parcial se borra). Lee la salida adjunta: revisa que la base responda (`/ops health db`), el espacio libre en el directorio de backups y que pg_dump sea de la versión del servidor.",
    },
    "db.backup.prune_hint": {
        "en": "the new backup is complete; only removing old ones failed. Check the permissions of the backups directory.",
        "es": "el backup nuevo está completo; solo falló borrar los antiguos. Revisa los permisos del directorio de backups.",
    },
    "db.backups.title": {"en": "Backups in {dir}", "es": "Backups en {dir}"},
    "db.backups.columns": {"en": "NAME|SIZE|MADE|SHA256", "es": "NOMBRE|TAMAÑO|HECHO|SHA256"},
    "db.backups.summary": {
        "en": "Backups: {count}; the newest is {newest}, made {age}.",
        "es": "Backups: {count}; el más reciente es {newest}, hecho {age}.",
    },
    "db.backups.none": {"en": "There are no backups in {dir} yet.", "es": "Aún no hay backups en {dir}."},
    "db.backups.no_checksum": {"en": "no checksum", "es": "sin checksum"},
    "db.restore.title": {"en": "Restore {name}", "es": "Restaurar {name}"},
    "db.restore.unknown": {
        "en": "There is no backup {name}. Nothing was stopped or changed; `{prefix} db backups` lists the ones you can restore.",
        "es": "No existe el backup {name}. No se detuvo ni cambió nada; `{prefix} db backups` lista los que se pueden restaurar.",
    },
    "db.restore.preview": {
        "en": "Confirming runs, in the runbook's order: 1) verify the file (gzip and sha256) while {service} keeps serving; 2) stop {service}; 3) restore it into the database in one transaction: the tables in the backup are dropped and recreated, so changes made since the backup are LOST; 4) start {service}; 5) health check. Nothing has run yet.",
        "es": "Al confirmar se ejecuta, en el orden del runbook: 1) verificar el archivo (gzip y sha256) mientras {service} sigue atendiendo; 2) detener {service}; 3) restaurarlo en la base en una transacción: las tablas del backup se borran y se recrean, así que los cambios hechos desde el backup se PIERDEN; 4) iniciar {service}; 5) chequeo de salud. Aún no se ejecutó nada.",
    },
    "db.restore.verified": {"en": "sha256 {sha}… matches", "es": "sha256 {sha}… coincide"},
    "db.restore.verified_line": {
        "en": "gzip ok: {size} compressed, {inflated} of SQL; checksum matches",
        "es": "gzip ok: {size} comprimido, {inflated} de SQL; el checksum coincide",
    },
    "db.restore.hint.verify": {
        "en": "nothing was stopped or changed. This file is damaged or not the one recorded: pick another from `{prefix} db backups`.",
        "es": "no se detuvo ni cambió nada. El archivo está dañado o no es el registrado: elige otro de `{prefix} db backups`.",
    },
    "db.restore.hint.stop": {
        "en": "nothing was restored. Look at the api container with `{prefix} ps api` and `{prefix} logs api`.",
        "es": "no se restauró nada. Revisa el contenedor api con `{prefix} ps api` y `{prefix} logs api`.",
    },
    "db.restore.hint.restore": {
        "en": "the restore ran in one transaction and was rolled back: the database is as it was before. {service} is STOPPED: start it again with `{prefix} start {service}` (runbook step 3), then read the attached output before trying again.",
        "es": "la restauración corrió en una transacción y se revirtió: la base quedó como estaba. {service} está DETENIDO: inícialo con `{prefix} start {service}` (paso 3 del runbook) y lee la salida adjunta antes de reintentar.",
    },
    "db.restore.hint.start": {
        "en": "the database WAS restored, but the api did not start: see `{prefix} logs api` and try `{prefix} start api`.",
        "es": "la base SÍ se restauró, pero la api no inició: revisa `{prefix} logs api` e intenta `{prefix} start api`.",
    },
    "db.restore.hint.health": {
        "en": "the database was restored and the api started, but health checks fail: see `{prefix} status` and `{prefix} logs api --tail 100`.",
        "es": "la base se restauró y la api inició, pero los chequeos de salud fallan: revisa `{prefix} status` y `{prefix} logs api --tail 100`.",
    },
    "db.restore.button.start": {"en": "Start {service}", "es": "Iniciar {service}"},
    "backup.corrupt": {"en": "the backup file is damaged", "es": "el archivo de backup está dañado"},
    "backup.bad_gzip": {"en": "not a valid gzip file: {detail}", "es": "no es un archivo gzip válido: {detail}"},
    "backup.no_checksum": {
        "en": "{name} has no recorded checksum ({name}.sha256), so it cannot be verified and is not restored. If you trust it, check it by hand and write the checksum with `sha256sum {name} > {name}.sha256`.",
        "es": "{name} no tiene checksum registrado ({name}.sha256), así que no se puede verificar y no se restaura. Si confías en él, revísalo a mano y escribe el checksum con `sha256sum {name} > {name}.sha256`.",
    },
    "backup.checksum_mismatch": {
        "en": "{name} does not match its recorded checksum (recorded {expected}…, file {actual}…): it changed after it was made",
        "es": "{name} no coincide con su checksum registrado (registrado {expected}…, archivo {actual}…): cambió después de hacerse",
    },
    "backup.program_failed": {"en": "{program} exited with code {code}", "es": "{program} terminó con código {code}"},
    "backup.psql_stopped": {
        "en": "psql stopped before reading the whole backup",
        "es": "psql se detuvo antes de leer todo el backup",
    },
    "backup.io_error": {
        "en": "cannot write the backup in {dir}: {detail}",
        "es": "no se puede escribir el backup en {dir}: {detail}",
    },
    "backup.exists": {
        "en": "a backup named {name} already exists; try again in a second",
        "es": "ya existe un backup llamado {name}; reintenta en un segundo",
    },
    # deploy (runbook "Rollback de Deploy")
    "arg.bad_commit": {
        "en": "is not a commit hash (7 to 40 hex digits, as `/ops deploy history` shows)",
        "es": "no es un hash de commit (7 a 40 dígitos hexadecimales, como muestra `/ops deploy history`)",
    },
    "deploy.history.title": {"en": "Deploy history of {repo}", "es": "Historial de deploy de {repo}"},
    "deploy.history.columns": {"en": "COMMIT|DATE|AUTHOR|SUBJECT", "es": "COMMIT|FECHA|AUTOR|ASUNTO"},
    "deploy.history.summary": {
        "en": {
            "one": "The last commit of {branch} in {repo}.",
            "other": "The last {count:n} commits of {branch} in {repo}.",
        },
        "es": {
            "one": "El último commit de {branch} en {repo}.",
            "other": "Los últimos {count:n} commits de {branch} en {repo}.",
        },
    },
    "deploy.history.hint": {
        "en": "To undo one: `{prefix} deploy rollback <commit>`.",
        "es": "Para deshacer uno: `{prefix} deploy rollback <commit>`.",
    },
    "deploy.field.commit": {"en": "Commit", "es": "Commit"},
    "deploy.field.subject": {"en": "Subject", "es": "Asunto"},
    "deploy.field.author": {"en": "Author", "es": "Autor"},
    "deploy.field.date": {"en": "Date", "es": "Fecha"},
    "deploy.rollback.title": {"en": "Roll back {commit}", "es": "Revertir {commit}"},
    "deploy.rollback.unknown": {
        "en": "Commit {commit} is not in the history of {repo}. Nothing was run; `{prefix} deploy history` lists the commits.",
        "es": "El commit {commit} no está en el historial de {repo}. No se ejecutó nada; `{prefix} deploy history` lista los commits.",
    },
    "deploy.rollback.preview": {
        "en": "Confirming runs, in order, stopping at the first failure:\n{plan}\nNothing has run yet.",
        "es": "Al confirmar se ejecuta, en orden, deteniéndose en la primera falla:\n{plan}\nAún no se ejecutó nada.",
    },
    "deploy.rollback.reverted": {"en": "HEAD is now {head}", "es": "HEAD ahora es {head}"},
    "deploy.rollback.aborted": {
        "en": "git revert --abort: the checkout is back as it was",
        "es": "git revert --abort: el checkout volvió a como estaba",
    },
    "deploy.rollback.not_aborted": {
        "en": "git revert --abort did not apply (nothing to abort)",
        "es": "git revert --abort no aplicó (nada que abortar)",
    },
    "deploy.rollback.hint.revert": {
        "en": "nothing was built or deployed. The revert did not apply cleanly (often a conflict with later commits): revert by hand in {repo}, or choose another commit.",
        "es": "no se construyó ni desplegó nada. El revert no se aplicó limpio (a menudo un conflicto con commits posteriores): revierte a mano en {repo} o elige otro commit.",
    },
    "deploy.rollback.hint.build": {
        "en": "nothing was deployed: the running version is unchanged. The revert commit is in {repo}; fix the build, or undo the revert there (git revert HEAD) before the next deploy.",
        "es": "no se desplegó nada: la versión en ejecución no cambió. El commit de revert está en {repo}; arregla el build o deshaz el revert allí (git revert HEAD) antes del próximo deploy.",
    },
    "deploy.rollback.hint.deploy": {
        "en": "the deploy may have stopped half-way: check `{prefix} status` and `{prefix} logs api`, then deploy by hand (make deploy) or run the rollback again.",
        "es": "el deploy pudo quedar a medias: revisa `{prefix} status` y `{prefix} logs api`, y despliega a mano (make deploy) o repite el rollback.",
    },
    "deploy.rollback.hint.health": {
        "en": "the reverted version is deployed but health checks fail: see `{prefix} status` and `{prefix} logs api --tail 100`; consider rolling back further (`{prefix} deploy history`).",
        "es": "la versión revertida está desplegada pero los chequeos de salud fallan: revisa `{prefix} status` y `{prefix} logs api --tail 100`; considera revertir más atrás (`{prefix} deploy history`).",
    },
    # scheduled jobs
    "schedule.title": {"en": "Scheduled {job}", "es": "{job} programado"},
    "schedule.alert": {
        "en": "🚨 The scheduled {job} FAILED. See below; run it by hand with `{prefix} {job}` once fixed.",
        "es": "🚨 El {job} programado FALLÓ. Ver abajo; ejecútalo a mano con `{prefix} {job}` una vez corregido.",
    },
    "schedule.unclaimed": {
        "en": "The scheduled {job} did not run: the bot's database is unreachable, so the replicas could not agree on which one runs it ({detail}).",
        "es": "El {job} programado no se ejecutó: la base de datos del bot no responde, así que las réplicas no pudieron acordar cuál lo ejecuta ({detail}).",
    },
    # incident report and notes (issue 16)
    "escalation.note": {"en": "📝 {user}: {text}", "es": "📝 {user}: {text}"},
    "incident.report_in_thread": {
        "en": "The postmortem draft (timeline and figures, Markdown) is posted in the incident's thread; `/ops incident report` brings it again.",
        "es": "El borrador del postmortem (línea de tiempo y cifras, Markdown) se publica en el hilo del incidente; `/ops incident report` lo vuelve a traer.",
    },
    "incident.noted": {"en": "Added to the timeline of {ref}.", "es": "Añadido a la línea de tiempo de {ref}."},
    "report.title": {
        "en": "{ref}: timeline and postmortem draft",
        "es": "{ref}: línea de tiempo y borrador del postmortem",
    },
    "report.file_title": {"en": "{ref} postmortem draft", "es": "Borrador del postmortem de {ref}"},
    "report.heading": {"en": "Postmortem draft: {ref} — {title}", "es": "Borrador de postmortem: {ref} — {title}"},
    "report.meta": {
        "en": "Severity {sev}, {state}. Written by ops-bot from its own records.",
        "es": "Severidad {sev}, {state}. Escrito por ops-bot a partir de sus propios registros.",
    },
    "report.section.figures": {"en": "Figures", "es": "Cifras"},
    "report.section.timeline": {"en": "Timeline", "es": "Línea de tiempo"},
    "report.section.impact": {"en": "Impact", "es": "Impacto"},
    "report.section.root_cause": {"en": "Root cause", "es": "Causa raíz"},
    "report.section.went_well": {"en": "What went well", "es": "Qué salió bien"},
    "report.section.went_badly": {"en": "What went badly", "es": "Qué salió mal"},
    "report.section.action_items": {"en": "Action items", "es": "Acciones"},
    "report.to_fill": {"en": "_To be written._", "es": "_Por escribir._"},
    "report.timeline_note": {
        "en": "Times in {tz}. 🧵 marks a command run in the incident channel; ×N a repeat by the same person.",
        "es": "Horas en {tz}. 🧵 marca un comando ejecutado en el canal del incidente; ×N una repetición de la misma persona.",
    },
    "report.column.time": {"en": "Time", "es": "Hora"},
    "report.column.who": {"en": "Who", "es": "Quién"},
    "report.column.what": {"en": "What", "es": "Qué"},
    "report.cut": {
        "en": {"one": "… {count:n} line cut from the middle …", "other": "… {count:n} lines cut from the middle …"},
        "es": {"one": "… {count:n} línea cortada del medio …", "other": "… {count:n} líneas cortadas del medio …"},
    },
    "report.not_yet": {"en": "not yet", "es": "aún no"},
    "report.figure.tta": {"en": "Time to acknowledge: {value}", "es": "Tiempo hasta el reconocimiento: {value}"},
    "report.figure.ttr": {"en": "Time to resolve: {value}", "es": "Tiempo hasta la resolución: {value}"},
    "report.figure.pages": {
        "en": "Pages ({count:n}): {pages}",
        "es": "Avisos ({count:n}): {pages}",
    },
    "report.figure.destructive": {
        "en": "Destructive steps run: {count} ({outcomes})",
        "es": "Pasos destructivos ejecutados: {count} ({outcomes})",
    },
    "report.page.sent": {"en": "sent, {late} late", "es": "enviado, {late} de retraso"},
    "report.page.failed": {"en": "failed: {error}", "es": "falló: {error}"},
    "report.page.pending": {"en": "not sent yet", "es": "aún no enviado"},
    "report.page.sending": {"en": "being sent now", "es": "enviándose ahora"},
    "report.page.stopped": {"en": "not needed (acknowledged)", "es": "no hizo falta (reconocido)"},
    "report.page.cancelled": {"en": "not needed (resolved)", "es": "no hizo falta (resuelto)"},
    "report.last_lines": {
        "en": {"one": "Last line, times in {tz}:", "other": "Last {count:n} lines, times in {tz}:"},
        "es": {"one": "Última línea, horas en {tz}:", "other": "Últimas {count:n} líneas, horas en {tz}:"},
    },
    "report.who": {"en": "{user} ({role})", "es": "{user} ({role})"},
    "report.late": {"en": ", {late} late", "es": ", con {late} de retraso"},
    "report.line.declared": {"en": "declared {sev}: {title}", "es": "declaró {sev}: {title}"},
    "report.line.paged": {"en": "paged {who}", "es": "avisó a {who}"},
    "report.line.page_failed": {"en": "page to {who} failed: {error}", "es": "el aviso a {who} falló: {error}"},
    "report.line.page_stopped": {
        "en": "page to {who} not sent: acknowledged",
        "es": "aviso a {who} no enviado: reconocido",
    },
    "report.line.page_cancelled": {
        "en": "page to {who} not sent: resolved",
        "es": "aviso a {who} no enviado: resuelto",
    },
    "report.line.page_pending": {"en": "page to {who} still pending", "es": "aviso a {who} aún pendiente"},
    "report.line.thread": {"en": "opened the incident thread", "es": "abrió el hilo del incidente"},
    "report.line.ticket": {"en": "opened a ticket", "es": "abrió un ticket"},
    "report.line.checklist": {"en": "posted the checklist", "es": "publicó el checklist"},
    "report.line.note": {"en": "note: {text}", "es": "nota: {text}"},
    "report.line.ticked": {"en": "ticked “{item}”", "es": "marcó “{item}”"},
    "report.line.unticked": {"en": "unticked “{item}”", "es": "desmarcó “{item}”"},
    "report.line.diagnosis": {"en": "added the {section} diagnosis", "es": "añadió el diagnóstico {section}"},
    "report.line.webhook_failed": {
        "en": "ticket webhook failed: {error}",
        "es": "el webhook de tickets falló: {error}",
    },
    "report.line.acknowledged": {"en": "acknowledged", "es": "reconoció"},
    "report.line.resolved": {"en": "resolved{note}", "es": "resolvió{note}"},
    "report.line.command": {
        "en": "`{command}` — {decision}, {outcome}{duration} via {source}",
        "es": "`{command}` — {decision}, {outcome}{duration} vía {source}",
    },
    # people named as they are typed
    "arg.user_ambiguous": {
        "en": "{name} could be several people ({users}); use their @mention",
        "es": "{name} podría ser varias personas ({users}); usa su @mención",
    },
    "arg.user_unknown": {
        "en": "nobody in the contact table is called {name}; use their @mention or U… id",
        "es": "nadie en la tabla de contactos se llama {name}; usa su @mención o su id U…",
    },
    # /ops pending
    "pending.title": {"en": "Waiting for a yes", "es": "Esperando un sí"},
    "pending.none": {
        "en": "Nothing waits for you: no step of yours to confirm, none awaiting your approval.",
        "es": "Nada te espera: ningún paso tuyo por confirmar, ninguno esperando tu aprobación.",
    },
    "pending.summary": {
        "en": "To confirm: {mine} · awaiting your approval: {awaiting} · yours awaiting another admin: {theirs}",
        "es": "Por confirmar: {mine} · esperando tu aprobación: {awaiting} · tuyos esperando a otro admin: {theirs}",
    },
    "pending.mine": {
        "en": "`{command}`: asked by you, not confirmed yet (expires in {minutes} min).",
        "es": "`{command}`: pedido por ti, aún sin confirmar (expira en {minutes} min).",
    },
    "pending.yours_awaiting": {
        "en": "`{command}`: confirmed by you, awaiting a second admin's approval.",
        "es": "`{command}`: confirmado por ti, esperando la aprobación de un segundo admin.",
    },
    "pending.awaiting_you": {
        "en": "`{command}`: confirmed by {user}, awaiting your approval as second admin.",
        "es": "`{command}`: confirmado por {user}, esperando tu aprobación como segundo admin.",
    },
    # alerts in (issue 15)
    "metrics.chart.no_prometheus": {
        "en": "Charts need `stack.prometheus` in ops.yml (its URL); none is configured.",
        "es": "Los gráficos necesitan `stack.prometheus` en ops.yml (su URL); no hay ninguno.",
    },
    "metrics.chart.window": {"en": "a chart spans {low} to {high}", "es": "un gráfico abarca de {low} a {high}"},
    "metrics.chart.title": {"en": "{what} over time", "es": "{what} en el tiempo"},
    "metrics.chart.empty": {
        "en": "Prometheus has no data for {what} in that window.",
        "es": "Prometheus no tiene datos de {what} en esa ventana.",
    },
    "metrics.chart.summary": {
        "en": "{what} over the last {window} from Prometheus: {series:one=# line|other=# lines}, {points:one=# point|other=# points}.",
        "es": "{what} en los últimos {window} según Prometheus: {series:one=# línea|other=# líneas}, {points:one=# punto|other=# puntos}.",
    },
    "alerts.title": {"en": "Firing alerts", "es": "Alertas activas"},
    "alerts.columns": {
        "en": "group|alert|severity|firing|on it|incident|message",
        "es": "grupo|alerta|severidad|activas|atendida por|incidente|mensaje",
    },
    "alerts.none": {"en": "Nothing is firing.", "es": "No hay alertas activas."},
    "alerts.not_configured": {
        "en": "Alerts are not configured: add `alerts:` (channel, token, rules) to ops.yml and point Alertmanager or Grafana at /alerts/alertmanager or /alerts/grafana.",
        "es": "Las alertas no están configuradas: agrega `alerts:` (channel, token, rules) a ops.yml y apunta Alertmanager o Grafana a /alerts/alertmanager o /alerts/grafana.",
    },
    "alerts.no_group": {"en": "There is no alert group {id}.", "es": "No existe el grupo de alertas {id}."},
    "alerts.no_alertmanager": {
        "en": "Silences need `stack.alertmanager` in ops.yml (its URL); none is configured, so nothing was silenced.",
        "es": "Los silencios necesitan `stack.alertmanager` en ops.yml (su URL); no hay ninguno, así que no se silenció nada.",
    },
    "alerts.acked": {"en": "{user} is on {alert}.", "es": "{user} atiende {alert}."},
    "alerts.declared": {
        "en": "{ref} ({sev}) declared for {alert}; the alert and the incident link to each other.",
        "es": "{ref} ({sev}) declarado por {alert}; la alerta y el incidente se enlazan entre sí.",
    },
    "alerts.already_declared": {"en": "{alert} already has {ref}.", "es": "{alert} ya tiene {ref}."},
    "alerts.silenced": {
        "en": "Silenced {matchers} for {duration} in Alertmanager (silence {id}).",
        "es": "Silenciado {matchers} por {duration} en Alertmanager (silencio {id}).",
    },
    "alerts.silence.comment": {
        "en": "{alert}, silenced from Slack by {user}",
        "es": "{alert}, silenciada desde Slack por {user}",
    },
    "alerts.silence.bad_duration": {
        "en": "A silence lasts more than 0 and at most {limit}.",
        "es": "Un silencio dura más de 0 y a lo sumo {limit}.",
    },
    "alerts.silence.no_labels": {
        "en": "{alert} has no labels to silence by.",
        "es": "{alert} no tiene etiquetas por las que silenciar.",
    },
    "alerts.silences.title": {"en": "Active silences", "es": "Silencios activos"},
    "alerts.silences.none": {
        "en": "No active silence in Alertmanager.",
        "es": "No hay silencios activos en Alertmanager.",
    },
    "alerts.silences.columns": {"en": "id|matchers|by|ends|comment", "es": "id|matchers|por|termina|comentario"},
    "alerts.expired": {"en": "Silence {id} expired by {user}.", "es": "Silencio {id} expirado por {user}."},
    "alerts.button.diagnose": {"en": "Diagnose", "es": "Diagnosticar"},
    "alerts.button.declare": {"en": "Declare incident", "es": "Declarar incidente"},
    "alerts.button.ack": {"en": "I'm on it", "es": "Lo atiendo"},
    "alerts.button.silence": {"en": "Silence {duration}", "es": "Silenciar {duration}"},
    "alerts.button.expire": {"en": "Expire {id}", "es": "Expirar {id}"},
    "alerts.msg.counts": {
        "en": "{firing} firing, {resolved} resolved · since {since}",
        "es": "{firing:one=# activa|other=# activas}, {resolved:one=# resuelta|other=# resueltas} · desde {since}",
    },
    "alerts.msg.runbook": {"en": "Runbook", "es": "Runbook"},
    "alerts.msg.resolved_one": {"en": "resolved", "es": "resuelta"},
    "alerts.msg.more": {"en": "… and {count} more", "es": "… y {count} más"},
    "alerts.msg.acked": {"en": "👀 {user} is on it", "es": "👀 {user} lo atiende"},
    "alerts.msg.incident": {"en": "Incident {ref}", "es": "Incidente {ref}"},
    "alerts.msg.resolved_after": {"en": "✅ Resolved after {duration}", "es": "✅ Resuelta tras {duration}"},
    "alerts.thread.firing": {"en": "🔥 firing: {alert}", "es": "🔥 activa: {alert}"},
    "alerts.thread.resolved": {"en": "✅ resolved: {alert}", "es": "✅ resuelta: {alert}"},
    "escalation.alert_linked": {
        "en": "🚨 Declared from the alert {alert}: {link}",
        "es": "🚨 Declarado desde la alerta {alert}: {link}",
    },
    "escalation.alerts_resolved": {
        "en": "✅ Every alert of {alert} resolved. Resolving the incident stays your call.",
        "es": "✅ Todas las alertas de {alert} se resolvieron. Resolver el incidente sigue siendo decisión de ustedes.",
    },
    # Socket Mode (helper sched): `ops-bot socket` when Slack refuses the app-level token
    "socket.refused": {
        "en": "Slack refused to open a Socket Mode connection: {error}. Check SLACK_APP_TOKEN: it must be an app-level token (xapp-…) with the connections:write scope.",
        "es": "Slack rechazó abrir una conexión Socket Mode: {error}. Revisa SLACK_APP_TOKEN: debe ser un token de nivel de app (xapp-…) con el scope connections:write.",
    },
    # work after the ack: lanes, answers, live tails (bot/core/lanes.py, bot/slack/answer.py, handlers/live_logs.py)
    "lanes.user_full": {
        "en": "You already have {limit:one=# long-running operation|other=# long-running operations} going (live tails, migrations, backups…). Stop one (its Stop button) or wait for one to end, then try again.",
        "es": "Ya tienes {limit:one=# operación larga|other=# operaciones largas} en curso (logs en vivo, migraciones, backups…). Detén una (su botón Detener) o espera a que termine una, y vuelve a intentarlo.",
    },
    "lanes.full": {
        "en": "The bot is already running {limit:one=# long-running operation|other=# long-running operations} (live tails, migrations, backups…), its limit. Try again when one ends.",
        "es": "El bot ya ejecuta {limit:one=# operación larga|other=# operaciones largas} (logs en vivo, migraciones, backups…), su límite. Vuelve a intentarlo cuando termine una.",
    },
    "logs.follow.replies_lost": {
        "en": {
            "one": "{count:n} message could not be posted in the thread ({detail}); its lines are in the file.",
            "other": "{count:n} messages could not be posted in the thread ({detail}); their lines are in the file.",
        },
        "es": {
            "one": "{count:n} mensaje no se pudo publicar en el hilo ({detail}); sus líneas están en el archivo.",
            "other": "{count:n} mensajes no se pudieron publicar en el hilo ({detail}); sus líneas están en el archivo.",
        },
    },
    "logs.follow.saved_on_host": {
        "en": "The upload of the capture failed ({detail}), so it was saved on the bot's host: {path} ({count:one=# line|other=# lines}).",
        "es": "La subida de la captura falló ({detail}), así que se guardó en el servidor del bot: {path} ({count:one=# línea|other=# líneas}).",
    },
    "logs.follow.not_saved": {
        "en": "The upload of the capture failed ({detail}) and it could not be saved on the bot's host either ({error}).",
        "es": "La subida de la captura falló ({detail}) y tampoco se pudo guardar en el servidor del bot ({error}).",
    },
    # bounded output, redaction and what a flush touches (helper "safety")
    "output.cut": {
        "en": {"one": " … cut {count:n} character", "other": " … cut {count:n} characters"},
        "es": {"one": " … {count:n} carácter cortado", "other": " … {count:n} caracteres cortados"},
    },
    "cache.preview.db": {
        "en": {
            "one": "FLUSHDB would delete {keys:n} key in database {where} of the stack's Redis (the one `stack.redis.url` names); no other database is touched. Nothing has been deleted yet.",
            "other": "FLUSHDB would delete {keys:n} keys in database {where} of the stack's Redis (the one `stack.redis.url` names); no other database is touched. Nothing has been deleted yet.",
        },
        "es": {
            "one": "FLUSHDB borraría {keys:n} clave en la base {where} del Redis del stack (la que indica `stack.redis.url`); ninguna otra base se toca. Aún no se borró nada.",
            "other": "FLUSHDB borraría {keys:n} claves en la base {where} del Redis del stack (la que indica `stack.redis.url`); ninguna otra base se toca. Aún no se borró nada.",
        },
    },
    "cache.preview.queues": {
        "en": "⚠️ This database also holds {count:one=# Bull queue key|other=# Bull queue keys} (`{pattern}`): the flush deletes those queues and their jobs too.",
        "es": "⚠️ Esta base también guarda {count:one=# clave de colas Bull|other=# claves de colas Bull} (`{pattern}`): el borrado elimina también esas colas y sus jobs.",
    },
    "cache.preview.bot": {
        "en": "⚠️ This database is also the bot's own (REDIS_URL, prefix `{prefix}`): its {count:one=# key|other=# keys} (pending confirmations, duplicate checks) go too, so pending buttons will say expired.",
        "es": "⚠️ Esta base es también la del bot (REDIS_URL, prefijo `{prefix}`): {count:one=su # clave|other=sus # claves} (confirmaciones pendientes, control de duplicados) también se borran, así que los botones pendientes dirán que expiraron.",
    },
    "cache.preview.others": {
        "en": "Other databases on this server, not touched: {dbs}.",
        "es": "Otras bases de este servidor, que no se tocan: {dbs}.",
    },
    "cache.flush_db.done": {
        "en": "FLUSHDB of {where} done: {keys:one=# key was|other=# keys were} there just before, {left:n} left.",
        "es": "FLUSHDB de {where} hecho: {keys:one=había # clave|other=había # claves} justo antes, quedan {left:n}.",
    },
    "cache.flush_db.refilled": {
        "en": "FLUSHDB of {where} done: {keys:one=# key was|other=# keys were} there just before; {left:one=# is|other=# are} there again (written since the flush).",
        "es": "FLUSHDB de {where} hecho: {keys:one=había # clave|other=había # claves} justo antes; ya {left:one=hay # de nuevo (escrita|other=hay # de nuevo (escritas} tras el borrado).",
    },
    "output.cut_lines": {
        "en": {
            "one": "… {count:n} earlier line cut to keep the file under {size}",
            "other": "… {count:n} earlier lines cut to keep the file under {size}",
        },
        "es": {
            "one": "… {count:n} línea anterior cortada para que el archivo no pase de {size}",
            "other": "… {count:n} líneas anteriores cortadas para que el archivo no pase de {size}",
        },
    },
    # backups: retention per origin (helper "perf", bot/procedures/backups.py, handlers/database.py)
    "steps.label.prune.on_demand": {
        "en": "Keep the newest {keep:one=on-demand backup|other=# on-demand backups} (scheduled ones are not touched)",
        "es": "Conservar {keep:one=el backup a pedido más reciente|other=los # backups a pedido más recientes} (los programados no se tocan)",
    },
    "steps.label.prune.scheduled": {
        "en": "Keep the newest {keep:one=scheduled backup|other=# scheduled backups} (on-demand ones are not touched)",
        "es": "Conservar {keep:one=el backup programado más reciente|other=los # backups programados más recientes} (los hechos a pedido no se tocan)",
    },
    "db.backup.pruned_none.on_demand": {
        "en": "no backup removed (at most {keep:one=# on-demand backup is|other=# on-demand backups are} kept)",
        "es": "no se borró ningún backup ({keep:one=se conserva hasta # backup a pedido|other=se conservan hasta # backups a pedido})",
    },
    "db.backup.pruned_one.on_demand": {
        "en": "removed the oldest on-demand backup {name} (the newest {keep:one=on-demand backup is|other=# on-demand backups are} kept)",
        "es": "se borró el backup a pedido más antiguo, {name} ({keep:one=se conserva el backup a pedido más reciente|other=se conservan los # backups a pedido más recientes})",
    },
    "db.backup.pruned_many.on_demand": {
        "en": "removed the {count} oldest on-demand backups: {names} (the newest {keep:one=on-demand backup is|other=# on-demand backups are} kept)",
        "es": "se borraron los {count} backups a pedido más antiguos: {names} ({keep:one=se conserva el backup a pedido más reciente|other=se conservan los # backups a pedido más recientes})",
    },
    "db.backup.pruned_none.scheduled": {
        "en": "no backup removed (at most {keep:one=# scheduled backup is|other=# scheduled backups are} kept)",
        "es": "no se borró ningún backup ({keep:one=se conserva hasta # backup programado|other=se conservan hasta # backups programados})",
    },
    "db.backup.pruned_one.scheduled": {
        "en": "removed the oldest scheduled backup {name} (the newest {keep:one=scheduled backup is|other=# scheduled backups are} kept)",
        "es": "se borró el backup programado más antiguo, {name} ({keep:one=se conserva el backup programado más reciente|other=se conservan los # backups programados más recientes})",
    },
    "db.backup.pruned_many.scheduled": {
        "en": "removed the {count} oldest scheduled backups: {names} (the newest {keep:one=scheduled backup is|other=# scheduled backups are} kept)",
        "es": "se borraron los {count} backups programados más antiguos: {names} ({keep:one=se conserva el backup programado más reciente|other=se conservan los # backups programados más recientes})",
    },
    # the terminal for two people (standalone demo, issue 14)
    "shell.approve_elsewhere": {
        "en": "A second admin approves it from their own terminal (`{join} U…`) with: {command}",
        "es": "Un segundo admin lo aprueba desde su propia terminal (`{join} U…`) con: {command}",
    },
    # --- the terminal never swallows input (issue 13)
    "shell.choice.or": {"en": " or ", "es": " o "},
    "shell.choice.invalid": {
        "en": "Type {numbers} (or a button's name); Enter leaves the choice open.",
        "es": "Escribe {numbers} (o el nombre de un botón); Enter deja la elección abierta.",
    },
    "shell.choice.left_open": {
        "en": "The choice was left open: nothing was run. `{command}` shows it again.",
        "es": "La elección quedó abierta: no se ejecutó nada. `{command}` la muestra otra vez.",
    },
    "shell.choice.skipped": {
        "en": "No button was chosen: nothing was run.",
        "es": "No se eligió ningún botón: no se ejecutó nada.",
    },
    "shell.choice.now_running": {"en": "Now running `{command}`:", "es": "Ahora se ejecuta `{command}`:"},
    "shell.interrupted": {
        "en": "⛔ Ctrl-C: `{command}` was stopped before it ended. The shell is still here (Ctrl-D or `exit` leaves).",
        "es": "⛔ Ctrl-C: `{command}` se detuvo antes de terminar. La shell sigue aquí (Ctrl-D o `exit` para salir).",
    },
    "shell.interrupted_step": {
        "en": "⛔ Ctrl-C: the confirmed step `{command}` was stopped while it ran. It may have done part of its work: check before running it again. It is recorded as interrupted, in its record and in the audit.",
        "es": "⛔ Ctrl-C: el paso confirmado `{command}` se detuvo mientras se ejecutaba. Puede haber hecho parte de su trabajo: revisa antes de ejecutarlo otra vez. Queda registrado como interrumpido, en su registro y en la auditoría.",
    },
    "shell.step_still_running": {
        "en": "`{command}` is a confirmed step and is changing things now: stopped halfway it may leave them half done. Press Ctrl-C again to stop it anyway, or wait for it to end.",
        "es": "`{command}` es un paso confirmado y está cambiando cosas ahora: detenido a medias puede dejarlas a medio hacer. Pulsa Ctrl-C otra vez para detenerlo igualmente, o espera a que termine.",
    },
    "shell.ctrl_c_hint": {
        "en": "(Ctrl-C stops a running command; Ctrl-D or `exit` leaves the shell.)",
        "es": "(Ctrl-C detiene un comando en ejecución; Ctrl-D o `exit` sale de la shell.)",
    },
    "shell.history_in_memory": {
        "en": "The command history is kept in memory only: {path} could not be opened ({error}).",
        "es": "El historial de comandos se guarda solo en memoria: no se pudo abrir {path} ({error}).",
    },
    # --- VERIFY (issue 13)
    "verify.verified": {"en": "✅ verified", "es": "✅ verificado"},
    "verify.not_verified": {"en": "❌ not verified", "es": "❌ no verificado"},
    "verify.container.running": {"en": "{name} running again", "es": "{name} corriendo de nuevo"},
    "verify.container.started": {
        "en": "running, started {at} (before: {before}), still up {seconds} s later",
        "es": "corriendo, iniciado {at} (antes: {before}), sigue arriba {seconds} s después",
    },
    "verify.container.crashed": {
        "en": "started, but not running {seconds} s later: {state}",
        "es": "inició, pero {seconds} s después no está corriendo: {state}",
    },
    "verify.container.same_start": {
        "en": "running, but its start time is unchanged ({at}): it was not restarted",
        "es": "corriendo, pero su hora de inicio no cambió ({at}): no se reinició",
    },
    "verify.container.not_running": {
        "en": "not running {seconds} s later: {state}",
        "es": "no está corriendo {seconds} s después: {state}",
    },
    "verify.container.already": {
        "en": "already running since {at}: not started again",
        "es": "ya corría desde {at}: no se inició de nuevo",
    },
    "verify.container.health": {"en": "{name} health check", "es": "{name} chequeo de salud"},
    "verify.container.healthy": {
        "en": "healthy {seconds} s after it started (bound {bound} s)",
        "es": "sano {seconds} s después de iniciar (límite {bound} s)",
    },
    "verify.container.unhealthy": {
        "en": "{status} {seconds} s after it started (bound {bound} s)",
        "es": "{status} {seconds} s después de iniciar (límite {bound} s)",
    },
    "verify.container.exited_while_starting": {
        "en": "stopped while its health check was {status}: {state}, {seconds} s after it started",
        "es": "se detuvo mientras su chequeo de salud estaba en {status}: {state}, {seconds} s después de iniciar",
    },
    "verify.container.stopped": {"en": "{name} stopped", "es": "{name} detenido"},
    "verify.container.exited": {
        "en": "stopped, exited by itself (exit code {code})",
        "es": "detenido, terminó por sí mismo (código de salida {code})",
    },
    "verify.container.killed": {
        "en": "stopped, but KILLED after the {grace} s grace period: it ignored SIGTERM (exit code {code})",
        "es": "detenido, pero MATADO tras el plazo de gracia de {grace} s: ignoró SIGTERM (código de salida {code})",
    },
    "verify.container.oom": {
        "en": "stopped: killed by the kernel, out of memory (exit code {code})",
        "es": "detenido: lo mató el kernel por falta de memoria (código de salida {code})",
    },
    "verify.container.still_running": {
        "en": "still {state} {seconds} s after the stop",
        "es": "sigue {state} {seconds} s después de detenerlo",
    },
    "verify.queue.completed": {"en": "retried jobs completed", "es": "jobs reintentados completados"},
    "verify.queue.completed_detail": {
        "en": "{done} of {total} completed",
        "es": "{done:n} de {total:one=# completado|other=# completados}",
    },
    "verify.queue.failed_again": {"en": "failed again", "es": "fallaron de nuevo"},
    "verify.queue.failed_again_detail": {
        "en": "{count} of {total} failed again (most often: {reason} ×{times})",
        "es": "{count} de {total} fallaron de nuevo (lo más común: {reason} ×{times})",
    },
    "verify.queue.none_failed_again": {"en": "none", "es": "ninguno"},
    "verify.queue.pending": {"en": "still waiting or running", "es": "aún esperando o en curso"},
    "verify.queue.pending_detail": {
        "en": "{count} not finished after {seconds} s",
        "es": "{count} sin terminar tras {seconds} s",
    },
    "verify.queue.tracked_part": {
        "en": "Followed by id: the newest {tracked:n} of {total:one=the # failed job|other=the # failed jobs}.",
        "es": "Seguidos por id: {tracked:one=el más reciente|other=los # más recientes} {total:one=del # job fallido|other=de los # jobs fallidos}.",
    },
    "verify.cache.keys_left": {"en": "keys matching {pattern}", "es": "claves que calzan con {pattern}"},
    "verify.cache.none_left": {"en": "0 left", "es": "quedan 0"},
    "verify.cache.some_left": {
        "en": "{count} still there (the app may be writing them again), e.g. {keys}",
        "es": "aún hay {count} (la app puede estar escribiéndolas de nuevo), p. ej. {keys}",
    },
    "verify.cache.db_left": {"en": "keys in {where}", "es": "claves en {where}"},
    "verify.cache.db_some_left": {
        "en": "{count} already there again (the app is writing)",
        "es": "ya hay {count} de nuevo (la app está escribiendo)",
    },
    "verify.tenant.row": {"en": "{table} row of {tenant}", "es": "fila de {tenant} en {table}"},
    "verify.tenant.row_detail": {"en": "active = {value} ({state})", "es": "active = {value} ({state})"},
    "verify.tenant.keys_now": {
        "en": "{keys} now (the cache refills as the tenant is used)",
        "es": "{keys} ahora (la caché se llena con el uso)",
    },
    "tenant.already.disable": {
        "en": "Tenant {tenant} is already disabled: nothing to do, nothing was asked or changed.",
        "es": "El tenant {tenant} ya está desactivado: no hay nada que hacer, no se pidió ni cambió nada.",
    },
    "tenant.already.enable": {
        "en": "Tenant {tenant} is already active: nothing to do, nothing was asked or changed.",
        "es": "El tenant {tenant} ya está activo: no hay nada que hacer, no se pidió ni cambió nada.",
    },
    "tenant.already.keys": {
        "en": "It still has {keys:one=# cache key; to clear it|other=# cache keys; to clear them}: {command}",
        "es": "Aún tiene {keys:one=# clave de caché; para borrarla|other=# claves de caché; para borrarlas}: {command}",
    },
    "verify.unreadable": {
        "en": "could not read it again: {detail}",
        "es": "no se pudo volver a leer: {detail}",
    },
    "verify.step.name": {"en": "step: {label}", "es": "paso: {label}"},
    "verify.step.done": {"en": "done; its last line: {line}", "es": "hecho; su última línea: {line}"},
    "verify.step.done_quiet": {"en": "done (it printed nothing)", "es": "hecho (no imprimió nada)"},
    "verify.step.failed": {"en": "failed: {detail}", "es": "falló: {detail}"},
    "verify.step.not_run": {"en": "not run (an earlier step failed)", "es": "no se ejecutó (falló un paso anterior)"},
    "verify.diagnose.finding": {"en": "diagnose {section}: {name}", "es": "diagnose {section}: {name}"},
    "verify.diagnose.gone": {
        "en": "gone (was {state}: {before}); now: {detail}",
        "es": "resuelto (estaba {state}: {before}); ahora: {detail}",
    },
    "verify.diagnose.still": {"en": "still {state}: {detail}", "es": "sigue {state}: {detail}"},
    "verify.diagnose.new": {
        "en": "new since the diagnose, {state}: {detail}",
        "es": "nuevo desde el diagnose, {state}: {detail}",
    },
    "verify.diagnose.not_rerun": {
        "en": "not checked again (the section no longer has it)",
        "es": "no se volvió a chequear (la sección ya no lo tiene)",
    },
    # --- Language (issue 13): argument errors pydantic or shlex would say in English; alert summaries
    "arg.unbalanced_quote": {
        "en": "a quote is not closed (or a `\\` ends the line)",
        "es": "hay una comilla sin cerrar (o la línea termina en `\\`)",
    },
    "arg.not_valid": {"en": "is not a valid value", "es": "no es un valor válido"},
    "arg.bad_form": {"en": "does not have the expected form", "es": "no tiene la forma esperada"},
    "arg.too_short": {
        "en": "is too short (at least {limit:one=# character|other=# characters})",
        "es": "es demasiado corto (mínimo {limit:one=# carácter|other=# caracteres})",
    },
    "arg.not_number": {"en": "must be a number", "es": "debe ser un número"},
    "container.up": {"en": "up {took}", "es": "activo desde hace {took}"},
    "container.exited": {"en": "exited ({code})", "es": "terminado (código {code})"},
    "container.state.created": {"en": "created", "es": "creado"},
    "container.state.paused": {"en": "paused", "es": "en pausa"},
    "container.state.restarting": {"en": "restarting", "es": "reiniciándose"},
    "container.state.removing": {"en": "removing", "es": "eliminándose"},
    "container.state.dead": {"en": "dead", "es": "muerto"},
    "alerts.summary.firing": {"en": "{name}: {firing:n} firing", "es": "{name}: {firing:one=# activa|other=# activas}"},
    "alerts.summary.resolved": {"en": "{name}: resolved", "es": "{name}: resuelta"},
    "arg.not_bool": {"en": "must be yes or no (true/false)", "es": "debe ser sí o no (true/false)"},
    # --- answers that cannot be misread (issue 13)
    "time.zone_note": {"en": "Times in {zone}.", "es": "Horas en {zone}."},
    "logs.grep.summary": {
        "en": "“{grep}” matched {matched:n} of {scanned:one=# line|other=# lines} of {container} ({window}); {shown:one=only the last one is shown|other=the last # are shown}.",
        "es": "“{grep}” coincide en {matched:n} de {scanned:one=# línea|other=# líneas} de {container} ({window}); {shown:one=solo se muestra la última|other=se muestran las últimas #}.",
    },
    "logs.grep.summary_all": {
        "en": "“{grep}” matched {matched:n} of {scanned:one=# line|other=# lines} of {container} ({window}), {matched:one=shown|other=all shown}.",
        "es": "“{grep}” coincide en {matched:n} de {scanned:one=# línea|other=# líneas} de {container} ({window}), {matched:one=se muestra|other=todas se muestran}.",
    },
    "logs.grep.none": {
        "en": "No line of {container} ({window}) contains “{grep}” ({scanned:one=# line|other=# lines} searched).",
        "es": "Ninguna línea de {container} ({window}) contiene “{grep}” ({scanned:one=# línea revisada|other=# líneas revisadas}).",
    },
    "logs.grep.window.all": {"en": "the whole log", "es": "todo el log"},
    "logs.grep.window.since": {"en": "the last {since}", "es": "los últimos {since}"},
    "logs.grep.capped": {
        "en": "The log is larger than {size}: only its newest {lines:one=line was|other=# lines were} searched (from {since}). Narrow it with --since.",
        "es": "El log supera {size}: {lines:one=solo se revisó su línea más reciente|other=solo se revisaron sus # líneas más recientes} (desde {since}). Acótalo con --since.",
    },
    "check.api_unreachable": {"en": "API unreachable: {reason}", "es": "API inalcanzable: {reason}"},
    "check.name.http": {"en": "API {path}", "es": "API {path}"},
    "check.name.postgres": {"en": "Postgres SELECT 1 (direct)", "es": "Postgres SELECT 1 (directo)"},
    "check.name.redis": {"en": "Redis PING (direct)", "es": "Redis PING (directo)"},
    "check.name.container": {"en": "container {service}", "es": "contenedor {service}"},
    "check.api_down_note": {
        "en": "The API at {url} did not answer ({reason}): its health endpoints could not be asked. "
        "This says nothing about the database or cache behind it.",
        "es": "La API en {url} no respondió ({reason}): no se pudo consultar sus endpoints de salud. "
        "Esto no dice nada de la base de datos ni del caché detrás de ella.",
    },
    "net.refused": {"en": "connection refused", "es": "conexión rechazada"},
    "net.reset": {"en": "connection reset", "es": "conexión reiniciada"},
    "net.no_route": {"en": "no route to host", "es": "sin ruta al host"},
    "net.timeout": {"en": "timed out", "es": "se agotó el tiempo"},
    "net.tls": {"en": "TLS handshake failed", "es": "falló el handshake TLS"},
    "net.closed": {"en": "server closed the connection", "es": "el servidor cerró la conexión"},
    "net.bad_url": {"en": "invalid URL", "es": "URL inválida"},
    "net.dns": {"en": "host name not found", "es": "nombre de host no encontrado"},
    "net.bad_answer": {"en": "malformed answer", "es": "respuesta mal formada"},
    "net.other": {"en": "connection failed ({kind})", "es": "falló la conexión ({kind})"},
    "error.role.who": {
        "en": "`{operation}` needs the *{needed}* role; you have *{role}*. Nothing was run. {holders}",
        "es": "`{operation}` requiere el rol *{needed}*; tienes *{role}*. No se ejecutó nada. {holders}",
    },
    "error.role.held_by": {"en": "Who holds it: {names}.", "es": "Quién lo tiene: {names}."},
    "error.role.held_by_none": {
        "en": "No one in the contact table holds it; it is given in ops.yml `{roles_key}`.",
        "es": "Nadie de la tabla de contactos lo tiene; se asigna en ops.yml `{roles_key}`.",
    },
    "metrics.legend.window": {
        "en": "Columns: REQUESTS is the total since the API started; REQ/S, 5XX and P50–P99 are over the last {seconds}s.",
        "es": "Columnas: PETICIONES es el total desde que arrancó la API; PET/S, 5XX y P50–P99 son de los últimos {seconds}s.",
    },
    "metrics.legend.single": {
        "en": "Columns: REQUESTS, 5XX and P50–P99 are since the API started; REQ/S is empty.",
        "es": "Columnas: PETICIONES, 5XX y P50–P99 son desde que arrancó la API; PET/S queda vacío.",
    },
    "metrics.basis.window": {"en": "{label} (last {seconds}s)", "es": "{label} (últimos {seconds}s)"},
    "metrics.basis.since_start": {"en": "{label} (since API start)", "es": "{label} (desde que arrancó la API)"},
    "metrics.field.cache_api": {"en": "Cache hit rate (API's {name})", "es": "Aciertos de caché ({name} de la API)"},
    "metrics.cache_source": {
        "en": "As the API reports it in its {name} gauge; the Redis server's own rate is in `/ops cache stats`.",
        "es": "Como la API lo informa en su gauge {name}; la tasa del propio servidor Redis está en `/ops cache stats`.",
    },
    "cache.stats.hit_rate_server": {"en": "Hit rate (Redis server)", "es": "Tasa de aciertos (servidor Redis)"},
    "cache.stats.hit_rate_source": {
        "en": "The hit rate is the Redis server's: keyspace_hits / (hits + misses) over every client's lookups "
        "since it started {uptime} ago. It is not the API's cache_hit_rate (`/ops metrics cache`).",
        "es": "La tasa de aciertos es la del servidor Redis: keyspace_hits / (hits + misses) de las consultas de "
        "todos los clientes desde que arrancó hace {uptime}. No es el cache_hit_rate de la API (`/ops metrics cache`).",
    },
    "diagnose.remedy.needs_role": {
        "en": "Not offered, they need the *{needed}* role ({who}): {labels}",
        "es": "No se ofrecen, requieren el rol *{needed}* ({who}): {labels}",
    },
    # --- language leftovers (issue 13)
    "config.problems": {
        "en": {"one": "{count:n} problem", "other": "{count:n} problems"},
        "es": {"one": "{count:n} problema", "other": "{count:n} problemas"},
    },
    # --- i22b: answers held through a Slack outage, alert storms (issue 22, items 3 and 4)
    "escalation.not_paged_acked": {
        "en": "📟 {user} not paged: they had already acknowledged.",
        "es": "📟 No se avisó a {user}: ya lo había reconocido.",
    },
    "answer.held_dm": {
        "en": "Slack was unreachable when this answer to your `{command}` was ready ({when}), and its reply link has expired, so here it is:",
        "es": "Slack no respondía cuando esta respuesta a tu `{command}` estuvo lista ({when}) y su enlace de respuesta ya caducó; aquí la tienes:",
    },
    "alerts.storm.head": {
        "en": {
            "one": "🌩️ *Alert storm*: {count:n} group firing, {resolved:one=# resolved|other=# resolved}, since {since}.",
            "other": "🌩️ *Alert storm*: {count:n} groups firing, {resolved:one=# resolved|other=# resolved}, since {since}.",
        },
        "es": {
            "one": "🌩️ *Tormenta de alertas*: {count:n} grupo activo, {resolved:one=# resuelto|other=# resueltos}, desde {since}.",
            "other": "🌩️ *Tormenta de alertas*: {count:n} grupos activos, {resolved:one=# resuelto|other=# resueltos}, desde {since}.",
        },
    },
    "alerts.storm.over": {
        "en": "✅ *Alert storm over*: all {resolved:n} groups resolved (it began {since}).",
        "es": "✅ *Tormenta de alertas terminada*: los {resolved:n} grupos se resolvieron (empezó {since}).",
    },
    "alerts.storm.top": {"en": "Most frequent: {names}", "es": "Más frecuentes: {names}"},
    "alerts.storm.where": {
        "en": "Too many at once for a message each (Slack takes about one a second per channel): every group is listed in this thread and in `{command}`; critical ones still get their own message.",
        "es": "Demasiados a la vez para un mensaje cada uno (Slack acepta cerca de uno por segundo por canal): cada grupo está en este hilo y en `{command}`; los críticos siguen teniendo su propio mensaje.",
    },
    "alerts.storm.summary": {
        "en": {"one": "Alert storm: {count:n} group firing", "other": "Alert storm: {count:n} groups firing"},
        "es": {
            "one": "Tormenta de alertas: {count:n} grupo activo",
            "other": "Tormenta de alertas: {count:n} grupos activos",
        },
    },
    "alerts.storm.listed": {
        "en": {"one": "{count:n} alert group of the storm", "other": "{count:n} alert groups of the storm"},
        "es": {
            "one": "{count:n} grupo de alertas de la tormenta",
            "other": "{count:n} grupos de alertas de la tormenta",
        },
    },
    # ---- i25: on-call rotas -------------------------------------------------------------
    "oncall.gap_paged": {
        "en": "Nobody is on the {role} rota right now (a gap): paging the role's other contacts instead: {users}.",
        "es": "Nadie está en la guardia de {role} ahora (un hueco): se avisa en su lugar a los demás contactos del rol: {users}.",
    },
    "oncall.now_columns": {"en": "ROLE|NOW|NEXT|FROM", "es": "ROL|AHORA|SIGUE|DESDE"},
    "oncall.gap": {"en": "nobody (a gap)", "es": "nadie (un hueco)"},
    "oncall.which_rota": {"en": "Say which rota: {roles}.", "es": "Indica qué guardia: {roles}."},
    "oncall.span_range": {"en": "Say a span from 1h to {most}.", "es": "Indica un plazo de 1h a {most}."},
    "oncall.schedule_columns": {"en": "FROM|TO|WHO|LAYER", "es": "DESDE|HASTA|QUIÉN|CAPA"},
    "oncall.schedule_title": {"en": "On call for {role}, next {span}", "es": "Guardia de {role}, próximos {span}"},
    "oncall.schedule_empty": {
        "en": "Nobody is on the {role} rota in that time.",
        "es": "Nadie está en la guardia de {role} en ese plazo.",
    },
    "oncall.schedule_more": {
        "en": {"one": "…and {count:n} more shift.", "other": "…and {count:n} more shifts."},
        "es": {"one": "…y {count:n} turno más.", "other": "…y {count:n} turnos más."},
    },
    "oncall.has_gaps": {"en": "(with uncovered hours)", "es": "(con horas sin cubrir)"},
    "oncall.set_until": {"en": "Until the next hand-off, {until}.", "es": "Hasta el próximo relevo, {until}."},
    "oncall.bad_when": {
        "en": "“{text}” is not a time: say 2h, 18:00 or 2026-12-24T18:00.",
        "es": "“{text}” no es una hora: indica 2h, 18:00 o 2026-12-24T18:00.",
    },
    "oncall.override_usage": {
        "en": "Say until when: `oncall override @user [from] <until|2h> [role]`.",
        "es": "Indica hasta cuándo: `oncall override @usuario [desde] <hasta|2h> [rol]`.",
    },
    "oncall.override_order": {
        "en": "The end must come after the start, and after now.",
        "es": "El fin debe ser posterior al inicio, y a ahora.",
    },
    "oncall.not_your_shift": {
        "en": "You are not on call for {role} then: only an admin can change someone else's shift.",
        "es": "No estás de guardia de {role} en ese momento: solo un admin puede cambiar el turno de otra persona.",
    },
    "oncall.override_notice": {
        "en": "{by} put you on call for {role}: {span}.",
        "es": "{by} te dejó de guardia para {role}: {span}.",
    },
    "oncall.override_done": {
        "en": "{user} is on call for {role}: {span}.",
        "es": "{user} queda de guardia para {role}: {span}.",
    },
    "oncall.bad_date": {
        "en": "“{text}” is not a date like 2026-12-24.",
        "es": "“{text}” no es una fecha como 2026-12-24.",
    },
    "oncall.swap_self": {"en": "A swap is with someone else.", "es": "Un cambio es con otra persona."},
    "oncall.no_shift_that_day": {
        "en": "You have no {role} shift on {day} (from now on).",
        "es": "No tienes turno de {role} el {day} (desde ahora).",
    },
    "oncall.swap_nothing_back": {
        "en": "nothing back (you have no shift in the next 8 weeks)",
        "es": "nada a cambio (no tienes turno en las próximas 8 semanas)",
    },
    "oncall.swap_ask": {
        "en": "{asker} asks to swap {role} shifts: you take theirs, {give}; they take yours, {take}.",
        "es": "{asker} pide cambiar turnos de {role}: tomas el suyo, {give}; toma el tuyo, {take}.",
    },
    "oncall.swap_asked": {
        "en": "Asked {user}: they take {give}, you take {take}. You will be told the answer.",
        "es": "Se le preguntó a {user}: toma {give}, tomas {take}. Se te dirá la respuesta.",
    },
    "oncall.button.accept": {"en": "Accept", "es": "Aceptar"},
    "oncall.button.decline": {"en": "Decline", "es": "Rechazar"},
    "oncall.nobody_to_ask": {
        "en": "Nobody else is on the {role} rota to ask.",
        "es": "No hay nadie más en la guardia de {role} a quien pedir.",
    },
    "oncall.cover_ask": {
        "en": "{asker} asks for cover on {role}: {span}. The first to accept takes it.",
        "es": "{asker} pide que le cubran la guardia de {role}: {span}. El primero que acepta la toma.",
    },
    "oncall.cover_asked": {
        "en": {
            "one": "Asked {count:n} person to cover {span}; you will be told who takes it.",
            "other": "Asked {count:n} people to cover {span}; you will be told who takes it.",
        },
        "es": {
            "one": "Se le pidió a {count:n} persona cubrir {span}; se te dirá quién la toma.",
            "other": "Se les pidió a {count:n} personas cubrir {span}; se te dirá quién la toma.",
        },
    },
    "oncall.no_request": {"en": "There is no on-call request {id}.", "es": "No hay petición de guardia {id}."},
    "oncall.already_taken": {
        "en": "Already taken by {user}: nothing changed.",
        "es": "Ya la tomó {user}: no cambia nada.",
    },
    "oncall.not_yours": {
        "en": "That request is not yours to answer, or is already answered.",
        "es": "Esa petición no te corresponde o ya tiene respuesta.",
    },
    "oncall.kind.swap": {"en": "swap", "es": "cambio"},
    "oncall.kind.cover": {"en": "cover", "es": "cobertura"},
    "oncall.told_accepted": {
        "en": "{user} accepted your {kind} request ({role}).",
        "es": "{user} aceptó tu petición de {kind} ({role}).",
    },
    "oncall.told_declined": {
        "en": "{user} declined your {kind} request ({role}).",
        "es": "{user} rechazó tu petición de {kind} ({role}).",
    },
    "oncall.answered_accept": {
        "en": "Done: you took it. {user} is told.",
        "es": "Hecho: la tomaste. Se le avisa a {user}.",
    },
    "oncall.answered_decline": {"en": "Declined. {user} is told.", "es": "Rechazada. Se le avisa a {user}."},
    "oncall.remind": {
        "en": "Reminder: your {role} on-call shift starts at {when}.",
        "es": "Recordatorio: tu turno de guardia de {role} empieza a las {when}.",
    },
    "oncall.gaps_warning": {
        "en": {
            "one": "⚠️ The {role} rota leaves {count:n} stretch uncovered in the next 7 days ({zone}): {spans}. Pages then go to the role's other contacts.",
            "other": "⚠️ The {role} rota leaves {count:n} stretches uncovered in the next 7 days ({zone}): {spans}. Pages then go to the role's other contacts.",
        },
        "es": {
            "one": "⚠️ La guardia de {role} deja {count:n} tramo sin cubrir en los próximos 7 días ({zone}): {spans}. Los avisos irán entonces a los demás contactos del rol.",
            "other": "⚠️ La guardia de {role} deja {count:n} tramos sin cubrir en los próximos 7 días ({zone}): {spans}. Los avisos irán entonces a los demás contactos del rol.",
        },
    },
    "oncall.handoff": {
        "en": "🔁 *{role}* hand-off: {user} is on call until {until}.",
        "es": "🔁 Relevo de *{role}*: {user} está de guardia hasta {until}.",
    },
    "oncall.handoff_open_ended": {"en": "further notice", "es": "nuevo aviso"},
    "oncall.handoff_from": {"en": "Taking over from {user}.", "es": "Recibe de {user}."},
    "oncall.handoff_open": {"en": "• Open incidents: {list}", "es": "• Incidentes abiertos: {list}"},
    "oncall.handoff_alerts": {"en": "• Alerts firing: {list}", "es": "• Alertas activas: {list}"},
    "oncall.handoff_none": {"en": "none", "es": "ninguno"},
    "oncall.handoff_last": {
        "en": "• Last shift: {incidents:one=# incident|other=# incidents} declared, {pages:one=# page|other=# pages} sent, {restarts:one=# restart|other=# restarts}.",
        "es": "• Turno anterior: {incidents:one=# incidente declarado|other=# incidentes declarados}, {pages:one=# aviso enviado|other=# avisos enviados}, {restarts:one=# reinicio|other=# reinicios}.",
    },
    "oncall.moved": {
        "en": "Your {role} on-call shift {span} is now covered by {user} (an override by {by}).",
        "es": "Tu turno de guardia de {role} {span} ahora lo cubre {user} (una sustitución de {by}).",
    },
    "home.title": {"en": "Your on-call and incidents", "es": "Tu guardia e incidentes"},
    "home.oncall": {"en": "*On call now*", "es": "*De guardia ahora*"},
    "home.oncall_line": {"en": "• {role}: {user}", "es": "• {role}: {user}"},
    "home.next": {"en": ", then {user} from {when}", "es": ", luego {user} desde {when}"},
    "home.no_rotas": {"en": "No rotas in ops.yml.", "es": "No hay guardias en ops.yml."},
    "home.your_shift": {"en": "*Your next shift* ({role}): {span}", "es": "*Tu próximo turno* ({role}): {span}"},
    "home.no_shift": {
        "en": "*Your next shift*: none in the next 60 days.",
        "es": "*Tu próximo turno*: ninguno en los próximos 60 días.",
    },
    "home.incidents": {"en": "*Open incidents*", "es": "*Incidentes abiertos*"},
    "home.alerts": {"en": "*Alerts firing*", "es": "*Alertas activas*"},
    "home.waiting": {"en": "*Waiting for you*", "es": "*Esperan tu respuesta*"},
    "home.request": {
        "en": "a {kind} request ({role}) from {asker}:",
        "es": "una petición de {kind} ({role}) de {asker}:",
    },
    "oncall.config_moved": {
        "en": "The {role} rota changed in ops.yml and moved your shifts. Your coming shifts ({zone}): {shifts}.",
        "es": "La guardia de {role} cambió en ops.yml y movió tus turnos. Tus próximos turnos ({zone}): {shifts}.",
    },
    "oncall.handoff_silences": {
        "en": "• Silences ending this shift: {list}",
        "es": "• Silencios que terminan en este turno: {list}",
    },
    "oncall.handoff_silences_unknown": {
        "en": "• Silences ending this shift: not known (Alertmanager: {error})",
        "es": "• Silencios que terminan en este turno: no se sabe (Alertmanager: {error})",
    },
    "oncall.check_gaps": {
        "en": "warning: oncall.{role}: nobody is on call in the next 7 days at {spans} (pages then go to the role's other contacts)",
        "es": "aviso: oncall.{role}: nadie está de guardia en los próximos 7 días en {spans} (los avisos irán entonces a los demás contactos del rol)",
    },
    # --- i24b: tenant list, check-config --live, the demo's joined terminals
    "tenant.list.title": {"en": "Tenants ({table})", "es": "Tenants ({table})"},
    "tenant.list.columns": {"en": "id|name|state", "es": "id|nombre|estado"},
    "tenant.list.summary": {
        "en": "{shown:n} of {total:one=# tenant|other=# tenants}",
        "es": "{shown:n} de {total:one=# tenant|other=# tenants}",
    },
    "tenant.list.more": {
        "en": "…and {count:n} more; narrow it with `{command}`.",
        "es": "…y {count:n} más; acota con `{command}`.",
    },
    "tenant.list.none_match": {
        "en": "No tenant's id or name in table {table} matches `{pattern}`.",
        "es": "Ningún id ni nombre de tenant de la tabla {table} coincide con `{pattern}`.",
    },
    "tenant.list.empty": {"en": "Table {table} has no tenants.", "es": "La tabla {table} no tiene tenants."},
    "config.ok": {
        "en": "{path}: ok ({services:one=# service|other=# services}, {contacts:one=# contact|other=# contacts}, "
        "{policies:one=# escalation policy|other=# escalation policies})",
        "es": "{path}: ok ({services:one=# servicio|other=# servicios}, {contacts:one=# contacto|other=# contactos}, "
        "{policies:one=# política de escalamiento|other=# políticas de escalamiento})",
    },
    "config.live.summary": {
        "en": {
            "one": "live check from this machine: {count:n} warning",
            "other": "live check from this machine: {count:n} warnings",
        },
        "es": {
            "one": "prueba en vivo desde esta máquina: {count:n} advertencia",
            "other": "prueba en vivo desde esta máquina: {count:n} advertencias",
        },
    },
    "config.live.warning": {"en": "warning", "es": "advertencia"},
    # --- branch i22a (issue 22: one step per target, bodies read whole, report counts all, smaller fixes)
    "report.audit_cut_of": {
        "en": "{count:n} of the incident's {total:n} audit rows are in this file: every step's, and the first and "
        "last of the rest. The figures count all of them.",
        "es": "{count:n} de las {total:n} filas de auditoría del incidente están en este archivo: las de cada paso, y "
        "las primeras y últimas del resto. Las cifras las cuentan todas.",
    },
    "confirm.already_ran": {
        "en": "This step already ran: `{command}`, run by {user} at {when}, outcome *{outcome}* (the audit log "
        "says so). It will not run again from this button; `{prefix} audit` has the details.",
        "es": "Este paso ya se ejecutó: `{command}`, ejecutado por {user} el {when}, resultado *{outcome}* (lo dice "
        "el registro de auditoría). No se ejecutará otra vez desde este botón; `{prefix} audit` tiene el detalle.",
    },
    "confirm.gone_unknown": {
        "en": "This confirmation's record is gone and the audit log cannot be read now ({detail}), so the bot "
        "cannot tell whether it ran. Check `{prefix} audit` before sending the command again.",
        "es": "El registro de esta confirmación ya no está y la auditoría no se puede leer ahora ({detail}), así que "
        "el bot no sabe si se ejecutó. Revisa `{prefix} audit` antes de enviar el comando otra vez.",
    },
    "targets.name.service": {"en": "service {name}", "es": "el servicio {name}"},
    "targets.name.database": {"en": "the stack's database", "es": "la base de datos del stack"},
    "targets.name.cache": {"en": "the cache", "es": "la caché"},
    "targets.name.tenant-cache": {"en": "tenant {name}'s cache", "es": "la caché del tenant {name}"},
    "targets.name.code": {"en": "the deployed code", "es": "el código desplegado"},
    "targets.name.tenant": {"en": "tenant {name}", "es": "el tenant {name}"},
    "targets.name.queue": {"en": "queue {name}", "es": "la cola {name}"},
    "targets.busy_refused": {
        "en": "🚫 `{command}` by {user} is running on {target} (since {since}), so `{this}` was refused and did not "
        "run. The same Confirm works again once it has ended.",
        "es": "🚫 `{command}` de {user} se está ejecutando sobre {target} (desde las {since}), así que `{this}` se "
        "rechazó y no se ejecutó. El mismo Confirmar sirve otra vez cuando haya terminado.",
    },
    "targets.preview_refuse": {
        "en": "⚠️ `{command}` by {user} holds {target} (since {since}). Confirmed while it runs, this step is "
        "refused; it never runs on top of it.",
        "es": "⚠️ `{command}` de {user} ocupa {target} (desde las {since}). Si se confirma mientras se ejecuta, este "
        "paso se rechaza; nunca se ejecuta encima.",
    },
    "targets.preview_wait": {
        "en": "⚠️ `{command}` by {user} holds {target} (since {since}). Confirmed while it runs, this step waits "
        "for it to end, then runs.",
        "es": "⚠️ `{command}` de {user} ocupa {target} (desde las {since}). Si se confirma mientras se ejecuta, este "
        "paso espera a que termine y luego se ejecuta.",
    },
    "targets.waiting": {
        "en": "⏳ waiting for `{command}` by {user} ({target}, since {since}) to end; this step starts then.",
        "es": "⏳ esperando a que termine `{command}` de {user} ({target}, desde las {since}); este paso empieza después.",
    },
    "targets.still_busy": {
        "en": "Waited {minutes} min for `{command}` by {user} ({target}, since {since}); it still holds it, so this "
        "step did not run. Send the command again later.",
        "es": "Se esperó {minutes} min a `{command}` de {user} ({target}, desde las {since}); aún lo ocupa, así que "
        "este paso no se ejecutó. Envía el comando otra vez más tarde.",
    },
    # ---- branch i21: delivery unconfirmed (bot/incidents/escalation.py); a retry whose jobs cannot be read ----
    "verify.queue.unread": {"en": "retried jobs read from the board", "es": "jobs reintentados leídos del board"},
    "verify.queue.unread_detail": {
        "en": "could not read the queue's jobs, so the retry is not verified: {detail}",
        "es": "no se pudieron leer los jobs de la cola, así que el reintento no está verificado: {detail}",
    },
    "report.page.unconfirmed": {"en": "delivery unconfirmed: {error}", "es": "entrega sin confirmar: {error}"},
    "report.line.page_unconfirmed": {
        "en": "page to {who}: delivery unconfirmed ({error})",
        "es": "aviso a {who}: entrega sin confirmar ({error})",
    },
    "escalation.page_unconfirmed": {
        "en": "❔ {ref}: delivery unconfirmed: the page to {user} may have arrived, but Slack never confirmed it"
        " and reading the DM back failed (`{error}`). It was not sent again; check with {user} directly.",
        "es": "❔ {ref}: entrega sin confirmar: puede que el aviso a {user} haya llegado, pero Slack nunca lo"
        " confirmó y no se pudo leer el DM (`{error}`). No se volvió a enviar; confírmalo con {user} directamente.",
    },
    "escalation.announce_unconfirmed": {
        "en": "❔ {ref}: delivery unconfirmed: the incident may have been posted in {channel}, but Slack never"
        " confirmed it and reading the channel back failed (`{error}`). It was not posted again; look in {channel}.",
        "es": "❔ {ref}: entrega sin confirmar: puede que el incidente se haya publicado en {channel}, pero Slack"
        " nunca lo confirmó y no se pudo leer el canal (`{error}`). No se volvió a publicar; mira en {channel}.",
    },
    # --- Swarm stacks and /ops scale (branch i26)
    "swarm.compose_refused": {
        "en": "`scale` needs a Swarm stack: this one runs on Docker Compose (`stack.docker.mode: compose`), "
        "where a service is one container. Nothing was changed.",
        "es": "`scale` requiere un stack de Swarm: este corre con Docker Compose (`stack.docker.mode: compose`), "
        "donde un servicio es un contenedor. No se cambió nada.",
    },
    "swarm.per_service": {
        "en": "a Swarm task is not restarted by itself: the bot updates its service",
        "es": "una tarea de Swarm no se reinicia sola: el bot actualiza su servicio",
    },
    "swarm.no_service": {
        "en": "no service {service} in Swarm stack {project}",
        "es": "no hay servicio {service} en el stack de Swarm {project}",
    },
    "swarm.no_task": {
        "en": "service {service} has no running task",
        "es": "el servicio {service} no tiene tareas en ejecución",
    },
    "swarm.task_elsewhere": {
        "en": "no running task of {service} is on the node of this bot's engine (they run on {node})",
        "es": "ninguna tarea en ejecución de {service} está en el nodo del motor de este bot (corren en {node})",
    },
    "swarm.global": {
        "en": "{service} is a global service (one task per node): it has no replicas to set",
        "es": "{service} es un servicio global (una tarea por nodo): no tiene réplicas que fijar",
    },
    "swarm.ps.columns": {
        "en": "SERVICE|TASK|NODE|STATE|STATUS|IMAGE",
        "es": "SERVICIO|TAREA|NODO|ESTADO|STATUS|IMAGEN",
    },
    "swarm.field.task": {"en": "Task", "es": "Tarea"},
    "swarm.field.node": {"en": "Node", "es": "Nodo"},
    "swarm.after": {"en": "{name} on {node}: {state}", "es": "{name} en {node}: {state}"},
    "swarm.restart.preview": {
        "en": "Will restart {service} rolling (`service update --force`): its {replicas:one=# replica|other=# replicas} are replaced "
        "as its update_config says. Tasks now:",
        "es": "Se reiniciará {service} de forma escalonada (`service update --force`): sus {replicas:one=# réplica|other=# réplicas} "
        "se reemplazan según su update_config. Tareas ahora:",
    },
    "swarm.stop.preview": {
        "en": "Will scale {service} from {replicas:one=# replica|other=# replicas} to 0 (the bot remembers {replicas:n} for `start`). "
        "Tasks now:",
        "es": "Se escalará {service} de {replicas:one=# réplica|other=# réplicas} a 0 (el bot recuerda {replicas:n} para `start`). "
        "Tareas ahora:",
    },
    "swarm.start.preview": {
        "en": "Will scale {service} back from {replicas:one=# replica|other=# replicas}. Tasks now:",
        "es": "Se escalará {service} de vuelta desde {replicas:one=# réplica|other=# réplicas}. Tareas ahora:",
    },
    "swarm.restart.done": {
        "en": "Rolling restart of {service} asked ({replicas:one=# replica|other=# replicas}).",
        "es": "Reinicio escalonado de {service} pedido ({replicas:one=# réplica|other=# réplicas}).",
    },
    "swarm.restart.stopped": {
        "en": "{service} has 0 replicas: nothing to restart (`start` scales it back).",
        "es": "{service} tiene 0 réplicas: nada que reiniciar (`start` lo vuelve a escalar).",
    },
    "swarm.stop.stopped": {
        "en": "{service} already has 0 replicas: nothing to stop.",
        "es": "{service} ya tiene 0 réplicas: nada que detener.",
    },
    "swarm.stop.done": {
        "en": "{service} scaled from {replicas:one=# replica|other=# replicas} to 0.",
        "es": "{service} escalado de {replicas:one=# réplica|other=# réplicas} a 0.",
    },
    "swarm.start.done": {
        "en": "{service} scaled to {replicas:one=# replica|other=# replicas}.",
        "es": "{service} escalado a {replicas:one=# réplica|other=# réplicas}.",
    },
    "swarm.start.already": {
        "en": "{service} already has {replicas:one=# replica|other=# replicas}: nothing started.",
        "es": "{service} ya tiene {replicas:one=# réplica|other=# réplicas}: no se inició nada.",
    },
    "swarm.up.already": {
        "en": "{service}: {replicas:one=# replica|other=# replicas}, left as they are",
        "es": "{service}: {replicas:one=# réplica|other=# réplicas}, sin cambios",
    },
    "swarm.scale.title": {"en": "Scale {service}", "es": "Escalar {service}"},
    "swarm.scale.preview": {
        "en": "Will scale {service} from {before:n} to {after:one=# replica|other=# replicas}.",
        "es": "Se escalará {service} de {before:n} a {after:one=# réplica|other=# réplicas}.",
    },
    "swarm.scale.same": {
        "en": "{service} already has {before:one=# replica|other=# replicas}: scaling to {after:n} changes nothing.",
        "es": "{service} ya tiene {before:one=# réplica|other=# réplicas}: escalar a {after:n} no cambia nada.",
    },
    "swarm.scale.done": {
        "en": "{service} scaled from {before:n} to {after:one=# replica|other=# replicas}.",
        "es": "{service} escalado de {before:n} a {after:one=# réplica|other=# réplicas}.",
    },
    "swarm.verify.name": {"en": "Tasks of {service}", "es": "Tareas de {service}"},
    "swarm.verify.rolled": {
        "en": "{fresh:n}/{replicas:one=# task|other=# tasks} run the new spec and are healthy; update completed ({seconds} s)",
        "es": "{fresh:n}/{replicas:one=# tarea|other=# tareas} corren la nueva especificación y están sanas; actualización "
        "completada ({seconds} s)",
    },
    "swarm.verify.scaled": {
        "en": "{running:n} running, as wanted ({replicas:n}) ({seconds} s)",
        "es": "{running:n} en ejecución, las pedidas ({replicas:n}) ({seconds} s)",
    },
    "swarm.verify.update_failed": {
        "en": "Swarm stopped the update ({state}): {message}; {fresh:n}/{replicas:one=# task|other=# tasks} run the new spec "
        "({seconds} s)",
        "es": "Swarm detuvo la actualización ({state}): {message}; {fresh:n}/{replicas:one=# tarea|other=# tareas} corren la "
        "nueva especificación ({seconds} s)",
    },
    "swarm.verify.not_yet": {
        "en": "after {bound} s: {fresh:n}/{replicas:one=# task|other=# tasks} of the wanted spec ready, {running:n} running",
        "es": "tras {bound} s: {fresh:n}/{replicas:one=# tarea|other=# tareas} de la especificación pedida listas, "
        "{running:n} en ejecución",
    },
    # --- i24a: newcomer fixes (issue 24: verdicts after the action, decisions told, tails, small things)
    "verify.diagnose.unseen": {
        "en": "Not seen again yet (nothing written since the step started): {names}. Look again with `{command}` in a few minutes.",
        "es": "Aún no se vuelve a ver (nada escrito desde que empezó el paso): {names}. Vuelve a mirar con `{command}` en unos minutos.",
    },
    "logs.follow.container_stopped": {
        "en": "{service}: container {name} stopped; the tail waits for it to start again",
        "es": "{service}: el contenedor {name} se detuvo; los logs esperan a que vuelva a arrancar",
    },
    "logs.follow.container_restarted": {
        "en": "{service} restarted: container {name} started again at {at}; following it",
        "es": "{service} se reinició: el contenedor {name} volvió a arrancar a las {at}; se sigue",
    },
    "logs.follow.container_replaced": {
        "en": "{service} was replaced: new container {name} started at {at}; following it",
        "es": "{service} fue reemplazado: el contenedor nuevo {name} arrancó a las {at}; se sigue",
    },
    "logs.follow.why.down": {
        "en": "its time was up; the container had stopped at {at} and had not started again",
        "es": "se cumplió su tiempo; el contenedor se detuvo a las {at} y no volvió a arrancar",
    },
    "confirm.told.approved": {
        "en": "✅ {by} approved `{command}`, which you asked for: it runs now.",
        "es": "✅ {by} aprobó `{command}`, que pediste: se ejecuta ahora.",
    },
    "confirm.told.rejected": {
        "en": "⛔ {by} turned down `{command}`, which you asked for: nothing was run.",
        "es": "⛔ {by} rechazó `{command}`, que pediste: no se ejecutó nada.",
    },
    "help.answers": {
        "en": "Answers to a button (they may also be typed, with the id the button's message shows):",
        "es": "Respuestas a un botón (también se pueden escribir, con el id que muestra el mensaje del botón):",
    },
    "incident.severity_first": {
        "en": "The severity goes first, before the title: `{example}`.",
        "es": "La severidad va primero, antes del título: `{example}`.",
    },
    "oncall.already": {
        "en": "{user} is already on call as {role}: nothing changed, nothing announced.",
        "es": "{user} ya está de guardia como {role}: no cambió nada, no se anunció nada.",
    },
    "db.migrate.status": {
        "en": "What is pending, as {label} says it now:",
        "es": "Lo pendiente, según dice ahora {label}:",
    },
    "db.migrate.status_quiet": {
        "en": "{label} printed nothing.",
        "es": "{label} no imprimió nada.",
    },
    "db.migrate.status_unknown": {
        "en": "The status step did not end cleanly ({detail}): what is pending may be unknown; the migration itself can still be run.",
        "es": "El paso de estado no terminó limpio ({detail}): lo pendiente puede ser desconocido; la migración en sí se puede ejecutar igual.",
    },
    # --- end i24a
    # ---- i23: deployed for real (image, compose, swarm) ----
    "docker.permission_denied": {
        "en": "{what}: permission denied on the Docker socket ({url}) for the bot's user (uid {uid}). Give it the socket's group: `group_add` / `docker run --group-add $(stat -c %g /var/run/docker.sock)`, or DOCKER_GID with deploy/compose.yml",
        "es": "{what}: permiso denegado en el socket de Docker ({url}) para el usuario del bot (uid {uid}). Dale el grupo del socket: `group_add` / `docker run --group-add $(stat -c %g /var/run/docker.sock)`, o DOCKER_GID con deploy/compose.yml",
    },
    # ---- i25b: App Home buttons, pending steps in the hand-off ----
    "home.pending_mine": {
        "en": "`{command}`: asked by you, not confirmed yet.",
        "es": "`{command}`: pedido por ti, aún sin confirmar.",
    },
    "home.pending_unknown": {
        "en": "Steps waiting for a yes: not known (Redis does not answer); `{command}` lists them.",
        "es": "Pasos esperando un sí: no se sabe (Redis no responde); `{command}` los lista.",
    },
    "home.waiting_more": {
        "en": "…and {count} more: `{command}` lists them all.",
        "es": "…y {count} más: `{command}` los lista todos.",
    },
    "oncall.handoff_pending": {
        "en": "• Steps waiting for a yes: {list}",
        "es": "• Pasos esperando un sí: {list}",
    },
    "oncall.handoff_pending_item": {
        "en": "`{command}` ({state}, asked by {user})",
        "es": "`{command}` ({state}, pedido por {user})",
    },
    "oncall.handoff_pending_more": {"en": "and {count} more", "es": "y {count} más"},
    "oncall.handoff_pending_state.pending": {"en": "to confirm", "es": "por confirmar"},
    "oncall.handoff_pending_state.awaiting_approval": {
        "en": "awaiting a second admin",
        "es": "esperando a un segundo admin",
    },
    "oncall.handoff_pending_unknown": {
        "en": "• Steps waiting for a yes: not known (Redis does not answer); `{command}` lists them",
        "es": "• Pasos esperando un sí: no se sabe (Redis no responde); `{command}` los lista",
    },
}

# The one-line help of each operation in Spanish (English is the operation's docstring).
OPERATION_HELP_ES: dict[str, str] = {
    "alerts": "Lo que está activo ahora, de los webhooks de Alertmanager y Grafana, cada una con su mensaje.",
    "silence": "Silencia una alerta por nombre en Alertmanager (2h por defecto), con tu nombre y comentario.",
    "alerts ack": "Indica que atiendes una alerta: su mensaje muestra quién.",
    "alerts declare": "Declara un incidente por una alerta, enlazados en ambos sentidos (sin copiar y pegar).",
    "alerts silence": "Silencia un grupo de alertas en Alertmanager por un tiempo (matchers de sus etiquetas).",
    "silence expire": "Expira ahora un silencio de Alertmanager.",
    "pending": "Las confirmaciones y aprobaciones en espera: las tuyas, y las que esperan tu aprobación como segundo admin.",
    "silences": "Los silencios activos de Alertmanager, cada uno con un botón para expirarlo.",
    "audit": "Quién ejecutó qué, cuándo y con qué resultado.",
    "cache flush-all": "Vacía la base de caché del stack, la que indica stack.redis.url (FLUSHDB ASYNC); las otras bases quedan.",
    "cache flush-tenant": "Borra todas las claves de caché de un tenant (SCAN + UNLINK por lotes; los demás intactos).",
    "cache ping": "PING al Redis del stack, con el tiempo de ida y vuelta.",
    "cache stats": "El Redis del stack de un vistazo: versión, uptime, clientes, memoria, claves, hit rate, evicciones.",
    "contacts": "La tabla de contactos del runbook, y quién está disponible ahora.",
    "db backup": "Respalda ahora la base del stack (make db-backup): pg_dump | gzip en backups.dir.",
    "db backups": "Los respaldos que acepta `/ops db restore`: nombre, tamaño, antigüedad.",
    "db connections": "Conexiones a la base del stack (pg_stat_activity): pid, usuario, estado, edad, consulta.",
    "db migrate": "Aplica las migraciones pendientes del stack (make migrate: stack.steps.migrate).",
    "db migrate-rollback": "Marca una migración fallida como revertida (prisma migrate resolve --rolled-back).",
    "db restore": "Restaura la base del stack desde un respaldo: verificar, detener api, restaurar, iniciar api, health check.",
    "db slow": "Las consultas más lentas por tiempo medio (pg_stat_statements), o cómo activarlo.",
    "deploy history": "Los últimos commits del checkout desplegado (git log --oneline -10).",
    "deploy rollback": "Revierte un deploy: git revert <commit>, build, deploy, health check (se detiene en la primera falla).",
    "diagnose": "Corre una sección de troubleshooting del runbook de una vez: cada hallazgo con veredicto y sus remedios.",
    "health": "Los endpoints de salud de la API, todos a la vez, cada uno con su latencia.",
    "help": "Lista los comandos que puedes ejecutar, o explica uno.",
    "incident ack": "Reconoce un incidente: detiene el escalamiento que espera un reconocimiento.",
    "incident declare": "Declara un incidente: un registro numerado, un hilo en el canal de incidentes, escalamiento por política.",
    "incident note": "Añade una línea a la línea de tiempo de un incidente (en su hilo y en su informe).",
    "incident report": "La línea de tiempo del incidente (avisos, reconocimientos, notas, cada comando) y un borrador de postmortem como archivo.",
    "incident list": "Primero los incidentes abiertos, luego los últimos resueltos.",
    "incident resolve": "Resuelve un incidente con un resumen: duración, quién lo reconoció, avisos enviados.",
    "logs": "Las líneas de log de un servicio; --grep busca en todo el log (o --since) y deja las últimas N coincidencias.",
    "logs --follow": "Log en vivo de un servicio en un hilo, por lotes, acotado en el tiempo, con botón Detener.",
    "metrics": "Métricas de la API: latencia p50/p95/p99 por ruta, tasa de requests, porcentaje de 5xx, hit rate de caché.",
    "oncall": "Quién está de guardia ahora y quién sigue, en cada guardia (o en un rol).",
    "oncall set": "Traspasa el turno actual ahora (una sustitución hasta el próximo relevo).",
    "oncall schedule": "Los próximos turnos de una guardia, con sustituciones, en tu zona horaria.",
    "oncall override": "Alguien cubre parte de un turno (desde ahora salvo que des `desde`); el tuyo, o cualquiera si eres admin.",
    "oncall swap": "Pide a @usuario cambiar turnos: tu turno de `fecha` por su siguiente; recibe Aceptar / Rechazar.",
    "oncall cover": "Pide al resto de la guardia que cubra tu turno (desde ahora); el primero que acepta lo toma.",
    "oncall answer": "Responde una petición de cambio o de cobertura (la ejecutan sus botones).",
    "ps": "Los contenedores del stack: estado, uptime, imagen.",
    "queue": "Conteos de jobs de las colas, o los jobs fallidos de una cola y sus motivos.",
    "queue retry": "Reintenta los jobs fallidos de una cola (todos, o uno por id) vía Bull Board.",
    "restart": "Reinicia el contenedor de un servicio (docker-compose restart).",
    "start": "Inicia el contenedor detenido de un servicio (docker-compose start).",
    "status": "Todos los servicios del stack en un mensaje: endpoints de salud, contenedores, base de datos, caché.",
    "stop": "Detiene el contenedor de un servicio (docker-compose stop).",
    "tenant disable": "Desactiva un tenant en la base y limpia su caché (se informan ambos).",
    "tenant enable": "Reactiva un tenant en la base (su caché se vuelve a llenar sola).",
    "tenant list": "La tabla de tenants (id, nombre, activo), ordenada por id; un patrón (texto o glob) la acota.",
    "tenant show": "La fila de un tenant en la base del stack y cuántas claves de caché tiene.",
    "up": "Inicia cada servicio del stack cuyo contenedor no está corriendo (make up).",
    "scale": "Fija las réplicas de un servicio de Swarm (docker service scale); en un stack de Compose se rechaza.",  # i26
    # --- i24a: the answers to a button, listed under their own heading (issue 24)
    "confirm": "Confirma un paso destructivo que pediste.",
    "approve": "Aprueba un paso crítico que confirmó otra persona (admins).",
    "cancel": "Cancela un paso pendiente (quien lo pidió) o rechaza uno crítico (otro admin).",
    "logs stop": "Detiene unos logs en vivo (el botón Detener de su hilo); el clic llega a cualquier réplica.",
}

LOCALES = ("en", "es")


@dataclass(frozen=True)
class Msg:
    """A sentence to say later, in the reader's language: a catalog key and its fields.

    Code without a catalog at hand (a target client raising an error) puts a Msg in an
    error's fields; the catalog renders it when the message is shown. `str()` gives English.
    """

    key: str
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, key: str, /, **fields: Any) -> Msg:
        return cls(key, fields)

    def __str__(self) -> str:
        return Catalog("en")(self.key, **self.fields)


class _Formatter(string.Formatter):
    """`str.format` plus the catalog's specs: `{x:n}` a localized number, timedeltas localized."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, timedelta) and not format_spec:
            return lc.format_duration(value, self.locale)
        if "=" in format_spec:  # inline plural: `one=# línea|other=# líneas`
            variants = dict(part.partition("=")[::2] for part in format_spec.split("|"))
            return pick_plural(variants, value, self.locale).replace("#", lc.format_number(value, self.locale))
        if format_spec.endswith("n") and format_spec[:-1] in ("", ".0", ".1", ".2", ".3"):
            decimals = int(format_spec[-2]) if format_spec[:-1] else None
            return lc.format_number(value, self.locale, decimals)
        try:
            return str(super().format_field(value, format_spec))
        except (ValueError, TypeError):  # a spec that does not fit the value: the value as it is
            return str(value)


def pick_plural(variants: dict[str, str], count: Any, locale: str) -> str:
    """The variant for `count`'s CLDR category, else `other`, else any."""
    category = lc.plural_category(count, locale)
    return variants.get(category) or variants.get("other") or next(iter(variants.values()), "")


def plural_count(variants: dict[str, str], fields: dict[str, Any]) -> Any:
    """What picks a plural entry's variant: `count`, else the first number field of `other`."""
    if "count" in fields:
        return fields["count"]
    for _, name, _, _ in string.Formatter().parse(variants.get("other", "")):
        if name and lc.is_number(fields.get(name)):
            return fields[name]
    return None


class Catalog:
    """Looks up sentences for one locale and fills their `{fields}`."""

    def __init__(self, locale: str = "en") -> None:
        self.locale = locale if locale in LOCALES else "en"
        self._formatter = _Formatter(self.locale)

    def __call__(self, key: str, /, **fields: Any) -> str:
        entry = CATALOG.get(key)
        if entry is None:
            return key
        fields = {name: self.text(value) if isinstance(value, Msg) else value for name, value in fields.items()}
        value = entry.get(self.locale) or entry["en"]
        template = pick_plural(value, plural_count(value, fields), self.locale) if isinstance(value, dict) else value
        try:
            return self._formatter.vformat(template, (), fields)
        except (KeyError, IndexError, ValueError, AttributeError):
            return template

    def code(self, family: str, code: str) -> str:
        """A stored code (an audit decision, an incident's state) in the reader's words: the entry
        `family.code`, or the code itself when there is none (a row written by another version)."""
        key = f"{family}.{code}"
        return self(key) if key in CATALOG else code

    def number(self, value: Any, decimals: int | None = None) -> str:
        """`20,000` / `20.000` (Babel's `format_decimal` for this locale)."""
        return lc.format_number(value, self.locale, decimals)

    def duration(self, delta: timedelta) -> str:
        """`1h 5m` / `1h 5min`: at most two units."""
        return lc.format_duration(delta, self.locale)

    def words(self, items: list[str], style: str = "standard") -> str:
        """`a, b, and c` / `a, b y c` (Babel's list patterns; `or` style for alternatives)."""
        return lc.format_words(items, self.locale, style)

    def ago(self, delta: timedelta) -> str:
        """`5 min. ago` / `hace 5 min`."""
        return lc.format_ago(delta, self.locale)

    def text(self, value: Msg | str) -> str:
        """A Msg in this language, or a plain string as it is."""
        return self(value.key, **value.fields) if isinstance(value, Msg) else str(value)
