"""
The catalogue: named queries whose Django answers the oracle records.

Each query is a function returning a query set (evaluated by the oracle), a dict (of values or
query sets) or a plain value. Names are `<section>.<name>`; the section is the file under
expected/. Every query that returns rows orders them explicitly (with `id` as the last
tie-breaker), so that rows compare in order; a query set without ordering is sorted by the
oracle and marked `ordered: false`.

Queries that write run inside the oracle's transaction, which is rolled back after each query:
every query sees the dataset as loaded.

`spool=` gives the Spool spelling where it is not a mechanical translation (issue 9's items).
"""
import datetime
import fnmatch
import uuid
from decimal import Decimal

from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    StdDev,
    Subquery,
    Sum,
    Value,
    Variance,
    When,
    Window,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import (
    Abs,
    Cast,
    Ceil,
    Coalesce,
    Concat,
    ExtractDay,
    ExtractHour,
    ExtractIsoWeekDay,
    ExtractIsoYear,
    ExtractMinute,
    ExtractMonth,
    ExtractQuarter,
    ExtractSecond,
    ExtractWeek,
    ExtractWeekDay,
    ExtractYear,
    FirstValue,
    Floor,
    Greatest,
    Lag,
    Lead,
    Least,
    Left,
    Length,
    Lower,
    LTrim,
    Mod,
    Now,
    NullIf,
    Power,
    Rank,
    DenseRank,
    Replace,
    Right,
    Round,
    RowNumber,
    RTrim,
    StrIndex,
    Substr,
    Trim,
    TruncDate,
    TruncDay,
    TruncHour,
    TruncMonth,
    TruncTime,
    TruncYear,
    Upper,
)
from django.db.models.expressions import RowRange

from reference_models import *  # noqa: F401,F403 - defined by oracle.py before this import

UTC = datetime.timezone.utc


class Query:
    def __init__(self, name, fn, description, spool):
        self.name = name
        self.section = name.split('.', 1)[0]
        self.fn = fn
        self.description = description
        self.spool = spool


CATALOGUE = []


def query(name, spool=None):
    """Register a query; its docstring is the description."""

    def deco(fn):
        if any(q.name == name for q in CATALOGUE):
            raise ValueError('duplicate query name %s' % name)
        CATALOGUE.append(Query(name, fn, (fn.__doc__ or '').strip(), spool))
        return fn

    return deco


def select(patterns):
    if not patterns:
        return list(CATALOGUE)
    return [q for q in CATALOGUE if any(fnmatch.fnmatchcase(q.name, p) for p in patterns)]


def ids(qs):
    return qs.order_by('id').values_list('id', flat=True)


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def sample_id(n):
    """A fixed UUID for rows the `values` queries create."""
    return uuid.UUID(int=0xD1A60 * 2 ** 64 + n)


# =============================================================================================
# basics: what was loaded (the smoke test compares these with Spool's answers)
# =============================================================================================


@query('basics.counts')
def _():
    """Rows per model and many-to-many links."""
    return {
        'Publisher': Publisher.objects.count(),
        'Author': Author.objects.count(),
        'Tag': Tag.objects.count(),
        'Book': Book.objects.count(),
        'Book.tags': Book.tags.through.objects.count(),
        'Profile': Profile.objects.count(),
        'Review': Review.objects.count(),
        'Category': Category.objects.count(),
        'Sample': Sample.objects.count(),
    }


@query('basics.books_per_author')
def _():
    """Books per author (0 for authors without books)."""
    return Author.objects.annotate(n=Count('books')).order_by('id').values_list('id', 'n')


@query('basics.book_rows')
def _():
    """Every book, as stored (price a Decimal string, published a date)."""
    return Book.objects.order_by('id').values_list('id', 'title', 'pages', 'price', 'published', 'author_id', 'editor_id')


@query('basics.review_rows')
def _():
    """Every review, with its instant (microseconds)."""
    return Review.objects.order_by('id').values_list('id', 'book_id', 'reviewer_id', 'rating', 'created')


@query('basics.sample_rows')
def _():
    """Every sample (JSON documents decoded: JSON null and SQL NULL both read as None)."""
    return Sample.objects.order_by('id').values_list(
        'id', 'small', 'big', 'ratio', 'amount', 'label', 'body', 'flag', 'day', 'at', 'doc', 'other'
    )


@query('basics.filter_and_order_simple')
def _():
    """A query Spool answers today: books over 300 pages by authors under 40, by price then id."""
    return (
        Book.objects.filter(pages__gt=300, author__age__lt=40)
        .order_by('price', 'id')
        .values_list('id', 'price')
    )


# =============================================================================================
# issue9: wrong answers to fix
# =============================================================================================


@query('issue9.exclude_plain_one_call', spool="Book.objects.exclude({ pages__gt: 300, price__lt: 20 })")
def _():
    """exclude(a, b) in one call is NOT (a AND b) (a nullable column: price IS NOT NULL is part of b)."""
    return ids(Book.objects.exclude(pages__gt=300, price__lt=20))


@query('issue9.exclude_plain_chained', spool="Book.objects.exclude({ pages__gt: 300 }).exclude({ price__lt: 20 })")
def _():
    """Chained excludes: NOT a AND NOT b."""
    return ids(Book.objects.exclude(pages__gt=300).exclude(price__lt=20))


@query('issue9.exclude_plain_q_and')
def _():
    """exclude(Q(a) & Q(b)): the same as one call."""
    return ids(Book.objects.exclude(Q(pages__gt=300) & Q(price__lt=20)))


@query('issue9.exclude_plain_q_or')
def _():
    """exclude(Q(a) | Q(b)): NOT (a OR b)."""
    return ids(Book.objects.exclude(Q(pages__gt=300) | Q(price__lt=20)))


@query('issue9.exclude_relation_one_call', spool="Author.objects.exclude({ books__pages__gt: 300, books__price__lt: 20 })")
def _():
    """Authors without any single book that is both long and cheap (one subquery, both conditions on the same book)."""
    return ids(Author.objects.exclude(books__pages__gt=300, books__price__lt=20))


@query('issue9.exclude_relation_two_q_arguments')
def _():
    """exclude(Q(a), Q(b)): two Q arguments in one call, the same as keyword arguments (one subquery)."""
    return ids(Author.objects.exclude(Q(books__pages__gt=300), Q(books__price__lt=20)))


@query('issue9.exclude_relation_q_and')
def _():
    """exclude(Q(a) & Q(b)) across a relation."""
    return ids(Author.objects.exclude(Q(books__pages__gt=300) & Q(books__price__lt=20)))


@query('issue9.exclude_relation_q_or')
def _():
    """exclude(Q(a) | Q(b)) across a relation."""
    return ids(Author.objects.exclude(Q(books__pages__gt=300) | Q(books__price__lt=20)))


@query('issue9.exclude_relation_chained')
def _():
    """Authors with no long book and no cheap book (two independent subqueries)."""
    return ids(Author.objects.exclude(books__pages__gt=300).exclude(books__price__lt=20))


@query('issue9.exclude_relation_counts')
def _():
    """The row counts of the two forms above."""
    return {
        'one_call': Author.objects.exclude(books__pages__gt=300, books__price__lt=20).count(),
        'chained': Author.objects.exclude(books__pages__gt=300).exclude(books__price__lt=20).count(),
    }


@query('issue9.exclude_m2m_one_call')
def _():
    """Books without a tag whose name both starts with 'p' and ends with 'n'."""
    return ids(Book.objects.exclude(tags__name__startswith='p', tags__name__endswith='n'))


@query('issue9.exclude_m2m_chained')
def _():
    """Books with no tag starting with 'p' and no tag ending with 'n'."""
    return ids(Book.objects.exclude(tags__name__startswith='p').exclude(tags__name__endswith='n'))


@query('issue9.filter_multi_one_call', spool="Author.objects.filter({ books__pages__gt: 300, books__price__lt: 20 })")
def _():
    """Both conditions on the same book (one join); an author appears once per matching book."""
    return Author.objects.filter(books__pages__gt=300, books__price__lt=20).order_by('id').values_list('id', flat=True)


@query('issue9.filter_multi_two_q_arguments')
def _():
    """filter(Q(a), Q(b)) in one call: the same join as keyword arguments."""
    return Author.objects.filter(Q(books__pages__gt=300), Q(books__price__lt=20)).order_by('id').values_list('id', flat=True)


@query('issue9.filter_multi_chained')
def _():
    """Chained: one join per filter() call (any long book, any cheap book); rows multiply."""
    return (
        Author.objects.filter(books__pages__gt=300)
        .filter(books__price__lt=20)
        .order_by('id')
        .values_list('id', flat=True)
    )


@query('issue9.filter_multi_one_call_distinct')
def _():
    """One call, distinct authors."""
    return ids(Author.objects.filter(books__pages__gt=300, books__price__lt=20).distinct())


@query('issue9.filter_multi_chained_distinct')
def _():
    """Chained, distinct authors."""
    return ids(Author.objects.filter(books__pages__gt=300).filter(books__price__lt=20).distinct())


@query('issue9.filter_multi_counts')
def _():
    """count() of the two forms, without distinct."""
    return {
        'one_call': Author.objects.filter(books__pages__gt=300, books__price__lt=20).count(),
        'chained': Author.objects.filter(books__pages__gt=300).filter(books__price__lt=20).count(),
    }


@query('issue9.filter_m2m_q_and_one_call')
def _():
    """One filter() with Q(tag python) & Q(tag web): the same tag row must be both: no book."""
    return ids(Book.objects.filter(Q(tags__name='python') & Q(tags__name='web')))


@query('issue9.filter_m2m_chained')
def _():
    """Chained: books tagged python and (another link) tagged web."""
    return ids(Book.objects.filter(tags__name='python').filter(tags__name='web'))


@query('issue9.filter_chained_then_count_annotation')
def _():
    """Count('books') after two chained filters on books counts the joined rows (Django's documented multiplication)."""
    return (
        Author.objects.filter(books__pages__gt=300)
        .filter(books__price__lt=20)
        .annotate(n=Count('books'))
        .order_by('id')
        .values_list('id', 'n')
    )


@query('issue9.order_desc_nulls_last', spool="Book.objects.orderBy(F('price').desc({ nullsLast: true }), 'id')")
def _():
    """price descending, NULLs last (id breaks ties)."""
    return Book.objects.filter(id__lte=30).order_by(F('price').desc(nulls_last=True), 'id').values_list('id', 'price')


@query('issue9.order_asc_nulls_first', spool="Book.objects.orderBy(F('price').asc({ nullsFirst: true }), 'id')")
def _():
    """price ascending, NULLs first."""
    return Book.objects.filter(id__lte=30).order_by(F('price').asc(nulls_first=True), 'id').values_list('id', 'price')


@query('issue9.order_desc_nulls_first')
def _():
    """price descending, NULLs first."""
    return Book.objects.filter(id__lte=30).order_by(F('price').desc(nulls_first=True), 'id').values_list('id', 'price')


@query('issue9.order_asc_nulls_last')
def _():
    """price ascending, NULLs last."""
    return Book.objects.filter(id__lte=30).order_by(F('price').asc(nulls_last=True), 'id').values_list('id', 'price')


@query('issue9.order_asc_default_nulls')
def _():
    """price ascending without a NULL option: each database's own NULL placement (PostgreSQL: last; SQLite, MariaDB: first)."""
    return Book.objects.filter(id__lte=30).order_by('price', 'id').values_list('id', 'price')


@query('issue9.order_desc_default_nulls')
def _():
    """price descending without a NULL option (PostgreSQL: first; SQLite, MariaDB: last)."""
    return Book.objects.filter(id__lte=30).order_by('-price', 'id').values_list('id', 'price')


@query('issue9.order_age_desc_nulls_last')
def _():
    """Authors by age descending, NULL ages last."""
    return Author.objects.order_by(F('age').desc(nulls_last=True), 'id').values_list('id', 'age')


def first_books():
    return Book.objects.filter(id__lte=12).order_by('id')


@query('issue9.arith_pages_div_3', spool="annotate({ x: F('pages').div(3) })")
def _():
    """integer / integer: IntegerField."""
    return first_books().annotate(x=F('pages') / 3).values_list('id', 'pages', 'x')


@query('issue9.arith_negative_div_3')
def _():
    """(pages - 1000) / 3: integer division of a negative number (truncation, not floor)."""
    return first_books().annotate(x=(F('pages') - 1000) / 3).values_list('id', 'pages', 'x')


@query('issue9.arith_pages_div_3_float')
def _():
    """integer / 3.0 (a float Value): FloatField."""
    return first_books().annotate(x=F('pages') / 3.0).values_list('id', 'pages', 'x')


