"""Word pools and small text builders for generated data, deliberately multilingual.

Summaries, descriptions, comments and names mix plain English with accents,
CJK, emoji and right-to-left scripts, since a mirror must store all of them
intact. Everything is drawn from a caller-supplied ``random.Random``.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

ID_ALPHABET = string.ascii_letters + string.digits + "_-"

VERBS = (
    "Fix",
    "Add",
    "Remove",
    "Refactor",
    "Document",
    "Investigate",
    "Speed up",
    "Migrate",
    "Translate",
    "Review",
    "Réparer",
    "Vérifier",
    "修复",
    "调查",
    "إصلاح",
    "Überarbeiten",
)
THINGS = (
    "login page",
    "export to CSV",
    "billing report",
    "search index",
    "API rate limiter",
    "password reset",
    "dashboard widgets",
    "mobile layout",
    "PDF invoices",
    "webhook retries",
    "café menu",
    "naïve date parsing",
    "Ünïcödé filenames",
    "検索フォーム",
    "用户设置",
    "صفحة الدخول",
    "תפריט ראשי",
    "upload 📎 dialog",
    "emoji 🎉 reactions",
    "résumé import",
)
QUALIFIERS = (
    "on Safari",
    "for admins",
    "after upgrade",
    "in production",
    "when offline",
    "with large files",
    "für Gäste",
    "en français",
    "对于新用户",
    "بعد التحديث",
    "🚀",
    "",
)
SENTENCES = (
    "Steps to reproduce are in the attached log.",
    "Customer reported this twice this week.",
    "Le problème apparaît seulement avec Firefox.",
    "Das passiert nur nach dem zweiten Klick.",
    "再現手順は添付ファイルを参照してください。",
    "这个问题在旧版本中不存在。",
    "المشكلة تظهر فقط على الهاتف.",
    "הבעיה מופיעה רק בדפדפן ישן.",
    "Works for me 🤷 but QA sees it every time.",
    "See also the discussion in the standup — ça traîne.",
    "Needs a decision from product before we start.",
    "Estimated after pairing; might be less.",
)
COMMENTS = (
    "Working on it.",
    "Can you attach a screenshot?",
    "Fixed in the latest build 👍",
    "Ich schaue mir das morgen an.",
    "Je m'en occupe.",
    "已经在测试环境验证。",
    "تم الإصلاح في الإصدار الجديد.",
    "לא מצליח לשחזר.",
    "Reopening: still broken on staging 😬",
    "Merged, waiting for deploy.",
)
FIRST_NAMES = (
    "Ana",
    "Björn",
    "Chloé",
    "Dmitri",
    "Eitan",
    "Fatima",
    "Giulia",
    "Hiro",
    "Ingrid",
    "José",
    "Kemal",
    "Léa",
    "Mei",
    "Nadia",
    "Oğuz",
    "Priya",
    "Quentin",
    "Rūta",
    "Søren",
    "Tomás",
    "Uma",
    "Věra",
    "Wen",
    "Yusuf",
    "Zoë",
    "明",
    "سارة",
    "נועה",
)
LAST_NAMES = (
    "Alves",
    "Brandt",
    "Çelik",
    "Dubois",
    "Eriksson",
    "Fernández",
    "García",
    "Hoffmann",
    "Ivanova",
    "Jovanović",
    "Kowalski",
    "López",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Petrović",
    "Rossi",
    "Schäfer",
    "Tanaka",
    "Ueda",
    "Weiß",
    "Yılmaz",
    "Zhang",
    "王",
    "حداد",
    "כהן",
)
SPACE_NAMES = (
    # The original `assembla` wrapper's README examples use "Big Project".
    "Big Project",
    "Mobile Apps",
    "Data Pipeline",
    "Support Desk",
    "Infra & Ops",
    "Équipe Produit",
    "研发中心",
    "Marketing Site",
    "Billing",
    "Design System",
    "QA Lab",
    "Partner API",
    "Analytics",
    "Growth 🚀",
    "Docs",
    "Security",
    "Search",
    "Onboarding",
    "Payments",
    "Internal Tools",
    "فريق الدعم",
    "Research",
)
TASK_WORDS = (
    "Code review",
    "Pairing",
    "Bug triage",
    "Sprint planning",
    "Deploy",
    "Customer call",
    "Écriture de tests",
    "Dokumentation",
    "设计评审",
    "Investigation",
    "Hotfix 🔥",
    "Release notes",
)
LIST_OPTIONS = (
    ("Low", "Medium", "High"),
    ("Web", "iOS", "Android", "Desktop"),
    ("Bronze", "Argent", "Or"),
    ("小", "中", "大"),
)


def pick(rng: random.Random, items: Sequence[T]) -> T:
    """A uniformly chosen item (faster than ``rng.choice`` for bulk generation)."""
    return items[int(rng.random() * len(items))]


def string_id(rng: random.Random) -> str:
    """A 22-character Assembla-style id from ``[A-Za-z0-9_-]``."""
    return "".join(rng.choices(ID_ALPHABET, k=22))


def summary(rng: random.Random) -> str:
    """A one-line ticket summary."""
    qualifier = pick(rng, QUALIFIERS)
    text = f"{pick(rng, VERBS)} {pick(rng, THINGS)}"
    return f"{text} {qualifier}" if qualifier else text


def paragraph(rng: random.Random, sentences: int = 3) -> str:
    """A few consecutive sentences of the pool, joined by spaces or sometimes newlines."""
    first = int(rng.random() * len(SENTENCES))
    parts = [SENTENCES[(first + i) % len(SENTENCES)] for i in range(sentences)]
    return ("\n" if rng.random() < 0.3 else " ").join(parts)


def person(rng: random.Random) -> str:
    """A full name."""
    return f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}"


def slug(text: str) -> str:
    """A wiki_name-like slug of ``text`` (ASCII letters and digits joined by dashes)."""
    words = "".join(c.lower() if c.isascii() and c.isalnum() else " " for c in text).split()
    return "-".join(words) or "space"
