"""One process of the field report's stack (issue 11): SQLAlchemy 1.4's asyncio engine over
aiosqlite, three mapped classes, an FTS5 index written in the same session, WAL set by the program.

usage: field_stack.py DB NOTES HOLD_MS
  Each note is one session that reads first (a count and a look-up), works HOLD_MS milliseconds
  (a notes server parsing a file), then adds a Note with 2 observations and 1 relation, indexes it
  in the FTS5 table and commits, all in one deferred transaction (SQLAlchemy's BEGIN recipe for
  pysqlite/aiosqlite, below).  NOTES=0 only creates the schema (run once before the writers).
Prints one line: ok=N failed=M locked=L ("database is locked" counts as failed and locked).
Needs Debian's python3-sqlalchemy and python3-aiosqlite (run it with /usr/bin/python3).
"""
import asyncio
import os
import sys

from sqlalchemy import Column, ForeignKey, Integer, String, Text, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import declarative_base, relationship, sessionmaker

Base = declarative_base()


class Note(Base):
    __tablename__ = "notes"
    id = Column(Integer, primary_key=True)
    title = Column(String, unique=True, nullable=False)
    body = Column(Text, nullable=False)
    observations = relationship("Observation", back_populates="note")
    relations = relationship("Relation", back_populates="note")


class Observation(Base):
    __tablename__ = "observations"
    id = Column(Integer, primary_key=True)
    note_id = Column(Integer, ForeignKey("notes.id"), nullable=False)
    content = Column(Text, nullable=False)
    note = relationship("Note", back_populates="observations")


class Relation(Base):
    __tablename__ = "relations"
    id = Column(Integer, primary_key=True)
    note_id = Column(Integer, ForeignKey("notes.id"), nullable=False)
    target = Column(String, nullable=False)
    note = relationship("Note", back_populates="relations")


async def main(db, notes, hold_s):
    engine = create_async_engine("sqlite+aiosqlite:///" + db)

    # SQLAlchemy's documented recipe for pysqlite and aiosqlite: the driver's own BEGIN comes only
    # before the first write, so the session's reads would sit outside its transaction; with this
    # the transaction starts (deferred) at the session's first statement, and the read, the work
    # and the write are one transaction ("work inside each transaction", as issue 11 measured it).
    # Without it the failure is too rare to test on this machine (docs/clients.md).
    @event.listens_for(engine.sync_engine, "connect")
    def at_connect(dbapi_conn, record):
        dbapi_conn.isolation_level = None
        # WAL set by the program, at every connection's start (outside any transaction)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def begin_at_first_statement(conn):
        conn.exec_driver_sql("BEGIN")

    ok = failed = locked = 0
    try:
        async with engine.begin() as conn:
            if notes == 0:
                await conn.run_sync(Base.metadata.create_all)
                await conn.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS notes_fts "
                                        "USING fts5(title, body)"))
    except OperationalError as e:
        # the start itself could not run: every note of this process is lost
        print("start: %s" % e, file=sys.stderr)
        return 0, notes, notes if "database is locked" in str(e) else 0
    make_session = sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    for i in range(notes):
        title = "note %d of process %d" % (i, os.getpid())
        body = "%s: sqlite locking under asyncio" % title
        try:
            async with make_session() as session:
                await session.execute(select(func.count(Note.id)))
                await session.execute(select(Note).where(Note.title == title))
                await asyncio.sleep(hold_s)
                note = Note(title=title, body=body)
                note.observations = [Observation(content="first fact of " + title),
                                     Observation(content="second fact of " + title)]
                note.relations = [Relation(target="note 0 of process %d" % os.getpid())]
                session.add(note)
                await session.flush()
                await session.execute(
                    text("INSERT INTO notes_fts(rowid, title, body) VALUES (:id, :t, :b)"),
                    {"id": note.id, "t": title, "b": body})
                await session.commit()
            ok += 1
        except OperationalError as e:
            failed += 1
            if "database is locked" in str(e):
                locked += 1
            else:
                print("note %d: %s" % (i, e), file=sys.stderr)
    await engine.dispose()
    return ok, failed, locked


ok, failed, locked = asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) / 1000.0))
print("ok=%d failed=%d locked=%d" % (ok, failed, locked))