@query('issue9.arith_pages_div_3_wrapped_float')
def _():
    """ExpressionWrapper(pages / 3, FloatField()): the SQL is still integer division; only the conversion changes."""
    return first_books().annotate(x=ExpressionWrapper(F('pages') / 3, output_field=FloatField())).values_list('id', 'pages', 'x')


@query('issue9.arith_pages_mul_1_5')
def _():
    """integer * 1.5: FloatField."""
    return first_books().annotate(x=F('pages') * 1.5).values_list('id', 'pages', 'x')


@query('issue9.arith_pages_mul_decimal')
def _():
    """integer * Decimal('1.5'): DecimalField."""
    return first_books().annotate(x=F('pages') * Decimal('1.5')).values_list('id', 'pages', 'x')


@query('issue9.arith_price_div_3')
def _():
    """decimal / 3: DecimalField (NULL stays NULL)."""
    return first_books().annotate(x=F('price') / 3).values_list('id', 'price', 'x')


@query('issue9.arith_price_mul_float')
def _():
    """decimal * 1.5 (float): Django refuses mixed DecimalField/FloatField without output_field."""
    return first_books().annotate(x=F('price') * 1.5).values_list('id', 'price', 'x')


@query('issue9.arith_price_mul_float_wrapped')
def _():
    """ExpressionWrapper(price * 1.5, DecimalField(max_digits=12, decimal_places=4))."""
    return first_books().annotate(
        x=ExpressionWrapper(F('price') * 1.5, output_field=DecimalField(max_digits=12, decimal_places=4))
    ).values_list('id', 'price', 'x')


@query('issue9.arith_pages_div_price')
def _():
    """integer / decimal: DecimalField."""
    return first_books().annotate(x=F('pages') / F('price')).values_list('id', 'pages', 'price', 'x')


@query('issue9.arith_pages_plus_price')
def _():
    """integer + decimal: DecimalField."""
    return first_books().annotate(x=F('pages') + F('price')).values_list('id', 'x')


@query('issue9.arith_pages_div_author_age')
def _():
    """integer column / integer column across a join (NULL age gives NULL)."""
    return first_books().annotate(x=F('pages') / F('author__age')).values_list('id', 'pages', 'author__age', 'x')


@query('issue9.arith_pages_mod_7')
def _():
    """integer % 7."""
    return first_books().annotate(x=F('pages') % 7).values_list('id', 'pages', 'x')


@query('issue9.arith_ratio_mul_3')
def _():
    """float * 3: FloatField."""
    return Sample.objects.order_by('id').annotate(x=F('ratio') * 3).values_list('id', 'ratio', 'x')


@query('issue9.arith_amount_div_small')
def _():
    """decimal(10,3) / integer column (zero and NULL divisors included)."""
    return Sample.objects.order_by('id').annotate(x=F('amount') / F('small')).values_list('id', 'amount', 'small', 'x')


@query('issue9.arith_filter_by_expression')
def _():
    """filter(pages__gt=F('author__age') * 10)."""
    return ids(Book.objects.filter(pages__gt=F('author__age') * 10))


@query('issue9.arith_aggregate_of_division')
def _():
    """Sum(pages / 3) and Sum(pages) / 3 over all books."""
    return Book.objects.aggregate(sum_of_div=Sum(F('pages') / 3), div_of_sum=Sum('pages') / 3)


@query(
    'issue9.having_or_column',
    spool="Author.objects.annotate({ n: Count('books') }).filter(Q.or({ n__gte: 4 }, { age__lt: 25 }))",
)
def _():
    """An OR of an aggregate condition and a column condition: all of it in HAVING."""
    return (
        Author.objects.annotate(n=Count('books'))
        .filter(Q(n__gte=4) | Q(age__lt=25))
        .order_by('id')
        .values_list('id', 'n', 'age')
    )


@query('issue9.having_and_column')
def _():
    """AND of an aggregate condition and a column condition (Q & Q)."""
    return (
        Author.objects.annotate(n=Count('books'))
        .filter(Q(n__gte=4) & Q(age__lt=25))
        .order_by('id')
        .values_list('id', 'n', 'age')
    )


@query('issue9.having_kwargs_column')
def _():
    """filter(n__gte=4, age__lt=25) in one call."""
    return Author.objects.annotate(n=Count('books')).filter(n__gte=4, age__lt=25).order_by('id').values_list('id', 'n', 'age')


@query('issue9.having_not_or_column')
def _():
    """filter(~Q(n__gte=4) | Q(age__isnull=True))."""
    return (
        Author.objects.annotate(n=Count('books'))
        .filter(~Q(n__gte=4) | Q(age__isnull=True))
        .order_by('id')
        .values_list('id', 'n', 'age')
    )


@query('issue9.having_or_related_column')
def _():
    """An aggregate condition OR a condition on a related row's column."""
    return (
        Author.objects.annotate(n=Count('books'))
        .filter(Q(n__gte=4) | Q(publisher__country='fr'))
        .order_by('id')
        .values_list('id', 'n')
    )


@query('issue9.having_or_two_aggregates')
def _():
    """OR of two aggregate conditions."""
    return (
        Author.objects.annotate(n=Count('books'), p=Sum('books__pages'))
        .filter(Q(n__gte=5) | Q(p__lt=300))
        .order_by('id')
        .values_list('id', 'n', 'p')
    )


@query('issue9.having_after_column_filter')
def _():
    """A column filter before annotate() (WHERE), an aggregate filter after (HAVING)."""
    return (
        Author.objects.filter(Q(age__lt=25) | Q(age__isnull=True))
        .annotate(n=Count('books'))
        .filter(n__gte=1)
        .order_by('id')
        .values_list('id', 'n')
    )


@query('issue9.aggregate_price')
def _():
    """Avg/Sum/Min/Max/Count of a DecimalField(8, 2) with NULLs."""
    return Book.objects.aggregate(
        avg=Avg('price'), sum=Sum('price'), min=Min('price'), max=Max('price'), count=Count('price'), count_all=Count('*')
    )


@query('issue9.aggregate_pages')
def _():
    """Avg/Sum/Min/Max of an IntegerField."""
    return Book.objects.aggregate(avg=Avg('pages'), sum=Sum('pages'), min=Min('pages'), max=Max('pages'))


@query('issue9.aggregate_ratio')
def _():
    """Avg/Sum/Min/Max of a FloatField."""
    return Sample.objects.aggregate(avg=Avg('ratio'), sum=Sum('ratio'), min=Min('ratio'), max=Max('ratio'))


@query('issue9.aggregate_amount')
def _():
    """Avg/Sum/Min/Max of a DecimalField(10, 3)."""
    return Sample.objects.aggregate(avg=Avg('amount'), sum=Sum('amount'), min=Min('amount'), max=Max('amount'))


@query('issue9.aggregate_big_min_max')
def _():
    """Min/Max of a BigIntegerField holding -2^63 and 2^63 - 1."""
    return Sample.objects.aggregate(min=Min('big'), max=Max('big'))


@query('issue9.aggregate_big_sum_overflow')
def _():
    """Sum of a BigIntegerField whose total exceeds 2^63."""
    return Sample.objects.filter(big__gt=0).aggregate(sum=Sum('big'))


@query('issue9.aggregate_big_sum_beyond_2_53')
def _():
    """Sum of BigIntegerField values beyond 2^53 (total fits in 64 bits)."""
    return Sample.objects.filter(big__gt=-10 ** 18, big__lt=10 ** 18).aggregate(sum=Sum('big'), avg=Avg('big'))


@query('issue9.aggregate_grouped_price')
def _():
    """Per author: Avg/Sum of their books' prices, book count."""
    return (
        Author.objects.annotate(avg=Avg('books__price'), sum=Sum('books__price'), n=Count('books'))
        .order_by('id')
        .values_list('id', 'avg', 'sum', 'n')
    )


@query('issue9.aggregate_grouped_by_country')
def _():
    """values('publisher__country').annotate(...): the NULL group's place follows each database's NULL ordering."""
    return (
        Author.objects.values('publisher__country')
        .annotate(n=Count('id'), avg_age=Avg('age'), sum_age=Sum('age'))
        .order_by('publisher__country')
    )


@query('issue9.aggregate_distinct')
def _():
    """Avg/Sum/Count with distinct=True."""
    return Book.objects.aggregate(
        avg=Avg('price', distinct=True), sum=Sum('pages', distinct=True), authors=Count('author', distinct=True)
    )


@query('issue9.aggregate_empty')
def _():
    """Aggregates over no rows: NULL, except Count (0)."""
    return Book.objects.filter(id__lt=0).aggregate(sum=Sum('price'), count=Count('id'), avg=Avg('pages'), max=Max('published'))


@query('issue9.datetime_microseconds_read')
def _():
    """Instants with microseconds read back exactly."""
    return Review.objects.filter(id__lte=6).order_by('id').values_list('id', 'created')


@query('issue9.datetime_filter_exact_microseconds')
def _():
    """filter(created=...07.123456): one row."""
    return ids(Review.objects.filter(created=at(2021, 3, 4, 5, 6, 7, 123456)))


@query('issue9.datetime_filter_milliseconds_no_match')
def _():
    """filter(created=...07.123000): no row (the stored value has microseconds)."""
    return ids(Review.objects.filter(created=at(2021, 3, 4, 5, 6, 7, 123000)))


@query('issue9.datetime_range_one_microsecond')
def _():
    """created within one microsecond of the year boundary."""
    return ids(
        Review.objects.filter(created__gt=at(2021, 12, 31, 23, 59, 59, 999998), created__lte=at(2022, 1, 1, 0, 0, 0, 0))
    )


@query('issue9.datetime_order_close_instants')
def _():
    """Ordering by instants one microsecond apart."""
    return Review.objects.filter(
        created__gte=at(2021, 12, 31, 23, 59, 59), created__lt=at(2022, 1, 1, 0, 0, 1)
    ).order_by('-created', 'id').values_list('id', 'created')


@query('issue9.bigint_filter_exact')
def _():
    """filter(big=2^53 + 1) finds exactly that row (not 2^53)."""
    return Sample.objects.filter(big=2 ** 53 + 1).values_list('big', flat=True)


@query('issue9.bigint_filter_neighbours')
def _():
    """filter(big=2^53), filter(big=-(2^53 + 1)), filter(big=2^63 - 1)."""
    return {
        'two_53': list(Sample.objects.filter(big=2 ** 53).values_list('big', flat=True)),
        'minus_two_53_plus_1': list(Sample.objects.filter(big=-(2 ** 53 + 1)).values_list('big', flat=True)),
        'max': list(Sample.objects.filter(big=2 ** 63 - 1).values_list('big', flat=True)),
    }


@query('issue9.bigint_range')
def _():
    """big > 2^53, ascending."""
    return Sample.objects.filter(big__gt=2 ** 53).order_by('big').values_list('big', flat=True)


@query('issue9.bigint_in')
def _():
    """big IN (2^53 + 1, 2^63 - 1, -2^63)."""
    return Sample.objects.filter(big__in=[2 ** 53 + 1, 2 ** 63 - 1, -(2 ** 63)]).order_by('big').values_list('big', flat=True)


@query('issue9.bigint_order_all')
def _():
    """All big values in order (NULL placement per database)."""
    return Sample.objects.order_by('big', 'id').values_list('big', flat=True)


@query('issue9.huge_in_100000_count')
def _():
    """filter(id__in=<100,000 ids>).count(): Django binds one parameter per id."""
    return Book.objects.filter(id__in=list(range(1, 200001, 2))).count()


@query('issue9.huge_in_30000_count')
def _():
    """30,000 ids (below SQLite's 32,766 variables)."""
    return Book.objects.filter(id__in=list(range(1, 60001, 2))).count()


@query('issue9.huge_in_exclude_100000_count')
def _():
    """exclude(id__in=<100,000 ids>).count()."""
    return Book.objects.exclude(id__in=list(range(1, 200001, 2))).count()


@query('issue9.bulk_create_sets_pks')
def _():
    """bulk_create() without ids: are primary keys set on the instances?"""
    objs = Tag.objects.bulk_create([Tag(name='bulk-a'), Tag(name='bulk-b')])
    return {'pks': [o.pk for o in objs], 'in_db': list(Tag.objects.filter(name__startswith='bulk-').order_by('name').values_list('name', flat=True))}


# =============================================================================================
# values: what is stored for what is written (issue 9, "Values are validated")
# =============================================================================================


def book_with(**kwargs):
    values = dict(title='written', pages=100, author_id=1)
    values.update(kwargs)
    b = Book.objects.create(**values)
    return Book.objects.filter(pk=b.pk)


def sample_with(n, **kwargs):
    s = Sample.objects.create(id=sample_id(n), **kwargs)
    return Sample.objects.filter(pk=s.pk)


