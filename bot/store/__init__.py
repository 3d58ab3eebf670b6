"""The bot's memory in SQLite — chats and their settings, conversations, messages, usage.

Owns every SQL statement of the project and the migrations runner; the schema itself lives only in
`migrations/NNNN_name.sql` at the repository's root. It knows nothing of Telegram or of the
upstream API: callers hand in plain ids and text. Nothing here takes the bot token, and no table
has a place for it. Times are unix seconds (REAL, UTC) everywhere.

Callers import from here; the parts, one job each:
  records.py        the values handed in and out, and StoreError
  connection.py     the writer and the read-only reader: private file, pragmas, lock, transactions
  writer_lock.py    the writer's lock: the oldest work first when several wait
  migrations.py     the migrations runner
  chats.py          the chats table: per-chat settings
  conversations.py  conversations and messages: storing turns, the history window, dedup
  languages.py      the language a chat chose (/language)
  history.py        a chat's conversations: listing, resuming, answering again, exporting
  inbox.py          messages received whose turn has not started
  usage.py          messages and tokens per user (the /stats aggregates on the reader)
  retention.py      deleting idle conversations' history in batches, giving the space back
  forget.py         deleting everything of one chat (/forget), leaving no text in the file
  chat_migration.py a group becoming a supergroup
  chat_store.py     ChatStore, composed of the parts above, and opening it
"""

# The underscored names are statements whose query plans the tests check.
from bot.store.chat_store import ChatStore
from bot.store.connection import BUSY_TIMEOUT_MS, Checkpointer
from bot.store.conversations import _RECENT_TURNS_PAGE as _RECENT_TURNS_PAGE
from bot.store.history import FIRST_QUESTION_CHARS
from bot.store.migrations import (
    DEFAULT_MIGRATIONS_DIR,
    Migration,
    MigrationError,
    load_migrations,
    split_statements,
)
from bot.store.records import (
    STORE_ERRORS,
    ChatForgotten,
    ChatKey,
    ChatPreferences,
    ConversationPage,
    ConversationSummary,
    Export,
    Forgotten,
    InboxKind,
    LatestQuestion,
    NotAgain,
    Received,
    ReplyStatus,
    Role,
    StoredConversation,
    StoredMessage,
    StoreError,
    StorePragmas,
    Turn,
    UsageTotals,
)
from bot.store.retention import DELETE_BATCH
from bot.store.usage import _TOP_USERS as _TOP_USERS
from bot.store.usage import _TOP_USERS_ORDER as _TOP_USERS_ORDER
from bot.store.usage import _USAGE as _USAGE
from bot.store.writer_lock import work_began

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DEFAULT_MIGRATIONS_DIR",
    "DELETE_BATCH",
    "FIRST_QUESTION_CHARS",
    "STORE_ERRORS",
    "ChatForgotten",
    "ChatKey",
    "ChatPreferences",
    "ChatStore",
    "Checkpointer",
    "ConversationPage",
    "ConversationSummary",
    "Export",
    "Forgotten",
    "InboxKind",
    "LatestQuestion",
    "Migration",
    "MigrationError",
    "NotAgain",
    "Received",
    "ReplyStatus",
    "Role",
    "StoreError",
    "StorePragmas",
    "StoredConversation",
    "StoredMessage",
    "Turn",
    "UsageTotals",
    "load_migrations",
    "split_statements",
    "work_began",
]
