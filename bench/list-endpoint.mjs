// The list endpoint of bench/web.mjs (bench/web-server.mjs) and bench/web-instructions.mjs: an
// Express handler answering `?min=N` with the 20 books of `table` with more than N pages, by id,
// as JSON, written with plain knex or with Spool's ORM (`require` resolves '@spool/orm', from
// another checkout when an A/B asks for it).

/** The handler written with plain knex. */
export function knexListHandler(knex, table) {
  return async (req, res, next) => {
    try {
      res.json(
        await knex(table)
          .select('id', 'title', 'pages')
          .where('pages', '>', Number(req.query.min ?? 0))
          .orderBy('id')
          .limit(20),
      );
    } catch (err) {
      next(err);
    }
  };
}

/** The same handler through Spool's ORM (a model of `table`; `values()` rows, as knex's). */
export function spoolListHandler(require, table) {
  const { Model, CharField, IntegerField } = require('@spool/orm');
  class Book extends Model.define({ title: new CharField({ maxLength: 200 }), pages: new IntegerField() }, { dbTable: table }) {}
  return async (req, res, next) => {
    try {
      res.json(
        await Book.objects
          .filter({ pages__gt: Number(req.query.min ?? 0) })
          .orderBy('id')
          .slice(0, 20)
          .values('id', 'title', 'pages'),
      );
    } catch (err) {
      next(err);
    }
  };
}