@query('values.bigint_beyond_2_53')
def _():
    """BigIntegerField 2^53 + 1 written and read back."""
    return sample_with(1, big=2 ** 53 + 1).values_list('big', flat=True)


@query('values.bigint_2_63_overflow')
def _():
    """BigIntegerField 2^63 (out of range)."""
    return sample_with(2, big=2 ** 63).values_list('big', flat=True)


@query('values.integer_beyond_2_31')
def _():
    """IntegerField 2^31 (out of the 32-bit range)."""
    return book_with(pages=2 ** 31).values_list('pages', flat=True)


@query('values.integer_beyond_2_53')
def _():
    """IntegerField 2^53 + 1."""
    return book_with(pages=2 ** 53 + 1).values_list('pages', flat=True)


@query('values.integer_from_string')
def _():
    """IntegerField given '42' (a string)."""
    return book_with(pages='42').values_list('pages', flat=True)


@query('values.integer_from_float')
def _():
    """IntegerField given 42.7 (a float)."""
    return book_with(pages=42.7).values_list('pages', flat=True)


@query('values.datetime_microseconds')
def _():
    """DateTimeField with microseconds written and read back, and found by an exact filter."""
    r = Review.objects.create(book_id=1, reviewer_id=52, rating=3, created=at(2024, 5, 1, 12, 0, 7, 123456))
    return {
        'read': list(Review.objects.filter(pk=r.pk).values_list('created', flat=True)),
        'found': Review.objects.filter(created=at(2024, 5, 1, 12, 0, 7, 123456)).count(),
    }


@query('values.datetime_naive')
def _():
    """A naive datetime (USE_TZ=True): Django warns and takes it as UTC (the current time zone)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        r = Review.objects.create(book_id=1, reviewer_id=52, rating=3, created=datetime.datetime(2024, 5, 1, 12, 0, 7, 5))
    return Review.objects.filter(pk=r.pk).values_list('created', flat=True)


@query('values.date_invalid_string')
def _():
    """DateField given '2021-02-30'."""
    return book_with(published='2021-02-30').values_list('published', flat=True)


@query('values.date_leap_day_string')
def _():
    """DateField given '2020-02-29'."""
    return book_with(published='2020-02-29').values_list('published', flat=True)


@query('values.datetime_invalid_string')
def _():
    """DateTimeField given '2021-13-01 00:00'."""
    return Review.objects.create(book_id=1, reviewer_id=52, rating=3, created='2021-13-01 00:00')


@query('values.float_nan')
def _():
    """FloatField NaN."""
    return sample_with(3, ratio=float('nan')).values_list('ratio', flat=True)


@query('values.float_infinity')
def _():
    """FloatField +Infinity."""
    return sample_with(4, ratio=float('inf')).values_list('ratio', flat=True)


@query('values.float_extremes')
def _():
    """FloatField 0.1 + 0.2, 5e-324, 1.7976931348623157e308, -0.0."""
    out = []
    for n, v in enumerate([0.1 + 0.2, 5e-324, 1.7976931348623157e308, -0.0]):
        out += list(sample_with(10 + n, ratio=v).values_list('ratio', flat=True))
    return out


@query('values.char_object')
def _():
    """CharField given a dict: Django stores str(value)."""
    return book_with(title={'a': 1}).values_list('title', flat=True)


@query('values.char_number')
def _():
    """CharField given 42."""
    return book_with(title=42).values_list('title', flat=True)


@query('values.char_too_long')
def _():
    """CharField(max_length=100) given 101 characters."""
    p = Publisher.objects.create(name='x' * 101)
    return Publisher.objects.filter(pk=p.pk).annotate(n=Length('name')).values_list('n', flat=True)


@query('values.text_lone_surrogate')
def _():
    """TextField given a lone UTF-16 surrogate (U+D800)."""
    return sample_with(5, body='a\ud800b').values_list('body', flat=True)


@query('values.text_nul')
def _():
    """TextField given a NUL character."""
    return sample_with(6, body='a\x00b').values_list('body', flat=True)


@query('values.text_astral')
def _():
    """TextField given an astral-plane character (4 bytes in UTF-8)."""
    return sample_with(7, body='unicorn \U0001f984').values_list('body', flat=True)


@query('values.decimal_too_many_places')
def _():
    """DecimalField(8, 2) given Decimal('12.345') and Decimal('12.355'): Django rounds (half even) when preparing the value."""
    a = book_with(price=Decimal('12.345'))
    b = book_with(price=Decimal('12.355'))
    return list(a.values_list('price', flat=True)) + list(b.values_list('price', flat=True))


@query('values.decimal_from_float')
def _():
    """DecimalField(8, 2) given the float 12.345."""
    return book_with(price=12.345).values_list('price', flat=True)


@query('values.decimal_too_many_digits')
def _():
    """DecimalField(8, 2) given Decimal('1234567.89') (9 digits)."""
    return book_with(price=Decimal('1234567.89')).values_list('price', flat=True)


@query('values.decimal_three_places')
def _():
    """DecimalField(10, 3) given '0.001' and '-1234.567'."""
    out = list(sample_with(20, amount=Decimal('0.001')).values_list('amount', flat=True))
    return out + list(sample_with(21, amount=Decimal('-1234.567')).values_list('amount', flat=True))


@query('values.json_circular')
def _():
    """JSONField given a circular structure."""
    d = {}
    d['self'] = d
    return sample_with(8, doc=d).values_list('doc', flat=True)


@query('values.json_not_serialisable')
def _():
    """JSONField given a set."""
    return sample_with(9, doc={1, 2}).values_list('doc', flat=True)


@query('values.json_nan')
def _():
    """JSONField given {'x': NaN}."""
    return sample_with(30, doc={'x': float('nan')}).values_list('doc', flat=True)


@query('values.json_big_number')
def _():
    """JSONField given {'n': 2^64} (Python ints are unbounded)."""
    return sample_with(31, doc={'n': 2 ** 64}).values_list('doc', flat=True)


@query('values.json_none_is_sql_null')
def _():
    """JSONField given None: SQL NULL (isnull finds it; doc=None, the JSON null lookup, does not)."""
    s = sample_with(32, doc=None)
    return {'isnull': s.filter(doc__isnull=True).count(), 'json_null': s.filter(doc=None).count()}


@query('values.json_value_null_is_json_null')
def _():
    """JSONField given Value('null'): JSON null (doc=None finds it; isnull does not)."""
    s = sample_with(33, doc=Value('null'))
    return {'isnull': s.filter(doc__isnull=True).count(), 'json_null': s.filter(doc=None).count(), 'read': list(s.values_list('doc', flat=True))}


@query('values.json_scalars')
def _():
    """JSONField given top-level scalars: a string, a number, a boolean, a list."""
    out = []
    for n, v in enumerate(['text', 1.5, False, [1, 'a', None]]):
        out += list(sample_with(40 + n, doc=v).values_list('doc', flat=True))
    return out


@query('values.uuid_upper_case')
def _():
    """UUIDField given an upper-case string."""
    return sample_with(50, other='ABCDEF01-2345-6789-ABCD-EF0123456789').values_list('other', flat=True)


@query('values.uuid_invalid')
def _():
    """UUIDField given 'not-a-uuid'."""
    return sample_with(51, other='not-a-uuid').values_list('other', flat=True)


@query('values.boolean_read')
def _():
    """BooleanField values read back (types per database)."""
    return Sample.objects.order_by('id').values_list('flag', flat=True)[:4]


@query('values.choices_not_enforced')
def _():
    """A value outside choices: create() does not validate (only full_clean() does)."""
    return Publisher.objects.filter(pk=Publisher.objects.create(name='New', country='de').pk).values_list('country', flat=True)


@query('values.update_validates_nothing')
def _():
    """update() with a too-long string for CharField(max_length=2)."""
    Publisher.objects.filter(pk=1).update(country='xyz')
    return Publisher.objects.filter(pk=1).values_list('country', flat=True)


# =============================================================================================
# functions: Django's django.db.models.functions (issue 10)
# =============================================================================================


def first_authors():
    return Author.objects.filter(id__lte=12).order_by('id')


def padded_samples():
    return Sample.objects.filter(body__isnull=False).order_by('id')


@query('functions.lower_upper_length')
def _():
    """Lower, Upper, Length of names with non-ASCII letters."""
    return first_authors().annotate(lo=Lower('name'), up=Upper('name'), n=Length('name')).values_list('id', 'name', 'lo', 'up', 'n')


@query('functions.length_bodies')
def _():
    """Length of text with astral characters, tabs, newlines, spaces (characters, not bytes)."""
    return padded_samples().annotate(n=Length('body')).values_list('body', 'n')


@query('functions.concat')
def _():
    """Concat(name, ' <', email, '>'): NULL email counts as empty."""
    return first_authors().annotate(c=Concat('name', Value(' <'), 'email', Value('>'))).values_list('id', 'c')


@query('functions.concat_mixed_types')
def _():
    """Concat of a CharField and an IntegerField needs output_field."""
    return first_authors().annotate(c=Concat('name', Value(' '), 'age', output_field=CharField())).values_list('id', 'c')


@query('functions.concat_numbers_output_field')
def _():
    """Concat of integer, decimal and float columns (NULLs among them) with output_field=CharField(): no Cast needed."""
    return {
        'books': list(first_books().annotate(
            c=Concat('title', Value(': '), 'pages', Value(' p, '), 'price', output_field=CharField())
        ).values_list('id', 'c')),
        'samples': list(finite_samples().annotate(
            c=Concat('small', Value('|'), 'amount', Value('|'), 'ratio', output_field=CharField())
        ).values_list('c', flat=True)),
    }


@query('functions.concat_mixed_types_error')
def _():
    """Concat('name', 'age') without output_field: Django's FieldError (mixed types)."""
    return first_authors().annotate(c=Concat('name', 'age')).values_list('id', 'c')


@query('functions.substr')
def _():
    """Substr(name, 2, 3) and Substr(name, 3)."""
    return first_authors().annotate(a=Substr('name', 2, 3), b=Substr('name', 3)).values_list('id', 'a', 'b')


@query('functions.trim')
def _():
    """Trim, LTrim, RTrim (spaces only; tabs and newlines stay)."""
    return padded_samples().annotate(t=Trim('body'), l=LTrim('body'), r=RTrim('body')).values_list('body', 't', 'l', 'r')


@query('functions.replace')
def _():
    """Replace(title, 'a', '4') (case-sensitive on every backend) and Replace(title, ' ') (remove)."""
    return first_books().annotate(r=Replace('title', Value('a'), Value('4')), s=Replace('title', Value(' '))).values_list('id', 'r', 's')


@query('functions.left_right')
def _():
    """Left(name, 3), Right(name, 3)."""
    return first_authors().annotate(l=Left('name', 3), r=Right('name', 3)).values_list('id', 'l', 'r')


@query('functions.strindex')
def _():
    """StrIndex(name, 'a'): 1-based, 0 when absent (case sensitivity per database collation)."""
    return first_authors().annotate(i=StrIndex('name', Value('a')), j=StrIndex('name', Value('A'))).values_list('id', 'name', 'i', 'j')


@query('functions.filter_on_function')
def _():
    """annotate(l=Lower('name')).filter(l__startswith='c')."""
    return ids(Author.objects.annotate(l=Lower('name')).filter(l__startswith='c'))


@query('functions.order_by_function')
def _():
    """order_by(Lower('name'), 'id') on titles with mixed case."""
    return Book.objects.filter(id__lte=20).order_by(Lower('title'), 'id').values_list('id', 'title')


@query('functions.order_by_text_case')
def _():
    """order_by('title', 'id'): the database collation decides (case-sensitive or not)."""
    return Book.objects.filter(id__lte=20).order_by('title', 'id').values_list('id', 'title')


@query('functions.update_with_function')
def _():
    """update(name=Upper('name')) then read."""
    Author.objects.filter(id__lte=4).update(name=Upper('name'))
    return Author.objects.filter(id__lte=4).order_by('id').values_list('name', flat=True)


@query('functions.case_sensitivity_lookups')
def _():
    """exact/contains/startswith with another case, and their i-variants; accents."""
    A = Author.objects
    return {
        'exact_upper': A.filter(name='CAT CARTER').count(),
        'iexact_upper': A.filter(name__iexact='CAT CARTER').count(),
        'contains_ann': A.filter(name__contains='ann').count(),
        'icontains_ann': A.filter(name__icontains='ann').count(),
        'startswith_c': A.filter(name__startswith='c').count(),
        'istartswith_c': A.filter(name__istartswith='c').count(),
        'exact_email_lower': A.filter(email='gus.green@example.com').count(),
        'iexact_email_lower': A.filter(email__iexact='gus.green@example.com').count(),
        'exact_zoe_no_accent': A.filter(name__startswith='Zoe').count(),
        'icontains_emile_no_accent': A.filter(name__icontains='emile').count(),
        'gt_lowercase': A.filter(name__gt='a').count(),
        'in_upper': A.filter(name__in=['CAT CARTER', 'ann archer']).count(),
        'like_wildcards_literal': Publisher.objects.filter(name__contains='_').count(),
        'like_percent_literal': Publisher.objects.filter(name__endswith='%').count(),
    }


