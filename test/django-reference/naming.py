"""
Table and column names of the reference models, in one place.

The oracle's Django models mirror test/orm/models.ts table for table and column for column, so
that the SQL Django prints is the SQL Spool should run. Two namings:

  snake (default)  foreign keys in `<field>_id`, every column in snake_case: Django's default
                   and the naming Spool adopts (issue 9, "Columns named the SQL way").
  camel            the columns Spool creates before issue 9: foreign keys in `<field>Id`
                   (`authorId`), other columns named after the attribute (`createdAt`).

Many-to-many tables are `<table>_<field>` with `<model>_id` columns in both namings.
"""
import re

TABLES = {
    'Publisher': 'orm_publisher',
    'Author': 'orm_author',
    'Tag': 'orm_tag',
    'Book': 'orm_book',
    'Profile': 'orm_profile',
    'Review': 'orm_review',
    'Category': 'orm_category',
    'Sample': 'orm_sample',
}

# Many-to-many tables: (model, field) -> table.
M2M_TABLES = {('Book', 'tags'): 'orm_book_tags'}

NAMINGS = ('snake', 'camel')


def snake_case(name):
    name = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', name)
    name = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', name)
    return name.lower()


class Naming:
    """Column names for one naming; `column(field, fk=True)` for a foreign key's column."""

    def __init__(self, kind='snake'):
        if kind not in NAMINGS:
            raise ValueError('naming must be one of %s, got %r' % (', '.join(NAMINGS), kind))
        self.kind = kind

    def table(self, model):
        return TABLES[model]

    def m2m_table(self, model, field):
        return M2M_TABLES[(model, field)]

    def column(self, field, fk=False):
        """The column of the field named `field` (the TypeScript attribute name, camelCase)."""
        if self.kind == 'camel':
            return field + 'Id' if fk else field
        return snake_case(field) + ('_id' if fk else '')
