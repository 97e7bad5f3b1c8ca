"""
Django models mirroring test/orm/models.ts (same tables, same columns, same options).

`define(naming)` creates them once Django is configured; the catalogue imports them afterwards
(`from reference_models import *`). Differences from the Spool models, on purpose:
  - Review.created has no auto_now_add, so that the dataset's instants (with microseconds) are
    stored as given (Django's bulk_create would replace them with now()); the reference loader on
    the Spool side writes them with an update() after the insert for the same reason;
  - Sample.touched keeps auto_now: no query of the catalogue reads it.
"""
from django.apps import AppConfig

from naming import Naming


class ReferenceConfig(AppConfig):
    """The app the models belong to: installed, so that Django sets up reverse relations."""

    name = 'reference_models'
    label = 'reference'


__all__ = ['Publisher', 'Author', 'Tag', 'Book', 'Profile', 'Review', 'Category', 'Sample', 'ALL_MODELS', 'NAMING']

Publisher = Author = Tag = Book = Profile = Review = Category = Sample = None
ALL_MODELS = []
NAMING = None


def define(kind='snake'):
    global Publisher, Author, Tag, Book, Profile, Review, Category, Sample, ALL_MODELS, NAMING
    from django.db import models

    n = Naming(kind)
    NAMING = n

    def meta(model, **extra):
        return type('Meta', (), dict(app_label='reference', db_table=n.table(model), **extra))

    class Publisher(models.Model):
        name = models.CharField(max_length=100, unique=True, db_column=n.column('name'))
        country = models.CharField(
            max_length=2, null=True, choices=[('fr', 'fr'), ('uk', 'uk'), ('us', 'us')], db_column=n.column('country')
        )
        Meta = meta('Publisher', ordering=['name'])

    class Author(models.Model):
        name = models.CharField(max_length=100, db_column=n.column('name'))
        email = models.CharField(max_length=200, unique=True, null=True, db_column=n.column('email'))
        age = models.IntegerField(null=True, db_index=True, db_column=n.column('age'))
        publisher = models.ForeignKey(
            Publisher, models.SET_NULL, null=True, related_name='authors', db_column=n.column('publisher', fk=True)
        )
        Meta = meta('Author', ordering=['name'])

    class Tag(models.Model):
        name = models.CharField(max_length=50, unique=True, db_column=n.column('name'))
        Meta = meta('Tag', ordering=['name'])

    class Book(models.Model):
        title = models.CharField(max_length=200, db_column=n.column('title'))
        pages = models.IntegerField(default=100, db_column=n.column('pages'))
        price = models.DecimalField(max_digits=8, decimal_places=2, null=True, db_column=n.column('price'))
        published = models.DateField(null=True, db_column=n.column('published'))
        author = models.ForeignKey(Author, models.CASCADE, related_name='books', db_column=n.column('author', fk=True))
        editor = models.ForeignKey(
            Author, models.PROTECT, null=True, related_name='edited', db_column=n.column('editor', fk=True)
        )
        tags = models.ManyToManyField(Tag, related_name='books', db_table=n.m2m_table('Book', 'tags'))
        Meta = meta(
            'Book',
            ordering=['title'],
            indexes=[models.Index(fields=['-published', 'title'], name='orm_book_pub_title_idx')],
        )

    class Profile(models.Model):
        author = models.OneToOneField(Author, models.CASCADE, related_name='profile', db_column=n.column('author', fk=True))
        bio = models.TextField(blank=True, default='', db_column=n.column('bio'))
        Meta = meta('Profile')

    class Review(models.Model):
        book = models.ForeignKey(Book, models.RESTRICT, related_name='reviews', db_column=n.column('book', fk=True))
        reviewer = models.ForeignKey(Author, models.CASCADE, related_name='reviews', db_column=n.column('reviewer', fk=True))
        rating = models.IntegerField(db_column=n.column('rating'))
        created = models.DateTimeField(db_column=n.column('created'))
        Meta = meta(
            'Review',
            constraints=[models.UniqueConstraint(fields=['book', 'reviewer'], name='orm_review_one_per_reviewer')],
        )

    class Category(models.Model):
        name = models.CharField(max_length=50, db_column=n.column('name'))
        parent = models.ForeignKey(
            'self', models.CASCADE, null=True, related_name='children', db_column=n.column('parent', fk=True)
        )
        Meta = meta('Category')

    class Sample(models.Model):
        id = models.UUIDField(primary_key=True, db_column=n.column('id'))
        small = models.IntegerField(null=True, db_column=n.column('small'))
        big = models.BigIntegerField(null=True, db_column=n.column('big'))
        ratio = models.FloatField(null=True, db_column=n.column('ratio'))
        amount = models.DecimalField(max_digits=10, decimal_places=3, null=True, db_column=n.column('amount'))
        label = models.CharField(max_length=20, default='x', choices=[('x', 'Ex'), ('y', 'Why')], db_column=n.column('label'))
        body = models.TextField(null=True, db_column=n.column('body'))
        flag = models.BooleanField(default=False, db_column=n.column('flag'))
        day = models.DateField(null=True, db_column=n.column('day'))
        at = models.DateTimeField(null=True, db_column=n.column('at'))
        touched = models.DateTimeField(auto_now=True, db_column=n.column('touched'))
        doc = models.JSONField(null=True, db_column=n.column('doc'))
        other = models.UUIDField(null=True, db_column=n.column('other'))
        Meta = meta('Sample', unique_together=[('small', 'label')])

    ALL_MODELS = [Publisher, Author, Tag, Book, Profile, Review, Category, Sample]
    return ALL_MODELS