@query('functions.coalesce')
def _():
    """Coalesce(price, Decimal('0')), Coalesce(age, 0) across a join."""
    return first_books().annotate(p=Coalesce('price', Value(Decimal('0.00'))), a=Coalesce('author__age', 0)).values_list('id', 'p', 'a')


@query('functions.coalesce_mixed_types')
def _():
    """Coalesce(price, 0): mixed DecimalField and IntegerField."""
    return first_books().annotate(p=Coalesce('price', 0)).values_list('id', 'p')


@query('functions.coalesce_in_aggregate')
def _():
    """Coalesce(Sum('price'), Decimal('0')) over no rows."""
    return Book.objects.filter(id__lt=0).aggregate(s=Coalesce(Sum('price'), Value(Decimal('0.00'))))


@query('functions.nullif')
def _():
    """NullIf(pages, 100)."""
    return Book.objects.filter(pages__in=[100, 300]).order_by('id').annotate(x=NullIf('pages', Value(100))).values_list('id', 'x')


@query('functions.greatest_least')
def _():
    """Greatest/Least with a NULL argument: PostgreSQL ignores NULLs, SQLite and MariaDB return NULL."""
    return first_books().annotate(
        g=Greatest('price', Value(Decimal('20.00'))), l=Least('price', Value(Decimal('20.00'))), gp=Greatest('pages', Value(300))
    ).values_list('id', 'price', 'g', 'l', 'gp')


def finite_samples():
    """Samples whose ratio is not 1e20 (a float whose ceiling does not fit in 64 bits)."""
    return Sample.objects.exclude(ratio__gt=1e9).order_by('id')


@query('functions.abs_ceil_floor_round_float')
def _():
    """Abs, Ceil, Floor, Round on floats (including -2.5, 2.675 and -0.0)."""
    return finite_samples().annotate(
        a=Abs('ratio'), c=Ceil('ratio'), f=Floor('ratio'), r=Round('ratio')
    ).values_list('ratio', 'a', 'c', 'f', 'r')


@query('functions.ceil_huge_float')
def _():
    """Ceil(1e20)."""
    return Sample.objects.filter(ratio__gt=1e9).annotate(c=Ceil('ratio')).values_list('ratio', 'c')


@query('functions.abs_ceil_floor_round_decimal')
def _():
    """Abs, Ceil, Floor, Round on DecimalField(10, 3) (including -0.500 and 2.675)."""
    return Sample.objects.order_by('id').annotate(
        a=Abs('amount'), c=Ceil('amount'), f=Floor('amount'), r=Round('amount')
    ).values_list('amount', 'a', 'c', 'f', 'r')


@query('functions.abs_integer')
def _():
    """Abs on an IntegerField with negative values."""
    return Sample.objects.order_by('id').annotate(a=Abs('small')).values_list('small', 'a')


@query('functions.round_price')
def _():
    """Round(price) on DecimalField(8, 2)."""
    return first_books().annotate(r=Round('price')).values_list('id', 'price', 'r')


@query('functions.mod_integer')
def _():
    """Mod(small, 7) with negative values (the sign follows the dividend in SQL)."""
    return Sample.objects.order_by('id').annotate(m=Mod('small', Value(7))).values_list('small', 'm')


@query('functions.mod_decimal')
def _():
    """Mod(amount, Decimal('3')) on DecimalField(10, 3)."""
    return Sample.objects.order_by('id').annotate(m=Mod('amount', Value(Decimal('3')))).values_list('amount', 'm')


@query('functions.mod_decimal_by_integer_column')
def _():
    """Mod(amount, small): decimal by an integer column (zero divisors left out)."""
    return Sample.objects.exclude(small=0).order_by('id').annotate(m=Mod('amount', 'small')).values_list('amount', 'small', 'm')


@query('functions.mod_float')
def _():
    """Mod(ratio, 2.0) on floats."""
    return finite_samples().annotate(m=Mod('ratio', Value(2.0))).values_list('ratio', 'm')


@query('functions.mod_float_mixed')
def _():
    """Mod with a float on one side: an integer column by a float, a float by an integer column, a decimal by a float column (PostgreSQL casts the floats to numeric)."""
    return (finite_samples().exclude(small=0).filter(ratio__gt=0)
            .annotate(a=Mod('small', Value(2.5)), b=Mod('ratio', 'small'), c=Mod('amount', 'ratio'))
            .values_list('small', 'ratio', 'a', 'b', 'c'))


@query('functions.values_expressions')
def _():
    """values() with expressions as keyword arguments, and a filter on one of them afterwards."""
    return {
        'rows': list(first_books().values('id', lower=Lower('title'), double=F('pages') * 2)),
        'filtered': list(Book.objects.values('id', lower=Lower('title')).filter(lower__startswith='a').order_by('id')),
    }


@query('functions.values_list_expressions')
def _():
    """values_list() with expressions as positional arguments (named lower1, length2, ...), flat too."""
    return {
        'rows': list(first_books().values_list('id', Lower('title'), Length('title'))),
        'flat': list(first_books().values_list(Upper('title'), flat=True)),
    }


@query('functions.values_aggregate_expression')
def _():
    """values('name', n=Count('books')): the aggregate is annotated first, so rows group by the model (one per author, as annotate().values())."""
    return list(Author.objects.filter(id__lte=12).order_by('id').values('name', n=Count('books')))


@query('functions.power')
def _():
    """Power(pages, 2) (two integers: FloatField), Power(price, 2) (DecimalField), Power(ratio, 0.5)."""
    return first_books().annotate(p=Power('pages', 2), q=Power('price', 2)).values_list('id', 'p', 'q')


@query('functions.power_float')
def _():
    """Power(ratio, 0.5) on floats (negative bases included)."""
    return Sample.objects.filter(ratio__gte=0).order_by('id').annotate(p=Power('ratio', Value(0.5))).values_list('ratio', 'p')


@query('functions.cast_numbers')
def _():
    """Cast integer→float, integer→text, decimal→integer, decimal→float, float→integer."""
    return first_books().annotate(
        pf=Cast('pages', FloatField()),
        pc=Cast('pages', CharField(max_length=10)),
        pi=Cast('price', IntegerField()),
        pff=Cast('price', FloatField()),
    ).values_list('id', 'pf', 'pc', 'pi', 'pff')


@query('functions.cast_float_to_integer')
def _():
    """Cast(ratio, IntegerField()): rounding or truncation per database (-2.5, 2.675)."""
    return Sample.objects.filter(ratio__isnull=False, ratio__lt=1e9).order_by('id').annotate(i=Cast('ratio', IntegerField())).values_list('ratio', 'i')


@query('functions.cast_text_to_integer')
def _():
    """Cast(title, IntegerField()) of non-numeric text."""
    return first_books().annotate(i=Cast('title', IntegerField())).values_list('id', 'i')


@query('functions.cast_dates')
def _():
    """Cast(created, DateField()), Cast(published, CharField()), Cast(age, DecimalField(5, 1)), Cast(big, CharField())."""
    return {
        'created_date': list(Review.objects.filter(id__lte=6).order_by('id').annotate(d=Cast('created', DateField())).values_list('d', flat=True)),
        'published_text': list(first_books().annotate(t=Cast('published', CharField())).values_list('t', flat=True)),
        'age_decimal': list(first_authors().annotate(d=Cast('age', DecimalField(max_digits=5, decimal_places=1))).values_list('d', flat=True)),
        'big_text': list(Sample.objects.order_by('id').annotate(t=Cast('big', CharField())).values_list('t', flat=True)[:8]),
    }


def dated_books():
    return Book.objects.filter(published__in=[
        '2020-02-29', '2020-12-31', '2021-01-01', '2021-01-03', '2019-12-30', '2024-12-31', '2000-01-01'
    ]).order_by('published', 'id')


@query('functions.extract_date')
def _():
    """Extract* on a DateField around year and ISO-week boundaries."""
    return dated_books().annotate(
        y=ExtractYear('published'),
        iy=ExtractIsoYear('published'),
        q=ExtractQuarter('published'),
        m=ExtractMonth('published'),
        w=ExtractWeek('published'),
        d=ExtractDay('published'),
        wd=ExtractWeekDay('published'),
        iwd=ExtractIsoWeekDay('published'),
    ).values_list('published', 'y', 'iy', 'q', 'm', 'w', 'd', 'wd', 'iwd')


@query('functions.extract_datetime')
def _():
    """Extract* on a DateTimeField in UTC, including seconds of instants with microseconds."""
    return Review.objects.filter(id__lte=6).order_by('id').annotate(
        y=ExtractYear('created'),
        m=ExtractMonth('created'),
        d=ExtractDay('created'),
        h=ExtractHour('created'),
        mi=ExtractMinute('created'),
        s=ExtractSecond('created'),
        wd=ExtractWeekDay('created'),
        w=ExtractWeek('created'),
    ).values_list('created', 'y', 'm', 'd', 'h', 'mi', 's', 'wd', 'w')


@query('functions.trunc_datetime')
def _():
    """TruncYear/Month/Day/Hour/Date/Time on a DateTimeField in UTC."""
    return Review.objects.filter(id__lte=6).order_by('id').annotate(
        y=TruncYear('created'), m=TruncMonth('created'), d=TruncDay('created'), h=TruncHour('created'), dd=TruncDate('created'), t=TruncTime('created')
    ).values_list('created', 'y', 'm', 'd', 'h', 'dd', 't')


@query('functions.trunc_date')
def _():
    """TruncYear/TruncMonth on a DateField."""
    return dated_books().annotate(y=TruncYear('published'), m=TruncMonth('published')).values_list('published', 'y', 'm')


@query('functions.date_lookups')
def _():
    """__year, __month, __week_day, __iso_year, __date, __hour lookups."""
    return {
        'published_year_2021': Book.objects.filter(published__year=2021).count(),
        'published_month_2': Book.objects.filter(published__month=2).count(),
        'published_week_day_1': Book.objects.filter(published__week_day=1).count(),
        'published_iso_year_2020': Book.objects.filter(published__iso_year=2020).count(),
        'published_quarter_4': Book.objects.filter(published__quarter=4).count(),
        'created_year_2021': Review.objects.filter(created__year=2021).count(),
        'created_date': Review.objects.filter(created__date=datetime.date(2021, 12, 31)).count(),
        'created_hour_0': Review.objects.filter(created__hour=0).count(),
        'created_second_gte_59': Review.objects.filter(created__second__gte=59).count(),
    }


@query('functions.group_by_trunc_year')
def _():
    """Reviews per year: values(TruncYear).annotate(Count)."""
    return Review.objects.annotate(y=TruncYear('created')).values('y').annotate(n=Count('id'), avg=Avg('rating')).order_by('y')


@query('functions.now')
def _():
    """Now() in a filter (every review is in the past)."""
    return Review.objects.filter(created__lt=Now()).count()


@query('functions.extract_in_order_and_values')
def _():
    """order_by(ExtractMonth('published').desc(), 'id') with values()."""
    return Book.objects.filter(published__isnull=False, id__lte=30).annotate(m=ExtractMonth('published')).order_by(F('m').desc(), 'id').values('id', 'm')


# =============================================================================================
# conditional: Case/When, conditional aggregates, StdDev/Variance (issue 10)
# =============================================================================================


def size_case():
    return Case(
        When(pages__lt=200, then=Value('short')),
        When(pages__lt=500, then=Value('medium')),
        default=Value('long'),
        output_field=CharField(),
    )


@query('conditional.case_annotate')
def _():
    """Case/When with string results in annotate()."""
    return Book.objects.filter(id__lte=20).order_by('id').annotate(size=size_case()).values_list('id', 'pages', 'size')


@query('conditional.case_null_condition')
def _():
    """Case(When(price__isnull=True, ...), When(price__lt=20, ...), default=F('price'))."""
    return first_books().annotate(
        p=Case(When(price__isnull=True, then=Value(Decimal('0.00'))), When(price__lt=20, then=Value(Decimal('9.99'))), default=F('price'))
    ).values_list('id', 'price', 'p')


@query('conditional.case_null_condition_typed')
def _():
    """The same Case with output_field=DecimalField(8, 2)."""
    return first_books().annotate(
        p=Case(
            When(price__isnull=True, then=Value(Decimal('0.00'))),
            When(price__lt=20, then=Value(Decimal('9.99'))),
            default=F('price'),
            output_field=DecimalField(max_digits=8, decimal_places=2),
        )
    ).values_list('id', 'price', 'p')


