"""Spanish verbs people type for a command (`/ops reinicia api`), for the "did you mean" answer.

Commands are English words (the spec's); a Spanish speaker at 3 AM types the verb in Spanish.
The unknown-command answer then suggests the command with the rest of what was typed
(`/ops restart api`), instead of the nearest spelling, which for a word of another language
is noise (`reinicia` is "close" to `incident ack`). Suggestions only: nothing runs from here.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"^[\w.:/-]{1,40}$")

VERBS_ES: dict[str, str] = {
    "reinicia": "restart",
    "reiniciar": "restart",
    "reinicie": "restart",
    "detén": "stop",
    "deten": "stop",
    "detener": "stop",
    "para": "stop",
    "parar": "stop",
    "inicia": "start",
    "iniciar": "start",
    "arranca": "start",
    "arrancar": "start",
    "levanta": "up",
    "levantar": "up",
    "estado": "status",
    "salud": "health",
    "ayuda": "help",
    "registros": "logs",
    "diagnostica": "diagnose",
    "diagnosticar": "diagnose",
    "diagnóstico": "diagnose",
    "contactos": "contacts",
    "guardia": "oncall",
    "pendientes": "pending",
    "alertas": "alerts",
    "silencia": "silence",
    "silenciar": "silence",
    "silencios": "silences",
    "cola": "queue",
    "colas": "queue",
    "auditoría": "audit",
    "auditoria": "audit",
    "incidente": "incident",
    "métricas": "metrics",
    "metricas": "metrics",
    "contenedores": "ps",
}


def english_command(words: list[str]) -> str | None:
    """`reinicia api` → `restart api`; None when the first word is no Spanish verb we know. Only
    plain words are carried over (never a mention or markup someone typed)."""
    if not words:
        return None
    found = VERBS_ES.get(words[0].lower())
    if found is None:
        return None
    rest = [word for word in words[1:4] if _PLAIN.match(word)]
    return " ".join([found, *rest])
