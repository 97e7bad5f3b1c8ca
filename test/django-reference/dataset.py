"""
The reference dataset: generated deterministically from a seeded PRNG (mulberry32, 32-bit
arithmetic spelled out, so the output never depends on Python's `random` module or version)
and stored once as dataset.json. The Django oracle and Spool's tests both load dataset.json;
this script only (re)writes it.

    PYENV_VERSION=system python3 test/django-reference/dataset.py --write   # rewrite dataset.json
    PYENV_VERSION=system python3 test/django-reference/dataset.py --check   # dataset.json is up to date?

Encoding of values in dataset.json (one JSON object per row, keyed by field name):
  - integers: JSON numbers, except BigIntegerField values, which are decimal strings (some are
    beyond 2^53 and would be rounded by JSON.parse);
  - DecimalField: strings with the field's decimal places ("12.50");
  - FloatField: JSON numbers (Python's repr, round-trips exactly);
  - DateField: "YYYY-MM-DD"; DateTimeField: "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, 6 digits);
  - UUIDField: canonical lowercase hyphenated string;
  - ForeignKey / OneToOneField: the related row's id, under the field name ("author": 3);
  - ManyToManyField: a list of related ids under the field name ("tags": [1, 4]);
  - JSONField: null is SQL NULL; otherwise {"json": <document>}, so that a document that is JSON
    null ({"json": null}) differs from SQL NULL.
"""
import json
import os
import sys
import uuid
from datetime import date, datetime, timedelta

sys.dont_write_bytecode = True

SEED = 20210406  # Django 3.2's release date
HERE = os.path.dirname(os.path.abspath(__file__))
DATASET_PATH = os.path.join(HERE, 'dataset.json')