@query('conditional.case_integer_result')
def _():
    """Case with integer results (no output_field: resolved from the branches)."""
    return first_books().annotate(x=Case(When(pages__gt=300, then=F('pages')), default=Value(0))).values_list('id', 'x')


@query('conditional.case_filter')
def _():
    """filter() on a Case annotation."""
    return ids(Book.objects.annotate(size=size_case()).filter(size='medium'))


@query('conditional.case_order_by')
def _():
    """order_by(Case(...)): NULL prices first, then cheap, then the rest, then by id."""
    return Book.objects.filter(id__lte=20).order_by(
        Case(When(price__isnull=True, then=Value(0)), When(price__lt=20, then=Value(1)), default=Value(2)), 'id'
    ).values_list('id', 'price')


@query('conditional.case_update')
def _():
    """update(pages=Case(...)) then read."""
    Book.objects.filter(id__lte=12).update(pages=Case(When(pages__lt=300, then=F('pages') + 1000), default=F('pages') - 1))
    return first_books().values_list('id', 'pages')


@query('conditional.when_exists')
def _():
    """When(Exists(...)) and When(~Exists(...)) without Q: a boolean expression as the condition."""
    long_books = Book.objects.filter(author=OuterRef('pk'), pages__gt=500)
    any_book = Book.objects.filter(author=OuterRef('pk'))
    return Author.objects.filter(id__lte=20).order_by('id').annotate(
        kind=Case(When(Exists(long_books), then=Value('long')), When(~Exists(any_book), then=Value('none')), default=Value('short'))
    ).values_list('id', 'kind')


@query('conditional.when_exists_and_lookups')
def _():
    """When(Q(Exists(...)) & Q(age__gt=40)): a boolean expression combined with lookups in a Q."""
    long_books = Book.objects.filter(author=OuterRef('pk'), pages__gt=500)
    return Author.objects.filter(id__lte=20).order_by('id').annotate(
        x=Case(When(Q(Exists(long_books)) & Q(age__gt=40), then=Value(1)), default=Value(0))
    ).values_list('id', 'age', 'x')


@query('conditional.when_boolean_case')
def _():
    """When(<a Case of boolean output>): any boolean expression is a condition; filter() takes one too."""
    old = Case(When(age__gt=40, then=Value(True)), default=Value(False))
    return {
        'annotate': list(Author.objects.filter(id__lte=20).order_by('id').annotate(
            x=Case(When(old, then=Value('old')), default=Value('young'))
        ).values_list('id', 'x')),
        'filter': list(ids(Author.objects.filter(old))),
    }


@query('conditional.case_count_aggregate')
def _():
    """Sum(Case(When(..., then=1), default=0)): the pre-filter= idiom."""
    return Book.objects.aggregate(
        short=Sum(Case(When(pages__lt=200, then=1), default=0)), long=Sum(Case(When(pages__gte=500, then=1), default=0))
    )


@query('conditional.count_filter')
def _():
    """Count('books', filter=Q(...)) per author."""
    return (
        Author.objects.annotate(long=Count('books', filter=Q(books__pages__gt=300)), cheap=Count('books', filter=Q(books__price__lt=20)))
        .order_by('id')
        .values_list('id', 'long', 'cheap')
    )


@query('conditional.sum_filter')
def _():
    """Sum('books__pages', filter=Q(books__published__year__gte=2010)) per author."""
    return (
        Author.objects.annotate(recent=Sum('books__pages', filter=Q(books__published__year__gte=2010)))
        .order_by('id')
        .values_list('id', 'recent')
    )


@query('conditional.count_distinct')
def _():
    """Count('books__tags', distinct=True) vs without distinct."""
    return (
        Author.objects.annotate(tags=Count('books__tags', distinct=True), links=Count('books__tags'))
        .order_by('id')
        .values_list('id', 'tags', 'links')
    )


@query('conditional.aggregate_with_filters')
def _():
    """Whole-table aggregates with filter=."""
    return Book.objects.aggregate(
        no_price=Count('id', filter=Q(price__isnull=True)),
        pages_of_expensive=Sum('pages', filter=Q(price__gt=50)),
        avg_price_of_long=Avg('price', filter=Q(pages__gt=500)),
    )


@query('conditional.stddev_variance_integer')
def _():
    """StdDev/Variance (population and sample) of an IntegerField without NULLs."""
    return Book.objects.aggregate(
        sd=StdDev('pages'), var=Variance('pages'), sd_s=StdDev('pages', sample=True), var_s=Variance('pages', sample=True)
    )


@query('conditional.stddev_variance_decimal_with_nulls')
def _():
    """StdDev/Variance of a DecimalField with NULLs."""
    return Book.objects.aggregate(sd=StdDev('price'), var=Variance('price'))


@query('conditional.stddev_variance_decimal_without_nulls')
def _():
    """StdDev/Variance of a DecimalField, NULLs filtered out."""
    return Book.objects.filter(price__isnull=False).aggregate(sd=StdDev('price'), var=Variance('price'))


@query('conditional.stddev_variance_float')
def _():
    """StdDev/Variance of a FloatField (NULLs and 1e20 filtered out)."""
    return Sample.objects.filter(ratio__lt=1e9).aggregate(sd=StdDev('ratio'), var=Variance('ratio'))


@query('conditional.stddev_grouped')
def _():
    """StdDev of pages per author (NULL for authors without books, 0 for one book)."""
    return Author.objects.annotate(sd=StdDev('books__pages')).filter(id__lte=20).order_by('id').values_list('id', 'sd')


# =============================================================================================
# subqueries: Subquery/OuterRef, Exists, __in=<queryset>, aggregation over sliced/distinct/annotated sets
# =============================================================================================


@query('subqueries.subquery_latest_review')
def _():
    """Subquery(latest review instant per book)."""
    latest = Review.objects.filter(book=OuterRef('pk')).order_by('-created').values('created')[:1]
    return Book.objects.filter(id__lte=20).annotate(last=Subquery(latest)).order_by('id').values_list('id', 'last')


@query('subqueries.subquery_count_per_author')
def _():
    """Subquery counting books per author (Coalesce for authors without books)."""
    counts = Book.objects.filter(author=OuterRef('pk')).values('author').annotate(c=Count('*')).values('c')
    return Author.objects.annotate(n=Coalesce(Subquery(counts), 0)).order_by('id').values_list('id', 'n')


@query('subqueries.subquery_in_filter')
def _():
    """Authors older than their publisher's average author age."""
    avg = Author.objects.filter(publisher=OuterRef('publisher')).values('publisher').annotate(a=Avg('age')).values('a')
    return ids(Author.objects.filter(age__gt=Subquery(avg)))


@query('subqueries.exists_filter')
def _():
    """filter(Exists(books over 500 pages))."""
    return ids(Author.objects.filter(Exists(Book.objects.filter(author=OuterRef('pk'), pages__gt=500))))


@query('subqueries.not_exists_filter')
def _():
    """filter(~Exists(books over 500 pages))."""
    return ids(Author.objects.filter(~Exists(Book.objects.filter(author=OuterRef('pk'), pages__gt=500))))


@query('subqueries.exists_annotate')
def _():
    """annotate(has=Exists(...)): booleans."""
    return first_authors().annotate(has=Exists(Book.objects.filter(author=OuterRef('pk'), pages__gt=500))).values_list('id', 'has')


@query('subqueries.in_queryset')
def _():
    """filter(author__in=<queryset>) as one statement."""
    return ids(Book.objects.filter(author__in=Author.objects.filter(age__lt=25)))


@query('subqueries.in_values_queryset')
def _():
    """filter(id__in=Book.objects.filter(...).values('author'))."""
    return ids(Author.objects.filter(id__in=Book.objects.filter(price__gt=80).values('author')))


@query('subqueries.in_sliced_queryset')
def _():
    """filter(id__in=<sliced queryset>): MariaDB refuses LIMIT in an IN subquery."""
    return ids(Author.objects.filter(id__in=Author.objects.filter(age__isnull=False).order_by('-age', 'id')[:5]))


@query('subqueries.subquery_sliced_default_ordering')
def _():
    """Subquery(qs.values('title')[:1]) with no order_by(): the model's Meta.ordering (title) picks the row."""
    first = Book.objects.filter(author=OuterRef('pk')).values('title')[:1]
    return Author.objects.filter(id__lte=20).annotate(first=Subquery(first)).order_by('id').values_list('id', 'first')


@query('subqueries.in_sliced_default_ordering')
def _():
    """filter(id__in=<sliced queryset, default ordering>): the first 5 books by title."""
    return ids(Book.objects.filter(id__in=Book.objects.values('id')[:5]))


@query('distinct.in_distinct_on_keeps_ordering')
def _():
    """filter(id__in=<order_by(...).distinct(field)>): the subquery keeps its ordering (the longest book per author)."""
    return ids(Book.objects.filter(id__in=Book.objects.order_by('author_id', '-pages', 'id').distinct('author_id').values('id')))


@query('subqueries.aggregate_over_slice')
def _():
    """aggregate() over a sliced queryset (the 10 longest books)."""
    return Book.objects.order_by('-pages', 'id')[:10].aggregate(s=Sum('pages'), a=Avg('price'), n=Count('id'))


@query('subqueries.count_over_slice')
def _():
    """count() over slices."""
    return {'first_10': Book.objects.all()[:10].count(), 'from_140': Book.objects.order_by('id')[140:].count(), 'from_145_to_200': Book.objects.all()[145:200].count()}


@query('subqueries.aggregate_over_distinct')
def _():
    """aggregate() over a distinct() queryset with a join, vs without distinct."""
    qs = Author.objects.filter(books__pages__gt=300)
    return {'distinct': qs.distinct().aggregate(n=Count('id'), avg=Avg('age')), 'plain': qs.aggregate(n=Count('id'), avg=Avg('age'))}


@query('subqueries.aggregate_over_annotation')
def _():
    """aggregate() over an aggregate annotation (Avg/Max of per-author book counts)."""
    return Author.objects.annotate(n=Count('books')).aggregate(avg_n=Avg('n'), max_n=Max('n'), sum_n=Sum('n'))


@query('subqueries.count_distinct_values')
def _():
    """values('author').distinct().count()."""
    return Book.objects.values('author').distinct().count()


@query('subqueries.update_with_subquery')
def _():
    """update(age=Subquery(pages of the author's first book)) then read."""
    first = Book.objects.filter(author=OuterRef('pk')).order_by('id').values('pages')[:1]
    Author.objects.filter(id__lte=6).update(age=Subquery(first))
    return first_authors().values_list('id', 'age')[:6]


@query('subqueries.update_same_table_subquery')
def _():
    """update(pages=Subquery(max pages of the same author's books)): a subquery on the table being updated."""
    top = Book.objects.filter(author=OuterRef('author')).values('author').annotate(m=Max('pages')).values('m')
    Book.objects.filter(id__lte=5).update(pages=Subquery(top))
    return Book.objects.filter(id__lte=5).order_by('id').values_list('id', 'pages')


# =============================================================================================
# windows (issue 10)
# =============================================================================================


def window_books():
    return Book.objects.filter(author_id__lte=10)


@query('windows.row_number')
def _():
    """RowNumber() per author by pages descending."""
    return (
        window_books()
        .annotate(rn=Window(RowNumber(), partition_by=[F('author')], order_by=[F('pages').desc(), F('id').asc()]))
        .order_by('author_id', 'rn')
        .values_list('author_id', 'id', 'pages', 'rn')
    )


@query('windows.rank_dense_rank')
def _():
    """Rank() and DenseRank() by price descending (ties at 20.00; NULLs placed per database)."""
    return (
        Book.objects.filter(id__lte=40)
        .annotate(r=Window(Rank(), order_by=F('price').desc()), d=Window(DenseRank(), order_by=F('price').desc()))
        .order_by('r', 'id')
        .values_list('id', 'price', 'r', 'd')
    )


@query('windows.lag_with_default')
def _():
    """Lag(pages, 1, default=0): MariaDB has no default argument."""
    return (
        window_books()
        .annotate(prev=Window(Lag('pages', offset=1, default=0), partition_by=[F('author')], order_by=F('id').asc()))
        .order_by('author_id', 'id')
        .values_list('author_id', 'id', 'pages', 'prev')
    )


@query('windows.lag_lead')
def _():
    """Lag(pages) and Lead(price) per author by id (NULL at the partition edges)."""
    return (
        window_books()
        .annotate(
            prev=Window(Lag('pages'), partition_by=[F('author')], order_by=F('id').asc()),
            next_price=Window(Lead('price'), partition_by=[F('author')], order_by=F('id').asc()),
        )
        .order_by('author_id', 'id')
        .values_list('author_id', 'id', 'pages', 'prev', 'price', 'next_price')
    )


