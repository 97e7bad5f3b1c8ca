#!/usr/bin/env python3
"""
The Django oracle: Django 3.2's answers to the catalogue of queries (queries.py) on the reference
dataset (dataset.json), on SQLite, PostgreSQL and MariaDB.

    PYENV_VERSION=system python3 test/django-reference/oracle.py --db all > /tmp/answers.json
    PYENV_VERSION=system python3 test/django-reference/oracle.py --db all --write   # expected/*.json
    PYENV_VERSION=system python3 test/django-reference/oracle.py --db postgres --query 'issue9.*'

For each database it creates a private database (SQLite: a file in a temporary directory;
PostgreSQL and MariaDB: `djoracle_<pid>` on the servers of the test suite, as user root), creates
the tables with Django's schema editor, loads dataset.json, runs every query of the catalogue in
a transaction that is rolled back, prints JSON, and drops the database. Each database runs in its
own Python process (Django is configured once per process).

Output, per query and database: the value (rows in the query's order; rows of an unordered query
set are sorted by the oracle and marked `ordered: false`), the Python types of the values, and
the SQL Django ran (`connection.queries`, parameters interpolated by the driver); or the
exception Django raised (class, module, message).

Options:
  --db sqlite|postgres|mysql|all   (or a comma-separated list)   default: all
  --naming snake|camel             column naming (naming.py); default snake
  --query PATTERN                  only the queries whose name matches (fnmatch), repeatable
  --write                          write expected/<section>.json and expected/summary.json
                                   (only with --db all and no --query)
  --pg-url / --mysql-url           admin URLs (default: SPOOL_TEST_PG_URL / SPOOL_TEST_MYSQL_URL,
                                   else postgres://root@127.0.0.1:5432/test, mysql://root@127.0.0.1:3306/test)
"""
import argparse
import datetime
import decimal
import fnmatch
import inspect
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import uuid
from urllib.parse import urlparse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

DATABASES = ('sqlite', 'postgres', 'mysql')
MAX_SQL = 4000
# auto_now fields (Sample.touched) get this instant, so that the SQL Django prints is the same on every run.
FROZEN_NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
# (text, replacement) applied to SQL and error messages: the private database's name varies per run.
SCRUB = []
EXPECTED_DIR = os.path.join(HERE, 'expected')


# ---------------------------------------------------------------------------------------------
# Value encoding: JSON that JavaScript reads without loss.
# ---------------------------------------------------------------------------------------------

SAFE_INT = 2 ** 53


def encode(v):
    """A JSON-compatible value: Decimal, big int, datetime, date, UUID as strings (see README)."""
    from django.db.models import Model

    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if -SAFE_INT <= v <= SAFE_INT else str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return repr(v)
        return v
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc)
            return v.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
        return v.strftime('%Y-%m-%dT%H:%M:%S.%f')
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, datetime.timedelta):
        return str(v)
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, Model):
        return {k: encode(x) for k, x in instance_dict(v).items()}
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {str(k): encode(x) for k, x in v.items()}
    return repr(v)


def instance_dict(obj):
    out = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname != 'touched'}
    for k in getattr(obj, '_oracle_annotations', ()):
        out[k] = getattr(obj, k)
    return out


def type_name(v):
    if isinstance(v, datetime.datetime):
        return 'datetime' if v.tzinfo is not None else 'datetime(naive)'
    return type(v).__name__


def merge_types(values):
    return sorted({type_name(x) for x in values})


def describe_types(v):
    """The Python types of a result, in the result's shape (per column for rows)."""
    from django.db.models import Model

    if isinstance(v, list):
        if v and all(isinstance(r, tuple) for r in v):
            width = max(len(r) for r in v)
            return [merge_types([r[i] for r in v if i < len(r)]) for i in range(width)]
        if v and all(isinstance(r, dict) for r in v):
            keys = []
            for r in v:
                keys += [k for k in r if k not in keys]
            return {k: merge_types([r.get(k) for r in v if k in r]) for k in keys}
        if v and all(isinstance(r, Model) for r in v):
            return describe_types([instance_dict(r) for r in v])
        return merge_types(v)
    if isinstance(v, dict):
        return {k: describe_types(x) if isinstance(x, (list, dict)) and not is_json_doc(k) else type_name(x) for k, x in v.items()}
    return type_name(v)