class Rng:
    """mulberry32: small, fast, and easy to reimplement in TypeScript if ever needed."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def u32(self):
        self.state = (self.state + 0x6D2B79F5) & 0xFFFFFFFF
        t = self.state
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return (t ^ (t >> 14)) & 0xFFFFFFFF

    def random(self):
        return self.u32() / 4294967296.0

    def int(self, lo, hi):
        """An integer in [lo, hi]."""
        return lo + int(self.random() * (hi - lo + 1))

    def chance(self, p):
        return self.random() < p

    def choice(self, seq):
        return seq[self.int(0, len(seq) - 1)]

    def sample(self, seq, k):
        pool = list(seq)
        out = []
        for _ in range(min(k, len(pool))):
            out.append(pool.pop(self.int(0, len(pool) - 1)))
        return out

    def uuid(self):
        raw = bytearray()
        for _ in range(4):
            raw += self.u32().to_bytes(4, 'big')
        return str(uuid.UUID(bytes=bytes(raw), version=4))


def dt(value):
    """A UTC datetime string with exactly six fractional digits."""
    return value.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def cents(n):
    return '%d.%02d' % (n // 100, n % 100)


PUBLISHERS = [
    ('Acme', 'fr'),
    ('Globex', 'uk'),
    ('Initech', None),
    ('Umbrella', 'us'),
    ('hooli', 'fr'),  # lower case: case-sensitive ordering and comparisons differ per backend
    ('Stark & Sons', 'us'),
    ('Wayne_Press', None),  # LIKE wildcard in a value
    ('Tyrell 100%', 'uk'),
]

FIRST = [
    'Ann', 'Bob', 'cat', 'Dan', 'Eve', 'Fay', 'Gus', 'Hal', 'Ivy', 'Jon', 'Kim', 'Lea', 'Max',
    'Ned', 'Ola', 'Pam', 'Quinn', 'Rex', 'Sue', 'Tom', 'Uma', 'Vic', 'Wes', 'Xia', 'Yan', 'Zoë',
    'Abe', 'Bea', 'Cy', 'Dee', 'Eli', 'Flo', 'Gil', 'Hope', 'Ike', 'Joy', 'Kai', 'Liv', 'Mo',
    'Nia', 'Otto', 'Pia', 'Ray', 'Sam', 'Tia', 'Ugo', 'Val', 'Walt', 'Xan', 'Yves', 'Zed', 'Amy',
]
LAST = [
    'Archer', 'Brown', 'carter', 'Drake', 'Evans', 'Ford', 'Green', 'Hill', 'Irwin', 'Jones',
    "O'Brien", 'Émile', 'Lopez', 'Nguyen', 'Müller', 'Smith', 'van Dijk', 'Young', 'Zhang', 'Åberg',
]
TAGS = ['python', 'web', 'db', 'sql', 'orm', 'JavaScript', 'rust', 'go', 'data', 'ops']
WORDS = [
    'Alpha', 'beta', 'Gamma', 'Delta', 'Epsilon', 'zeta', 'Eta', 'Theta', 'Iota', 'Kappa', 'Lambda',
    'Mu', 'Nu', 'Xi', 'Omicron', 'Pi', 'Rho', 'Sigma', 'Tau', 'Upsilon', 'Phi', 'Chi', 'Psi', 'Omega',
]
NOUNS = ['Garden', 'Machine', 'River', 'Query', 'Index', 'Cursor', 'Shadow', 'Lattice', 'Harbor', 'Engine', 'Ledger', 'Signal']
SPECIAL_TITLES = ['Gamma 100%', 'delta_under', 'Epsilon \\ slash', "Zeta's", 'Ünïcode Ædventures', 'MiXeD CaSe', '  padded title  ']
CATEGORIES = [
    # (name, parent index or None)
    ('Fiction', None),
    ('Non-fiction', None),
    ('Sci-Fi', 0),
    ('Fantasy', 0),
    ('Space Opera', 2),
    ('Cyberpunk', 2),
    ('High Fantasy', 3),
    ('History', 1),
    ('Science', 1),
    ('Physics', 8),
    ('Quantum', 9),
    ('Biography', 1),
]


def generate():
    rng = Rng(SEED)
    models = {}

    models['Publisher'] = [{'id': i + 1, 'name': n, 'country': c} for i, (n, c) in enumerate(PUBLISHERS)]

    n_authors = 52
    authors = []
    for i in range(n_authors):
        aid = i + 1
        first = FIRST[i]
        last = LAST[i % len(LAST)] if i < len(LAST) else rng.choice(LAST)
        name = '%s %s' % (first, last)
        if i == 2:
            name = 'cat carter'  # all lower case
        if rng.chance(0.1) and i not in (0, 1):
            email = None
        elif i == 6:
            email = 'GUS.GREEN@EXAMPLE.COM'  # upper case: iexact vs exact
        else:
            email = '%s.%d@example.com' % (first.lower(), aid)
        r = rng.random()
        if r < 0.1:
            age = None
        elif r < 0.28:
            age = rng.int(18, 24)
        else:
            age = rng.int(25, 80)
        publisher = None if rng.chance(0.15) else rng.int(1, len(PUBLISHERS))
        authors.append({'id': aid, 'name': name, 'email': email, 'age': age, 'publisher': publisher})
    # Fixed points the queries rely on: a young author without books, an author aged exactly 25.
    authors[3]['age'] = 24
    authors[4]['age'] = 25
    models['Author'] = authors

    models['Tag'] = [{'id': i + 1, 'name': n} for i, n in enumerate(TAGS)]

    # Authors without books (scattered), the rest weighted so that some write many books.
    idle = set(rng.sample(range(5, n_authors + 1), 8)) | {4}
    writers = [a['id'] for a in authors if a['id'] not in idle]
    weights = [4 if k % 7 == 0 else 2 if k % 3 == 0 else 1 for k in range(len(writers))]
    total_weight = sum(weights)

    def pick_writer():
        x = rng.int(1, total_weight)
        for w, aid in zip(weights, writers):
            x -= w
            if x <= 0:
                return aid
        return writers[-1]

    special_dates = ['2020-02-29', '2020-12-31', '2021-01-01', '2021-01-03', '2019-12-30', '2024-12-31', '2000-01-01']
    books = []
    used_titles = set()
    n_books = 150
    for i in range(n_books):
        bid = i + 1
        if i < len(SPECIAL_TITLES):
            title = SPECIAL_TITLES[i]
        else:
            while True:
                title = '%s %s' % (rng.choice(WORDS), rng.choice(NOUNS))
                if rng.chance(0.3):
                    title += ' %d' % rng.int(2, 9)
                if title.lower() not in used_titles:
                    break
        used_titles.add(title.lower())
        r = rng.random()
        if r < 0.05:
            pages = 300  # the boundary of pages__gt=300
        elif r < 0.1:
            pages = 100
        else:
            pages = rng.int(40, 900)
        r = rng.random()
        if r < 0.12:
            price = None
        elif r < 0.17:
            price = '20.00'  # the boundary of price__lt=20
        else:
            price = cents(rng.int(499, 8999))
        r = rng.random()
        if r < 0.1:
            published = None
        elif i % 20 == 5:
            published = special_dates[(i // 20) % len(special_dates)]
        else:
            d = date(1990, 1, 1) + timedelta(days=rng.int(0, 12784))
            published = d.isoformat()
        author = pick_writer()
        editor = None if rng.chance(0.6) else rng.int(1, n_authors)
        tags = sorted(rng.sample(range(1, len(TAGS) + 1), rng.int(0, 3)))
        books.append(
            {
                'id': bid,
                'title': title,
                'pages': pages,
                'price': price,
                'published': published,
                'author': author,
                'editor': editor,
                'tags': tags,
            }
        )
    # Fixed points: the first books carry NULL price / NULL date so small slices show NULL handling.
    books[2]['price'] = None
    books[2]['published'] = None
    books[7]['price'] = None
    models['Book'] = books

    models['Profile'] = []
    for a in authors:
        if rng.chance(0.6):
            bio = '' if rng.chance(0.2) else 'Writes about %s.' % rng.choice(TAGS)
            models['Profile'].append({'id': len(models['Profile']) + 1, 'author': a['id'], 'bio': bio})

    special_times = [
        datetime(2021, 12, 31, 23, 59, 59, 999999),
        datetime(2022, 1, 1, 0, 0, 0, 0),
        datetime(2020, 2, 29, 12, 0, 0, 1),
        datetime(2021, 3, 4, 5, 6, 7, 123456),
        datetime(2019, 6, 15, 8, 30, 0, 500000),
        datetime(2023, 7, 1, 0, 0, 0, 999),
    ]
    reviews = []
    for b in books:
        for reviewer in sorted(rng.sample(range(1, n_authors + 1), rng.int(0, 4))):
            rid = len(reviews) + 1
            if rid <= len(special_times):
                created = special_times[rid - 1]
            else:
                created = datetime(2019, 1, 1) + timedelta(
                    seconds=rng.int(0, 6 * 365 * 86400), microseconds=rng.int(0, 999999)
                )
            reviews.append({'id': rid, 'book': b['id'], 'reviewer': reviewer, 'rating': rng.int(1, 5), 'created': dt(created)})
    models['Review'] = reviews

    models['Category'] = [
        {'id': i + 1, 'name': n, 'parent': None if p is None else p + 1} for i, (n, p) in enumerate(CATEGORIES)
    ]

    models['Sample'] = generate_samples(rng)
    return {
        'description': 'Spool/Django reference dataset: the models of test/orm/models.ts, generated by dataset.py (seed %d).' % SEED,
        'seed': SEED,
        'encoding': {
            'BigIntegerField': 'decimal string',
            'DecimalField': 'string with the field decimal places',
            'DateField': 'YYYY-MM-DD',
            'DateTimeField': 'YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC)',
            'UUIDField': 'lowercase hyphenated string',
            'ForeignKey': 'related id under the field name',
            'ManyToManyField': 'list of related ids under the field name',
            'JSONField': 'null = SQL NULL; {"json": document} otherwise ({"json": null} = JSON null)',
        },
        'models': models,
    }


JSON_DOCS = [
    None,  # SQL NULL
    {'json': None},  # JSON null
    {'json': {'owner': {'name': 'Ann', 'age': 34}, 'tags': ['python', 'web'], 'n': 1}},
    {'json': {'owner': {'name': 'bob', 'age': None}, 'tags': ['db'], 'n': 2}},
    {'json': {'owner': None, 'tags': [], 'n': None}},
    {'json': {'n': 2.5, 'tags': ['python']}},
    {'json': {'n': '3'}},
    {'json': {}},
    {'json': []},
    {'json': [1, [2, 3], {'k': 'v'}]},
    {'json': 'just a string'},
    {'json': 42},
    {'json': True},
    {'json': {'a': {'b': {'c': 'deep'}}, 'tags': ['web', 'python', 'db']}},
    {'json': {'owner': {'name': 'Zoë', 'emails': ['z@example.com']}, 'n': 10}},
    {'json': {'tags': ['python', None], 'flag': False}},
    {'json': {'k': 1}},
    {'json': {'owner': {'name': 'Ann'}, 'n': 1}},
    {'json': {'deep': {'list': [{'x': 1}, {'x': 2}]}}},
    {'json': {'n': 0, 'flag': True, 'tags': ['rust']}},
]

BIGS = [
    '9007199254740993',  # 2^53 + 1: not a double
    '-9007199254740993',
    '9007199254740992',  # 2^53
    '9007199254740991',  # 2^53 - 1
    '9223372036854775807',  # 2^63 - 1
    '-9223372036854775808',  # -2^63
    '1234567890123456789',
    None,
    '0',
    '-1',
    '42',
]
RATIOS = [0.1, 0.2, 1 / 3, 1e-07, -2.5, 1e20, None, 3.0, 0.30000000000000004, 2.675, -0.0, 123456.789]
AMOUNTS = ['1234567.891', '0.001', '-0.500', None, '10.000', '3.333', '2.675', '9999999.999', '-1234.567']
BODIES = [None, '', 'Zoë', 'unicorn \U0001f984', 'MiXeD Case', '  padded  ', 'a%b_c', 'line\nbreak', 'tab\there', 'ABC', 'abc', 'Ab']


def generate_samples(rng):
    samples = []
    n = 30
    for i in range(n):
        at = None
        if i % 7 != 3:
            at = dt(datetime(2018, 1, 1) + timedelta(seconds=rng.int(0, 7 * 365 * 86400), microseconds=rng.int(0, 999999)))
        if i == 0:
            at = '2021-03-04T05:06:07.123456Z'
        if i == 1:
            at = '2021-12-31T23:59:59.999999Z'
        day = None if i % 6 == 4 else (date(2000, 1, 1) + timedelta(days=rng.int(0, 9000))).isoformat()
        samples.append(
            {
                'id': rng.uuid(),
                'small': None if i % 9 == 8 else (i * 37) % 101 - 50,
                'big': BIGS[i] if i < len(BIGS) else str(rng.int(-1000000, 1000000)),
                'ratio': RATIOS[i] if i < len(RATIOS) else (None if i % 5 == 0 else round(rng.random() * 100, 4)),
                'amount': AMOUNTS[i] if i < len(AMOUNTS) else (None if i % 4 == 0 else '%d.%03d' % (rng.int(0, 999), rng.int(0, 999))),
                'label': 'x' if i % 3 else 'y',
                'body': BODIES[i] if i < len(BODIES) else (None if i % 5 == 1 else 'body %d' % i),
                'flag': i % 2 == 0,
                'day': day,
                'at': at,
                'doc': JSON_DOCS[i] if i < len(JSON_DOCS) else (None if i % 4 == 2 else {'json': {'n': i, 'tags': sorted(rng.sample(['python', 'web', 'db', 'rust'], rng.int(0, 2)))}}),
                'other': None if i % 3 == 1 else rng.uuid(),
            }
        )
    return samples


def render(data):
    """Stable text: one row per line, so that a change to the generator shows as a readable diff."""
    head = {k: v for k, v in data.items() if k != 'models'}
    lines = ['{']
    for k, v in head.items():
        lines.append(' %s: %s,' % (json.dumps(k), json.dumps(v, ensure_ascii=False)))
    lines.append(' "models": {')
    names = list(data['models'])
    for i, name in enumerate(names):
        rows = data['models'][name]
        lines.append('  %s: [' % json.dumps(name))
        for j, row in enumerate(rows):
            lines.append('   %s%s' % (json.dumps(row, ensure_ascii=False), ',' if j < len(rows) - 1 else ''))
        lines.append('  ]%s' % (',' if i < len(names) - 1 else ''))
    lines.append(' }')
    lines.append('}')
    return '\n'.join(lines) + '\n'


def main(argv):
    text = render(generate())
    if '--write' in argv:
        with open(DATASET_PATH, 'w', encoding='utf-8') as f:
            f.write(text)
        print('wrote %s' % DATASET_PATH)
        return 0
    if '--check' in argv:
        with open(DATASET_PATH, encoding='utf-8') as f:
            same = f.read() == text
        print('dataset.json is %s' % ('up to date' if same else 'OUT OF DATE: run dataset.py --write'))
        return 0 if same else 1
    sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