@query('windows.first_value')
def _():
    """FirstValue(title) per author by published (NULL dates placed per database)."""
    return (
        window_books()
        .annotate(first=Window(FirstValue('title'), partition_by=[F('author')], order_by=[F('published').asc(), F('id').asc()]))
        .order_by('author_id', 'id')
        .values_list('author_id', 'id', 'first')
    )


@query('windows.running_sum')
def _():
    """Sum(pages) as a running total per author (default frame and an explicit ROWS frame)."""
    return (
        window_books()
        .annotate(
            run=Window(Sum('pages'), partition_by=[F('author')], order_by=F('id').asc()),
            rows=Window(Sum('pages'), partition_by=[F('author')], order_by=F('id').asc(), frame=RowRange(start=None, end=0)),
            total=Window(Sum('pages'), partition_by=[F('author')]),
        )
        .order_by('author_id', 'id')
        .values_list('author_id', 'id', 'pages', 'run', 'rows', 'total')
    )


@query('windows.avg_price_window')
def _():
    """Avg(price) over each author's books (decimal precision per database)."""
    return (
        window_books()
        .annotate(avg=Window(Avg('price'), partition_by=[F('author')]))
        .order_by('author_id', 'id')
        .values_list('author_id', 'id', 'avg')
    )


# =============================================================================================
# distinct: distinct(*fields) (DISTINCT ON) is PostgreSQL-only
# =============================================================================================


@query('distinct.distinct_on_fields')
def _():
    """order_by('author_id', '-pages', 'id').distinct('author_id'): each author's longest book."""
    return Book.objects.order_by('author_id', '-pages', 'id').distinct('author_id').values_list('author_id', 'id', 'pages')


@query('distinct.distinct_on_fk_with_related_ordering')
def _():
    """order_by('author', ...).distinct('author'): order_by on a foreign key sorts by the related model's ordering (name), so DISTINCT ON no longer matches ORDER BY."""
    return Book.objects.order_by('author', '-pages', 'id').distinct('author').values_list('author_id', 'id', 'pages')


@query('distinct.order_by_fk_uses_related_ordering')
def _():
    """order_by('author', 'id'): sorts by the author's Meta.ordering (name), not by author_id."""
    return Book.objects.filter(id__lte=15).order_by('author', 'id').values_list('id', 'author_id', 'author__name')


@query('distinct.distinct_values')
def _():
    """values('author').distinct() works everywhere."""
    return Book.objects.values_list('author_id', flat=True).distinct().order_by('author_id')


@query('distinct.distinct_with_ordering_on_other_field')
def _():
    """values('author').distinct().order_by('title'): the ORDER BY column joins the DISTINCT."""
    return Book.objects.filter(id__lte=10).values_list('author_id', flat=True).distinct().order_by('title')


# =============================================================================================
# json: JSONField paths and lookups (issue 10)
# =============================================================================================


def docs():
    return Sample.objects.order_by('id')


@query('json.key_values')
def _():
    """values_list of key paths: doc__n, doc__owner__name, doc__tags__0."""
    return docs().values_list('id', 'doc__n', 'doc__owner__name', 'doc__tags__0')


@query('json.key_values_objects')
def _():
    """values of a key path whose value is an object or an array."""
    return docs().filter(doc__has_key='owner').values_list('id', 'doc__owner', 'doc__tags')


@query('json.key_exact')
def _():
    """doc__owner__name='Ann' and doc__owner__name='ann'."""
    return {'Ann': list(ids(Sample.objects.filter(doc__owner__name='Ann'))), 'ann': list(ids(Sample.objects.filter(doc__owner__name='ann')))}


@query('json.key_number')
def _():
    """doc__n=1, doc__n='3' (a string), doc__n__gt=1, doc__n__lt=3, doc__n__in=[1, 2]."""
    S = Sample.objects
    return {
        'eq_1': list(ids(S.filter(doc__n=1))),
        'eq_string_3': list(ids(S.filter(doc__n='3'))),
        'eq_number_3': list(ids(S.filter(doc__n=3))),
        'gt_1': list(ids(S.filter(doc__n__gt=1))),
        'lt_3': list(ids(S.filter(doc__n__lt=3))),
        'in_1_2': list(ids(S.filter(doc__n__in=[1, 2]))),
    }


@query('json.index_paths')
def _():
    """Array indexes: doc__tags__0, doc__tags__1, doc__1__0 (top-level array), doc__deep__list__1__x."""
    S = Sample.objects
    return {
        'tags_0_python': list(ids(S.filter(doc__tags__0='python'))),
        'tags_1_python': list(ids(S.filter(doc__tags__1='python'))),
        'top_1_0_is_2': list(ids(S.filter(doc__1__0=2))),
        'deep_list_1_x_is_2': list(ids(S.filter(doc__deep__list__1__x=2))),
        'nested_a_b_c': list(ids(S.filter(doc__a__b__c='deep'))),
    }


@query('json.null_semantics')
def _():
    """SQL NULL vs JSON null, at the top level and under a key."""
    S = Sample.objects
    return {
        'isnull': list(ids(S.filter(doc__isnull=True))),
        'eq_none_json_null': list(ids(S.filter(doc=None))),
        'key_owner_none_json_null': list(ids(S.filter(doc__owner=None))),
        'key_owner_isnull_missing': list(ids(S.filter(doc__owner__isnull=True))),
        'key_owner_isnull_false': list(ids(S.filter(doc__owner__isnull=False))),
        'key_n_none': list(ids(S.filter(doc__n=None))),
        'exclude_key_n_1': list(ids(S.exclude(doc__n=1))),
    }


@query('json.exact_documents')
def _():
    """doc={'k': 1}, doc=[], doc={}, doc='just a string', doc=42, doc=True."""
    S = Sample.objects
    return {
        'object_k_1': list(ids(S.filter(doc={'k': 1}))),
        'empty_list': list(ids(S.filter(doc=[]))),
        'empty_object': list(ids(S.filter(doc={}))),
        'string': list(ids(S.filter(doc='just a string'))),
        'number_42': list(ids(S.filter(doc=42))),
        'true': list(ids(S.filter(doc=True))),
    }


@query('json.contains_object')
def _():
    """doc__contains={'owner': {'name': 'Ann'}} (unsupported on SQLite)."""
    return ids(Sample.objects.filter(doc__contains={'owner': {'name': 'Ann'}}))


@query('json.contains_array_element')
def _():
    """doc__contains={'tags': ['python']}."""
    return ids(Sample.objects.filter(doc__contains={'tags': ['python']}))


@query('json.contained_by')
def _():
    """doc__contained_by={...} (unsupported on SQLite)."""
    return ids(Sample.objects.filter(doc__contained_by={'n': 1, 'owner': {'name': 'Ann', 'age': 34}, 'tags': ['python', 'web']}))


@query('json.has_key')
def _():
    """has_key, has_keys, has_any_keys, and has_key under a key."""
    S = Sample.objects
    return {
        'has_key_owner': list(ids(S.filter(doc__has_key='owner'))),
        'has_keys_owner_n': list(ids(S.filter(doc__has_keys=['owner', 'n']))),
        'has_any_keys_a_deep': list(ids(S.filter(doc__has_any_keys=['a', 'deep']))),
        'owner_has_key_emails': list(ids(S.filter(doc__owner__has_key='emails'))),
        'has_key_n': list(ids(S.filter(doc__has_key='n'))),
    }


@query('json.key_text_lookups')
def _():
    """icontains/startswith/regex on a key's value."""
    S = Sample.objects
    return {
        'name_icontains_an': list(ids(S.filter(doc__owner__name__icontains='an'))),
        'name_startswith_A': list(ids(S.filter(doc__owner__name__startswith='A'))),
        'name_iexact_ann': list(ids(S.filter(doc__owner__name__iexact='ann'))),
    }


@query('json.order_by_key')
def _():
    """order_by('doc__n', 'id') over mixed JSON types."""
    return Sample.objects.filter(doc__has_key='n').order_by('doc__n', 'id').values_list('id', 'doc__n')


@query('json.key_text_transform')
def _():
    """annotate(name=KeyTextTransform('name', 'doc__owner')): the value as text."""
    return docs().filter(doc__has_key='owner').annotate(name=KeyTextTransform('name', 'doc__owner'), n=KeyTextTransform('n', 'doc')).values_list('id', 'name', 'n')


@query('json.key_transform_annotate')
def _():
    """annotate(owner=KeyTransform('owner', 'doc'))."""
    return docs().filter(doc__has_key='owner').annotate(owner=KeyTransform('owner', 'doc')).values_list('id', 'owner')


@query('json.key_numeric_lookups', spool="Sample.objects.filter({ doc__n__gt: 2 }) ...")
def _():
    """gt/gte/lt/lte on a key holding numbers, a string "3", JSON null and nothing (KeyTransformNumericLookupMixin)."""
    S = Sample.objects
    return {
        'gt_2': list(ids(S.filter(doc__n__gt=2))),
        'gte_2': list(ids(S.filter(doc__n__gte=2))),
        'lt_2': list(ids(S.filter(doc__n__lt=2))),
        'lte_2_5': list(ids(S.filter(doc__n__lte=2.5))),
        'gt_string_2': list(ids(S.filter(doc__n__gt='2'))),
        'lt_string_3': list(ids(S.filter(doc__n__lt='3'))),
        'owner_age_gte_30': list(ids(S.filter(doc__owner__age__gte=30))),
        'exclude_gt_2': list(ids(S.exclude(doc__n__gt=2))),
    }


@query('json.key_in')
def _():
    """__in on a key: numbers, strings, a mix, nested keys (KeyTransformIn)."""
    S = Sample.objects
    return {
        'n_in_0_10': list(ids(S.filter(doc__n__in=[0, 10]))),
        'n_in_string_3': list(ids(S.filter(doc__n__in=['3']))),
        'n_in_3_2_5': list(ids(S.filter(doc__n__in=[3, 2.5]))),
        'name_in': list(ids(S.filter(doc__owner__name__in=['Ann', 'bob']))),
        'tags_0_in': list(ids(S.filter(doc__tags__0__in=['web', 'rust']))),
    }


@query('json.key_text_lookups_all')
def _():
    """Every text lookup on a key (KeyTransformIExact, IContains, StartsWith, ..., Regex, IRegex), on strings and numbers."""
    S = Sample.objects
    return {
        'name_iexact_ANN': list(ids(S.filter(doc__owner__name__iexact='ANN'))),
        'name_icontains_O': list(ids(S.filter(doc__owner__name__icontains='O'))),
        'name_istartswith_b': list(ids(S.filter(doc__owner__name__istartswith='B'))),
        'name_startswith_a': list(ids(S.filter(doc__owner__name__startswith='a'))),
        'name_endswith_n': list(ids(S.filter(doc__owner__name__endswith='n'))),
        'name_iendswith_N': list(ids(S.filter(doc__owner__name__iendswith='N'))),
        'name_regex': list(ids(S.filter(doc__owner__name__regex='^[AZ]'))),
        'name_iregex': list(ids(S.filter(doc__owner__name__iregex='^(a|b)'))),
        'tags_0_icontains_PY': list(ids(S.filter(doc__tags__0__icontains='PY'))),
        'n_startswith_2': list(ids(S.filter(doc__n__startswith='2'))),
        'n_iexact_3': list(ids(S.filter(doc__n__iexact='3'))),
        'name_icontains_percent': list(ids(S.filter(doc__owner__name__icontains='%'))),
        'exclude_name_istartswith_a': list(ids(S.exclude(doc__owner__name__istartswith='a'))),
    }


@query('json.key_contains_string')
def _():
    """doc__owner__name__contains='An': JSON containment on the key (not a text lookup), as on the document."""
    return ids(Sample.objects.filter(doc__owner__name__contains='An'))


@query('json.key_contains_value')
def _():
    """doc__owner__name__contains='Ann' and doc__tags__contains=['python']: containment on a key."""
    S = Sample.objects
    return {'name': list(ids(S.filter(doc__owner__name__contains='Ann'))), 'tags': list(ids(S.filter(doc__tags__contains=['python'])))}


@query('json.f_key_annotate')
def _():
    """annotate(x=F('doc__owner__name'), n=F('doc__n'), owner=F('doc__owner')): KeyTransform values."""
    return docs().filter(doc__has_key='owner').annotate(x=F('doc__owner__name'), n=F('doc__n'), owner=F('doc__owner')).values_list('id', 'x', 'n', 'owner')


@query('json.f_key_annotate_string_number')
def _():
    """annotate(n=F('doc__n')) on the documents with n 2, 2.5 and "3"."""
    return docs().filter(doc__n__in=[2, 2.5, '3']).annotate(x=F('doc__n')).values_list('id', 'x')