def is_json_doc(key):
    return isinstance(key, str) and key.startswith('doc')


def materialise(value):
    """Evaluate query sets (recursively in dicts); return (python value, ordered flag)."""
    from django.db.models.query import QuerySet

    if isinstance(value, QuerySet):
        rows = list(value)
        annotations = list(value.query.annotations)
        for r in rows:
            if hasattr(r, '_meta'):
                r._oracle_annotations = annotations
        return rows, bool(value.ordered)
    if isinstance(value, dict):
        out = {}
        ordered = True
        for k, x in value.items():
            out[k], o = materialise(x)
            ordered = ordered and o
        return out, ordered
    return value, True


def sort_key(encoded_row):
    return json.dumps(encoded_row, sort_keys=True, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# One database (child process)
# ---------------------------------------------------------------------------------------------


def admin_urls(args):
    pg = args.pg_url or os.environ.get('SPOOL_TEST_PG_URL') or 'postgres://root@127.0.0.1:5432/test'
    my = args.mysql_url or os.environ.get('SPOOL_TEST_MYSQL_URL') or 'mysql://root@127.0.0.1:3306/test'
    return urlparse(pg), urlparse(my)


class Workspace:
    """A private database on one backend, created on enter and dropped on exit."""

    def __init__(self, db, args):
        self.db = db
        self.args = args
        self.name = 'djoracle_%d' % os.getpid()
        self.tmp = None
        SCRUB.append((self.name, 'djoracle'))

    def __enter__(self):
        pg, my = admin_urls(self.args)
        if self.db == 'sqlite':
            self.tmp = tempfile.mkdtemp(prefix='djoracle-')
            return {'ENGINE': 'django.db.backends.sqlite3', 'NAME': os.path.join(self.tmp, 'oracle.sqlite3')}
        if self.db == 'postgres':
            self._pg('DROP DATABASE IF EXISTS "%s"' % self.name)
            self._pg('CREATE DATABASE "%s"' % self.name)
            return {
                'ENGINE': 'django.db.backends.postgresql',
                'NAME': self.name,
                'USER': pg.username or 'root',
                'PASSWORD': pg.password or '',
                'HOST': pg.hostname or '127.0.0.1',
                'PORT': str(pg.port or 5432),
            }
        self._my('DROP DATABASE IF EXISTS `%s`' % self.name)
        self._my('CREATE DATABASE `%s`' % self.name)
        return {
            'ENGINE': 'django.db.backends.mysql',
            'NAME': self.name,
            'USER': my.username or 'root',
            'PASSWORD': my.password or '',
            'HOST': my.hostname or '127.0.0.1',
            'PORT': str(my.port or 3306),
            'OPTIONS': {'charset': 'utf8mb4'},
        }

    def __exit__(self, *exc):
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        if self.db == 'sqlite':
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.db == 'postgres':
            self._pg('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)
        else:
            self._my('DROP DATABASE IF EXISTS `%s`' % self.name)
        return False

    def _pg(self, statement):
        import psycopg2

        pg, _ = admin_urls(self.args)
        c = psycopg2.connect(
            host=pg.hostname or '127.0.0.1',
            port=pg.port or 5432,
            user=pg.username or 'root',
            password=pg.password or '',
            dbname=(pg.path or '/test').lstrip('/') or 'test',
        )
        c.autocommit = True
        try:
            with c.cursor() as cur:
                cur.execute(statement)
        finally:
            c.close()

    def _my(self, statement):
        import MySQLdb

        _, my = admin_urls(self.args)
        c = MySQLdb.connect(host=my.hostname or '127.0.0.1', port=my.port or 3306, user=my.username or 'root', passwd=my.password or '')
        try:
            c.cursor().execute(statement)
        finally:
            c.close()


def configure_django(database):
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=True,  # connection.queries
        USE_TZ=True,
        TIME_ZONE='UTC',
        INSTALLED_APPS=['reference_models.ReferenceConfig'],
        DATABASES={'default': database},
        DEFAULT_AUTO_FIELD='django.db.models.AutoField',
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.utils import timezone

    timezone.now = lambda: FROZEN_NOW


def scrub(text):
    for old, new in SCRUB:
        text = text.replace(old, new)
    return text


def create_tables(models):
    from django.db import connection

    with connection.schema_editor() as editor:
        for m in models:
            editor.create_model(m)


def decode_field(field, raw):
    """A dataset value (see dataset.py) as the Python value Django takes."""
    from django.db import models

    if raw is None:
        return None
    if isinstance(field, models.JSONField):
        return raw['json']
    if isinstance(field, models.DecimalField):
        return decimal.Decimal(raw)
    if isinstance(field, models.BigIntegerField):
        return int(raw)
    if isinstance(field, models.DateTimeField):
        return datetime.datetime.fromisoformat(raw.replace('Z', '+00:00'))
    if isinstance(field, models.DateField):
        return datetime.date.fromisoformat(raw)
    if isinstance(field, models.UUIDField):
        return uuid.UUID(raw)
    return raw


def load_dataset(data):
    """Insert dataset.json with bulk_create (explicit ids), then reset PostgreSQL's sequences."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.db.models import Value
    import reference_models as rm

    with transaction.atomic():
        for model in rm.ALL_MODELS:
            rows = data['models'][model.__name__]
            objs = []
            json_nulls = []
            for row in rows:
                kwargs = {}
                for key, raw in row.items():
                    field = model._meta.get_field(key)
                    if field.many_to_many:
                        continue
                    if field.is_relation:
                        kwargs[field.attname] = raw
                        continue
                    if isinstance(raw, dict) and 'json' in raw and raw['json'] is None:
                        json_nulls.append(row['id'])
                    kwargs[key] = decode_field(field, raw)
                objs.append(model(**kwargs))
            model.objects.bulk_create(objs)
            for pk in json_nulls:
                # A document that is JSON null: Django stores None as SQL NULL, Value('null') as JSON null.
                model.objects.filter(pk=decode_field(model._meta.pk, pk)).update(doc=Value('null'))
            for f in model._meta.many_to_many:
                through = getattr(model, f.name).through
                src = f.m2m_field_name() + '_id'
                dst = f.m2m_reverse_field_name() + '_id'
                links = [through(**{src: row['id'], dst: t}) for row in rows for t in row.get(f.name, [])]
                through.objects.bulk_create(links)
    statements = connection.ops.sequence_reset_sql(no_style(), rm.ALL_MODELS + [rm.Book.tags.through])
    if statements:
        with connection.cursor() as cur:
            for s in statements:
                cur.execute(s)


def check_dataset(data):
    """Read every row back and list the values that differ from dataset.json (Django's own round trip)."""
    import reference_models as rm

    problems = []
    for model in rm.ALL_MODELS:
        by_pk = {str(o.pk): o for o in model.objects.all()}
        for row in data['models'][model.__name__]:
            obj = by_pk.get(str(decode_field(model._meta.pk, row['id'])))
            if obj is None:
                problems.append('%s %s: missing' % (model.__name__, row['id']))
                continue
            for key, raw in row.items():
                field = model._meta.get_field(key)
                if field.many_to_many:
                    got = sorted(getattr(obj, key).values_list('pk', flat=True))
                    want = sorted(raw)
                elif field.is_relation:
                    got, want = getattr(obj, field.attname), raw
                else:
                    got, want = getattr(obj, key), decode_field(field, raw)
                same = got == want and type(got) == type(want)
                if isinstance(want, float) and isinstance(got, float):
                    same = math.copysign(1, got) == math.copysign(1, want) and got == want
                if not same:
                    problems.append('%s %s.%s: stored %r, read back %r' % (model.__name__, row['id'], key, want, got))
    return problems


def run_query(q):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    ctx = CaptureQueriesContext(connection)
    raw = []

    def remember(execute, sql, params, many, context):
        raw.append((sql, params))
        return execute(sql, params, many, context)

    out = {}
    try:
        with transaction.atomic():
            with ctx, connection.execute_wrapper(remember):
                value, ordered = materialise(q.fn())
            transaction.set_rollback(True)
        encoded = encode(value)
        if isinstance(value, list) and not ordered:
            encoded = sorted(encoded, key=sort_key)
        out['value'] = encoded
        out['types'] = describe_types(value)
        if not ordered:
            out['ordered'] = False
    except Exception as e:  # noqa: BLE001 - an exception is an answer too
        out['error'] = {'class': type(e).__name__, 'module': type(e).__module__, 'message': scrub(str(e).strip())}
    sqls = []
    for i, entry in enumerate(ctx.captured_queries):
        s = entry['sql']
        if s is None and i < len(raw):
            # The driver did not render the statement (it failed): the template and its parameters.
            s = '%s -- params: %r' % (raw[i][0], list(raw[i][1] or []))
        s = scrub(s or '')
        if len(s) > MAX_SQL:
            s = s[:MAX_SQL] + '... [%d characters cut]' % (len(s) - MAX_SQL)
        sqls.append(s)
    out['sql'] = sqls
    return out


def server_version(db):
    from django.db import connection

    with connection.cursor() as cur:
        if db == 'sqlite':
            cur.execute('select sqlite_version()')
        else:
            cur.execute('select version()')
        return cur.fetchone()[0].split(' on ')[0]


def run_child(args):
    db = args.db
    with open(os.path.join(HERE, 'dataset.json'), encoding='utf-8') as f:
        data = json.load(f)
    with Workspace(db, args) as database:
        configure_django(database)
        import django
        import reference_models

        models = reference_models.define(args.naming)
        import queries

        selected = queries.select(args.query)
        create_tables(models)
        load_dataset(data)
        problems = check_dataset(data)
        results = {q.name: run_query(q) for q in selected}
        doc = {
            'database': db,
            'server': server_version(db),
            'django': django.get_version(),
            'naming': args.naming,
            'dataset_round_trip': problems,
            'results': results,
        }
    json.dump(doc, sys.stdout, ensure_ascii=False)
    return 0


# ---------------------------------------------------------------------------------------------
# All databases (parent process)
# ---------------------------------------------------------------------------------------------


def catalogue_entries(patterns):
    """Query metadata without a database: names, sections, descriptions and Django source."""
    import queries

    out = []
    for q in queries.select(patterns):
        out.append(q)
    return out


def source_of(fn):
    lines = inspect.getsource(fn).splitlines()
    while lines and lines[0].lstrip().startswith('@'):
        lines.pop(0)
    if lines and lines[0].lstrip().startswith('def '):
        lines.pop(0)
    body = textwrap.dedent('\n'.join(lines)).strip()
    if body.startswith('"""'):
        end = body.find('"""', 3)
        body = body[end + 3 :].strip()
    return body


def same_answer(results):
    def key(r):
        if 'error' in r:
            return ('error', r['error']['class'])
        return ('value', json.dumps(r.get('value'), sort_keys=True), json.dumps(r.get('types'), sort_keys=True))

    keys = {key(r) for r in results.values()}
    return len(keys) <= 1


def run_parent(args, dbs):
    children = {}
    for db in dbs:
        cmd = [sys.executable, os.path.abspath(__file__), '--child', '--db', db, '--naming', args.naming]
        for p in args.query or []:
            cmd += ['--query', p]
        if args.pg_url:
            cmd += ['--pg-url', args.pg_url]
        if args.mysql_url:
            cmd += ['--mysql-url', args.mysql_url]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit('oracle: the %s run failed (exit %d)' % (db, proc.returncode))
        if proc.stderr.strip():
            sys.stderr.write(proc.stderr)
        children[db] = json.loads(proc.stdout)

    entries = catalogue_entries(args.query)
    sections = {}
    for q in entries:
        results = {db: children[db]['results'][q.name] for db in dbs}
        entry = {'description': q.description, 'django': source_of(q.fn)}
        if q.spool:
            entry['spool'] = q.spool
        entry['same_on_all_databases'] = same_answer(results)
        entry['results'] = results
        sections.setdefault(q.section, {})[q.name] = entry
    meta = {
        'generated_by': 'test/django-reference/oracle.py (do not edit: regenerate, see README.md)',
        'django': children[dbs[0]]['django'],
        'naming': args.naming,
        'servers': {db: children[db]['server'] for db in dbs},
        'dataset_round_trip': {db: children[db]['dataset_round_trip'] for db in dbs},
    }
    return meta, sections


def write_expected(meta, sections):
    os.makedirs(EXPECTED_DIR, exist_ok=True)
    for old in os.listdir(EXPECTED_DIR):
        if old.endswith('.json'):
            os.remove(os.path.join(EXPECTED_DIR, old))
    summary = {}
    for section, queries_ in sections.items():
        doc = dict(meta)
        doc['section'] = section
        doc['queries'] = queries_
        with open(os.path.join(EXPECTED_DIR, '%s.json' % section), 'w', encoding='utf-8') as f:
            f.write(render(doc))
        for name, entry in queries_.items():
            summary[name] = {
                'section': section,
                'same_on_all_databases': entry['same_on_all_databases'],
                'errors': {db: r['error']['class'] for db, r in entry['results'].items() if 'error' in r},
            }
    doc = dict(meta)
    doc['queries'] = summary
    with open(os.path.join(EXPECTED_DIR, 'summary.json'), 'w', encoding='utf-8') as f:
        f.write(render(doc))
    sys.stderr.write('wrote %d sections, %d queries to %s\n' % (len(sections), len(summary), EXPECTED_DIR))


def render(doc):
    """Readable, stable JSON: one line per row, lists of scalars on one line."""
    return _render(doc, 0) + '\n'


def _is_scalar(v):
    return not isinstance(v, (list, dict))


def _flat(v):
    if isinstance(v, list):
        return all(_is_scalar(x) for x in v)
    if isinstance(v, dict):
        return all(_is_scalar(x) for x in v.values())
    return True


def _render(v, level):
    one = json.dumps(v, ensure_ascii=False)
    if _is_scalar(v) or not v:
        return one
    pad = ' ' * (level + 1)
    if isinstance(v, list):
        if _flat(v) or (len(one) <= 100 and all(_flat(x) for x in v)):
            return one
        items = [pad + _render(x, level + 1) for x in v]
        return '[\n' + ',\n'.join(items) + '\n' + ' ' * level + ']'
    if _flat(v) and len(one) <= 140:
        return one
    items = ['%s%s: %s' % (pad, json.dumps(k, ensure_ascii=False), _render(x, level + 1)) for k, x in v.items()]
    return '{\n' + ',\n'.join(items) + '\n' + ' ' * level + '}'


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--db', default='all')
    p.add_argument('--naming', default='snake', choices=['snake', 'camel'])
    p.add_argument('--query', action='append')
    p.add_argument('--write', action='store_true')
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--pg-url')
    p.add_argument('--mysql-url')
    args = p.parse_args(argv)
    if args.child:
        return run_child(args)
    dbs = list(DATABASES) if args.db == 'all' else [d.strip() for d in args.db.split(',') if d.strip()]
    for d in dbs:
        if d not in DATABASES:
            p.error('unknown database %r (use %s or all)' % (d, ', '.join(DATABASES)))
    if args.write and (dbs != list(DATABASES) or args.query or args.naming != 'snake'):
        p.error('--write needs --db all, the snake naming and no --query (expected/ holds the full catalogue)')
    meta, sections = run_parent(args, dbs)
    if args.write:
        write_expected(meta, sections)
    else:
        doc = dict(meta)
        doc['sections'] = sections
        sys.stdout.write(render(doc))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