@query('json.f_key_order_by')
def _():
    """order_by(F('doc__owner__name').desc(), 'id') over the documents with an owner."""
    return Sample.objects.filter(doc__has_key='owner').order_by(F('doc__owner__name').desc(), 'id').values_list('id', flat=True)


@query('json.f_key_filter_rhs')
def _():
    """filter(doc__n__lt=F('doc__owner__age')): a key compared with another key of the same row."""
    return ids(Sample.objects.filter(doc__n__lt=F('doc__owner__age')))


@query('json.key_transform_nested')
def _():
    """KeyTextTransform('name', KeyTransform('owner', 'doc')) and KeyTransform('0', 'doc__tags')."""
    return docs().filter(doc__has_key='tags').annotate(name=KeyTextTransform('name', KeyTransform('owner', 'doc')), t0=KeyTransform('0', 'doc__tags')).values_list('id', 'name', 't0')


@query('json.key_text_transform_string_number')
def _():
    """KeyTextTransform('n', 'doc') on n = 2, 2.5 and "3" (text on PostgreSQL, read through JSONField.from_db_value)."""
    return docs().filter(doc__n__in=[2, 2.5, '3']).annotate(x=KeyTextTransform('n', 'doc')).values_list('id', 'x')


# =============================================================================================
# grouping: values() after an aggregate annotate() (rows stay one per object)
# =============================================================================================


@query('grouping.annotate_then_values_list_flat', spool="Author.objects.annotate({ n: Count('books') }).valuesList('n', { flat: true })")
def _():
    """Only the aggregate selected after annotate(): one value per author (sorted here: no ordering)."""
    return sorted(Author.objects.annotate(n=Count('books')).values_list('n', flat=True))


@query('grouping.annotate_then_values_shared_value', spool="Author.objects.annotate({ n: Count('books') }).valuesList('age', 'n')")
def _():
    """A column many authors share, then the aggregate: still one row per author, not per age."""
    rows = Author.objects.annotate(n=Count('books')).values_list('age', 'n')
    return sorted(rows, key=lambda r: (r[0] is not None, r[0] or 0, r[1]))


@query('grouping.annotate_then_values_related', spool="Author.objects.annotate({ n: Count('books') }).values('publisher__country', 'n')")
def _():
    """A related column, then the aggregate: one row per author."""
    rows = Author.objects.annotate(n=Count('books')).values_list('publisher__country', 'n')
    return sorted(rows, key=lambda r: (r[0] is not None, r[0] or '', r[1]))


@query('grouping.values_then_annotate', spool="Author.objects.values('age').annotate({ n: Count('books') }).orderBy('age')")
def _():
    """values() before annotate() groups by the values (one row per age)."""
    return Author.objects.values('age').annotate(n=Count('books')).order_by('age').values_list('age', 'n')


# =============================================================================================
# grouping and ordering by expressions that bind values (probe of issue 10, findings 0 and 11)
# =============================================================================================


def first_books_by(expr):
    return Book.objects.filter(id__lte=12).annotate(k=expr).values('k').annotate(n=Count('id')).order_by('k')


@query('grouping.group_by_case_with_values')
def _():
    """values(<Case/When with Value>).annotate(Count): one group per label (PostgreSQL sees the literals once)."""
    return first_books_by(Case(When(pages__gte=300, then=Value('long')), default=Value('short')))


@query('grouping.group_by_expressions_with_values')
def _():
    """values(<Concat with Value | Substr with ints | F()/100 | Subquery with OuterRef and a slice>).annotate(Count)."""
    first_name = Author.objects.filter(pk=OuterRef('author')).values('name')[:1]
    return {
        'concat': list(first_books_by(Concat('author__name', Value('!')))),
        'substr': list(first_books_by(Substr(Upper('title'), 1, 1))),
        'div': list(first_books_by(F('pages') / 100)),
        'subquery': list(first_books_by(Subquery(first_name))),
    }


@query('grouping.group_by_json_key')
def _():
    """values('doc__owner__age' | 'doc__owner__name').annotate(Count): JSON null and a missing key per database, as Django."""
    S = Sample.objects.filter(doc__has_key='owner')
    return {
        'age': list(S.values('doc__owner__age').annotate(c=Count('id')).order_by('doc__owner__age')),
        'name': list(S.values('doc__owner__name').annotate(c=Count('id')).order_by('doc__owner__name')),
    }


@query('grouping.distinct_expression_with_values')
def _():
    """values(<Substr>).distinct().order_by(<it>): ordered by the selected expression."""
    return Book.objects.filter(id__lte=12).annotate(k=Substr(Upper('title'), 1, 1)).values('k').distinct().order_by('k')


@query('subqueries.subquery_of_aggregates')
def _():
    """A bare Subquery selecting Sum, Count, Avg of integers and decimals, ExtractYear: read as the inner expression."""
    def sub(**ann):
        name = list(ann)[0]
        return Subquery(Book.objects.filter(author=OuterRef('pk')).values('author').annotate(**ann).values(name))
    year = Book.objects.filter(author=OuterRef('pk')).annotate(y=ExtractYear('published')).order_by('y', 'id').values('y')[:1]
    return {
        'sum': list(first_authors().annotate(t=sub(s=Sum('pages'))).values_list('id', 't')),
        'count': list(first_authors().annotate(t=sub(c=Count('id'))).values_list('id', 't')),
        'avg_pages': list(first_authors().annotate(t=sub(a=Avg('pages'))).values_list('id', 't')),
        'avg_price': list(first_authors().annotate(t=sub(a=Avg('price'))).values_list('id', 't')),
        'year': list(first_authors().annotate(t=Subquery(year)).values_list('id', 't')),
    }


# =============================================================================================
# literals: Value() without an output field, Case() without When (probe of issue 10, findings 6 and 13)
# =============================================================================================


@query('literals.value_datetime')
def _():
    """Value(datetime) without output_field: a DateTimeField (Coalesce, Least, a filter's right-hand side)."""
    d = at(2000, 1, 1)
    S = Sample.objects.order_by('id')
    return {
        'coalesce': list(S.annotate(c=Coalesce('at', Value(d))).values_list('c', flat=True)),
        'filter': list(ids(Sample.objects.filter(at__lt=Value(at(2021, 1, 1))))),
    }


@query('literals.case_default_only')
def _():
    """Case(default=Value(1)) with no When: every row the default."""
    return first_authors().annotate(k=Case(default=Value(1))).values_list('id', 'k')


@query('literals.value_object')
def _():
    """Value({'a': 1}) without output_field: FieldError (unknown output_field)."""
    return list(first_authors().annotate(r=Value({'a': 1})).values_list('r', flat=True))


# =============================================================================================
# joins: which join of a multi-valued relation a later reference reads (probe 9, findings 9, 10, 10b)
# =============================================================================================


@query(
    'joins.annotate_filter_annotate',
    spool="Author.objects.annotate({ a0: Min('books__pages') }).filter({ books__price__isnull: true }).annotate({ a1: Min('books__pages') })",
)
def _():
    """An aggregate annotated after filter() on books reads the filter's join (a1 over the books without a price); a0 the first."""
    return (
        Author.objects.annotate(a0=Min('books__pages'))
        .filter(books__price__isnull=True)
        .annotate(a1=Min('books__pages'))
        .order_by('id')
        .values_list('id', 'a0', 'a1')
    )


@query('joins.count_filter_sum')
def _():
    """annotate(Count('books')).filter(books__pages__gt=500).annotate(Sum('books__pages')): the sum over the filter's join."""
    return (
        Author.objects.annotate(n=Count('books'))
        .filter(books__pages__gt=500)
        .annotate(s=Sum('books__pages'), c=Count('books'))
        .order_by('id')
        .values_list('id', 'n', 's', 'c')
    )


@query('joins.chained_filters_annotate')
def _():
    """filter(books__tags__name).filter(books__pages__gt).annotate(Max('books__pages')): the max over the second filter's join."""
    return (
        Author.objects.filter(books__tags__name='python')
        .filter(books__pages__gt=500)
        .annotate(t=Max('books__pages'), c=Count('books'))
        .order_by('id')
        .values_list('id', 't', 'c')
    )


@query('joins.chained_filters_aggregate')
def _():
    """filter(books__pages__lt).filter(books__pages__gt).aggregate(Sum('books__pages')): summed through the last join."""
    return Author.objects.filter(books__pages__lt=200).filter(books__pages__gt=700).aggregate(
        t=Sum('books__pages'), c=Count('books'), m=Min('books__pages')
    )


@query('joins.chained_filters_f')
def _():
    """F('books__pages') after two filter()s on books: the last join's column."""
    return (
        Author.objects.filter(books__pages__lt=200)
        .filter(books__pages__gt=700)
        .annotate(t=F('books__pages'))
        .order_by('id', 't')
        .values_list('id', 't')
    )


@query('joins.chained_filters_values')
def _():
    """values_list('books__pages') after two filter()s on books: the last join's column."""
    return (
        Author.objects.filter(books__pages__lt=200)
        .filter(books__pages__gt=700)
        .order_by('id', 'books__pages')
        .values_list('id', 'books__pages')
    )


@query('joins.chained_filters_order_by')
def _():
    """order_by('books__pages') after two filter()s on books: ordered by the last join's column."""
    return (
        Author.objects.filter(books__pages__lt=200)
        .filter(books__pages__gt=700)
        .order_by('-books__pages', 'id')
        .values_list('id', flat=True)
    )


@query('joins.chained_m2m_count')
def _():
    """Book.filter(tags__name='python').filter(tags__name='web').annotate(Count('tags'), Max('tags__name')): the last tags join."""
    return (
        Book.objects.filter(tags__name='python')
        .filter(tags__name__in=['web', 'db'])
        .annotate(n=Count('tags'), m=Max('tags__name'))
        .order_by('id')
        .values_list('id', 'n', 'm')
    )


@query('joins.chained_nested')
def _():
    """Publisher: filter(authors__books__pages__gt).filter(authors__age__lt).annotate(Max('authors__books__pages')): books under the last authors join."""
    return (
        Publisher.objects.filter(authors__books__pages__gt=800)
        .filter(authors__age__lt=40)
        .annotate(m=Max('authors__books__pages'), c=Count('authors__books'))
        .order_by('id')
        .values_list('id', 'm', 'c')
    )


@query('joins.chained_annotate_aggregate')
def _():
    """aggregate(Sum(<annotation>)) over filter().filter().annotate(Max('books__pages')): the annotation reads the last join."""
    return (
        Author.objects.filter(books__pages__lt=200)
        .filter(books__pages__gt=700)
        .annotate(m=Max('books__pages'))
        .aggregate(s=Sum('m'), c=Count('id'))
    )


@query('joins.having_or_multi_valued_column')
def _():
    """annotate(Count('books')).filter(Q(n__lt=2) | Q(books__tags__name='python')): HAVING with a column of a joined tag (grouped by it)."""
    return (
        Author.objects.annotate(n=Count('books'))
        .filter(Q(n__lt=2) | Q(books__tags__name='python'))
        .order_by('id', 'n')
        .values_list('id', 'n')
    )


@query('joins.having_or_related_name')
def _():
    """HAVING ORs an aggregate with publisher.name, named like author.name (grouped too on SQLite and MariaDB); exclude too."""
    A = Author.objects.annotate(n=Count('books'))
    return {
        'filter': list(A.filter(Q(n__gt=5) | Q(publisher__name__startswith='B')).order_by('id').values_list('id', 'n')),
        'exclude': list(A.exclude(Q(n__gt=5) | Q(publisher__name__startswith='B')).order_by('id').values_list('id', 'n')),
    }


@query('joins.having_or_book_id')
def _():
    """HAVING ORs an aggregate with a book's id (grouped): Django raises on MariaDB (T3.id is looked up as author.id)."""
    return (
        Author.objects.annotate(n=Count('books'))
        .filter(Q(n__gt=5) | Q(books__id__in=[3, 4, 5]))
        .order_by('id', 'n')
        .values_list('id', 'n')
    )


# =============================================================================================
# negation: NOT in exclude() and Q (probe of issue 9, findings F1-F3)
# =============================================================================================


@query('negation.exclude_f_nullable_column', spool="Book.objects.exclude({ pages__gt: F('price') })")
def _():
    """exclude() against F() of a nullable column: the F() column IS NOT NULL inside the NOT, so rows where it is NULL are kept."""
    return ids(Book.objects.exclude(pages__gt=F('price')))


@query('negation.exclude_f_nullable_column_count')
def _():
    """The same, counted."""
    return Book.objects.exclude(pages__gt=F('price')).count()


@query('negation.exclude_f_both_nullable', spool="Book.objects.exclude({ price__lt: F('author__age') })")
def _():
    """Both sides nullable (price, author__age): both IS NOT NULL inside the NOT."""
    return ids(Book.objects.exclude(price__lt=F('author__age')))


@query('negation.exclude_f_across_fk', spool="Book.objects.exclude({ pages__gt: F('author__age') })")
def _():
    """F() across a foreign key to a nullable column."""
    return ids(Book.objects.exclude(pages__gt=F('author__age')))


@query('negation.exclude_f_across_nullable_fk', spool="Book.objects.exclude({ pages__gt: F('editor__age') })")
def _():
    """F() across a nullable foreign key (a LEFT JOIN): books without an editor are kept."""
    return ids(Book.objects.exclude(pages__gt=F('editor__age')))


@query('negation.not_q_f_across_fk', spool="Book.objects.filter(Q.not({ pages__gt: F('author__age') }))")
def _():
    """~Q with F() in filter(): as exclude()."""
    return ids(Book.objects.filter(~Q(pages__gt=F('author__age'))))


@query('negation.exclude_f_expression', spool="Book.objects.exclude({ pages__gt: F('author__age').add(100) })")
def _():
    """F() + 1 is an expression, not a column: Django adds no IS NOT NULL for it (NULL ages are dropped)."""
    return ids(Book.objects.exclude(pages__gt=F('author__age') + 100))


@query('negation.exclude_f_multi_valued', spool="Author.objects.exclude({ age__gt: F('books__pages') })")
def _():
    """F() across a multi-valued relation (a LEFT JOIN, a row per book; pages is not nullable)."""
    return ids(Author.objects.exclude(age__gt=F('books__pages')))


@query('negation.exclude_not_multi', spool="Tag.objects.exclude(Q.not({ books__price__lt: 20 }))")
def _():
    """exclude(~Q(multi-valued)): two negations, still a subquery (each tag once)."""
    return ids(Tag.objects.exclude(~Q(books__price__lt=20)))


@query('negation.filter_not_not_multi', spool="Tag.objects.filter(Q.not(Q.not({ books__price__lt: 20 })))")
def _():
    """filter(~~Q(multi-valued)): the two negations nest (NOT (NOT (EXISTS ...))), they do not cancel into a join."""
    return ids(Tag.objects.filter(~~Q(books__price__lt=20)))


@query('negation.double_negation_counts')
def _():
    """count() of the two above and of the positive filter (which joins: a row per book)."""
    return {
        'exclude_not': Tag.objects.exclude(~Q(books__price__lt=20)).count(),
        'filter_not_not': Tag.objects.filter(~~Q(books__price__lt=20)).count(),
        'filter': Tag.objects.filter(books__price__lt=20).count(),
    }


@query('negation.exclude_not_reverse_fk', spool="Publisher.objects.exclude(Q.not({ authors__age__gt: 40 }))")
def _():
    """exclude(~Q(...)) across a reverse foreign key."""
    return ids(Publisher.objects.exclude(~Q(authors__age__gt=40)))


@query('negation.exclude_not_multi_and_column', spool="Author.objects.exclude(Q.not({ books__pages__lt: 150 }).and({ age__gt: 30 }))")
def _():
    """exclude(~Q(multi) & Q(column)): authors without books stay, each author once."""
    return ids(Author.objects.exclude(~Q(books__pages__lt=150) & Q(age__gt=30)))


@query('negation.exclude_not_multi_or_column', spool="Tag.objects.exclude(Q.not({ books__pages__gt: 300 }).or({ name: 'python' }))")
def _():
    """exclude(~Q(multi) | Q(column))."""
    return ids(Tag.objects.exclude(~Q(books__pages__gt=300) | Q(name='python')))


@query('negation.exclude_not_m2m_isnull', spool="Book.objects.exclude(Q.not({ tags__isnull: false }))")
def _():
    """exclude(~Q(tags__isnull=False)): the books with tags, each once."""
    return ids(Book.objects.exclude(~Q(tags__isnull=False)))


@query('negation.exclude_not_mixed', spool="Book.objects.exclude(Q.not({ price__lt: 20, tags__isnull: false }))")
def _():
    """exclude(~Q(column, multi))."""
    return ids(Book.objects.exclude(~Q(price__lt=20, tags__isnull=False)))


@query('negation.exclude_not_multi_and_multi', spool="Author.objects.exclude(Q.not({ books__pages__lt: 150 }).and({ books__price__gt: 10 }))")
def _():
    """exclude(~Q(multi) & Q(multi)): each its own subquery."""
    return ids(Author.objects.exclude(~Q(books__pages__lt=150) & Q(books__price__gt=10)))


@query(
    'negation.exclude_not_join_promotion',
    spool="Author.objects.exclude(Q.not({ publisher__name: 'Acme', books__pages__lt: 150 }).and({ age__gt: 30 }))",
)
def _():
    """A positive lookup under two NOTs inside an OR-like NOT (a AND b): its nullable join stays LEFT (authors without a publisher)."""
    return ids(Author.objects.exclude(~Q(publisher__name='Acme', books__pages__lt=150) & Q(age__gt=30)))


@query('negation.filter_multi_then_not_same_call', spool="Author.objects.filter(Q({ books__pages__gt: 300 }), Q.not({ books__price__lt: 20 }))")
def _():
    """filter(Q(multi), ~Q(multi)) in one call: the negated subquery is tied to the book the first condition joined (a row per such book)."""
    return ids(Author.objects.filter(Q(books__pages__gt=300), ~Q(books__price__lt=20)))


@query('negation.filter_not_then_multi_same_call', spool="Author.objects.filter(Q.not({ books__price__lt: 20 }), Q({ books__pages__gt: 300 }))")
def _():
    """The same two conditions in the other order: the subquery comes first and is not tied to the join."""
    return ids(Author.objects.filter(~Q(books__price__lt=20), Q(books__pages__gt=300)))


@query('negation.filter_multi_or_not_same_call', spool="Author.objects.filter(Q({ books__pages__gt: 300 }).or(Q.not({ books__price__lt: 20 })))")
def _():
    """Q(multi) | ~Q(multi): the subquery is tied to the (LEFT) joined book."""
    return ids(Author.objects.filter(Q(books__pages__gt=300) | ~Q(books__price__lt=20)))


@query('negation.filter_m2m_then_not_same_call', spool="Book.objects.filter(Q({ tags__name: 'python' }), Q.not({ tags__name: 'web' }))")
def _():
    """Across a many-to-many relation: the subquery is tied to the joined link row."""
    return ids(Book.objects.filter(Q(tags__name='python'), ~Q(tags__name='web')))


@query('negation.filter_multi_chained_not', spool="Author.objects.filter({ books__pages__gt: 300 }).filter(Q.not({ books__price__lt: 20 }))")
def _():
    """In a second filter() call, the subquery is not tied to the first call's join."""
    return ids(Author.objects.filter(books__pages__gt=300).filter(~Q(books__price__lt=20)))


@query('negation.aggregate_filter_not_multi', spool="Author.objects.annotate({ c: Count('books', { filter: Q.not({ books__price__lt: 20 }) }) })")
def _():
    """An aggregate's filter=~Q(multi) is tested on each joined row (no subquery; Django's Q.resolve_expression, split_subq=False)."""
    return Author.objects.annotate(c=Count('books', filter=~Q(books__price__lt=20))).order_by('id').values_list('id', 'c')


@query('negation.aggregate_filter_not_m2m', spool="Author.objects.annotate({ c: Count('books', { filter: Q.not({ books__tags__name: 'python' }) }) })")
def _():
    """The same across a many-to-many relation (the tags join multiplies the rows counted, as in Django)."""
    return Author.objects.annotate(c=Count('books', filter=~Q(books__tags__name='python'))).order_by('id').values_list('id', 'c')


@query('negation.aggregate_filter_not_sum', spool="Author.objects.annotate({ s: Sum('books__pages', { filter: Q.not({ books__price__gt: 10 }) }) })")
def _():
    """Sum with filter=~Q(multi): the price IS NOT NULL inside the NOT keeps books without a price."""
    return Author.objects.annotate(s=Sum('books__pages', filter=~Q(books__price__gt=10))).order_by('id').values_list('id', 's')


@query('negation.aggregate_filter_not_plain')
def _():
    """aggregate() with filter=~Q(...) on a many-to-many lookup and with F() of a nullable column."""
    return Book.objects.aggregate(
        tags=Count('id', filter=~Q(tags__name='python')),
        f=Count('id', filter=~Q(pages__gt=F('price'))),
    )


@query('negation.when_not_multi_sum', spool="Author.objects.annotate({ x: Sum(Case(When(Q.not({ books__price__lt: 20 }), new Value(1)), { default: new Value(0) })) })")
def _():
    """Sum(Case(When(~Q(multi), then=1), default=0)): per joined row, as Django."""
    return (
        Author.objects.annotate(x=Sum(Case(When(~Q(books__price__lt=20), then=Value(1)), default=Value(0))))
        .order_by('id')
        .values_list('id', 'x')
    )


@query('negation.when_not_f_nullable', spool="Book.objects.annotate({ x: Case(When(Q.not({ pages__gt: F('price') }), new Value(1)), { default: new Value(0) }) })")
def _():
    """When(~Q(a > F(b))) with b nullable: b IS NOT NULL inside the NOT."""
    return (
        Book.objects.annotate(x=Case(When(~Q(pages__gt=F('price')), then=Value(1)), default=Value(0)))
        .order_by('id')
        .values_list('id', 'x')
    )


@query('negation.when_not_m2m_rows', spool="Book.objects.annotate({ x: Case(When(Q.not({ tags__name: 'python' }), new Value(1)), { default: new Value(0) }) })")
def _():
    """When(~Q(m2m)) in a per-row annotation joins the tags (a row per link, books without tags once)."""
    return (
        Book.objects.annotate(x=Case(When(~Q(tags__name='python'), then=Value(1)), default=Value(0)))
        .order_by('id')
        .values_list('id', 'x')
    )


@query('negation.update_when_not_f_nullable', spool="Book.objects.update({ pages: Case(When(Q.not({ pages__gt: F('price') }), new Value(1)), { default: new Value(0) }) })")
def _():
    """update() with When(~Q(a > F(b))), b nullable: the rows whose b is NULL get 1 (rolled back afterwards)."""
    n = Book.objects.update(pages=Case(When(~Q(pages__gt=F('price')), then=Value(1)), default=Value(0)))
    return {'updated': n, 'rows': list(Book.objects.order_by('id').values_list('id', 'pages'))}


@query('negation.update_exclude_f_nullable', spool="Book.objects.exclude({ pages__gt: F('price') }).update({ pages: 0 })")
def _():
    """update() of an exclude() with F() of a nullable column: the rows whose price is NULL are updated too."""
    n = Book.objects.exclude(pages__gt=F('price')).update(pages=0)
    return {'updated': n, 'rows': list(Book.objects.filter(pages=0).order_by('id').values_list('id', flat=True))}


@query('negation.latest_join_aggregate', spool="Author.objects.annotate({ a0: Min('books__pages') }).filter({ books__price__isnull: true }).annotate({ a1: Min('books__pages') })")
def _():
    """An aggregate after a filter() on the relation an earlier annotate() joined reads the filter's (latest) join."""
    return (
        Author.objects.annotate(a0=Min('books__pages'))
        .filter(books__price__isnull=True)
        .annotate(a1=Min('books__pages'))
        .order_by('id')
        .values_list('id', 'a0', 'a1')
    )


@query('negation.latest_join_chained_filters', spool="Author.objects.filter({ books__tags__name: 'python' }).filter({ books__pages__gt: 100 }).annotate({ t: Max('books__pages') })")
def _():
    """After chained filter()s on a multi-valued relation, an aggregate reads the last filter's join."""
    return (
        Author.objects.filter(books__tags__name='python')
        .filter(books__pages__gt=100)
        .annotate(t=Max('books__pages'))
        .order_by('id')
        .values_list('id', 't')
    )


@query('negation.latest_join_aggregate_call', spool="Author.objects.filter({ books__pages__lt: 150 }).filter({ books__pages__gt: 300 }).aggregate({ t: Sum('books__pages') })")
def _():
    """aggregate() after chained filter()s: the last join's rows."""
    return Author.objects.filter(books__pages__lt=150).filter(books__pages__gt=300).aggregate(t=Sum('books__pages'))


@query('negation.latest_join_values_order', spool="Author.objects.filter({ books__tags__name: 'python' }).filter({ books__pages__gt: 100 }).orderBy('books__pages', 'id').valuesList('id', 'books__pages')")
def _():
    """orderBy() and values_list() of the relation after chained filter()s: the last join."""
    return (
        Author.objects.filter(books__tags__name='python')
        .filter(books__pages__gt=100)
        .order_by('books__pages', 'id')
        .values_list('id', 'books__pages')
    )
