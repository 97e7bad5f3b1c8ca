/**
 * The HTTP layer's error mapping: Spool's typed errors become status codes, in one place.
 *
 * | error | status |
 * | --- | --- |
 * | `BadRequest` (malformed input), `ValidationError` (per-field messages) | 400 |
 * | `ObjectDoesNotExist` (any model's `DoesNotExist`) | 404 |
 * | `IntegrityError` (unique, foreign key, `ProtectedError`), `OutOfStock` | 409 |
 * | `PoolExhaustedError` (every connection busy for `acquireTimeoutMs`) | 503 + `Retry-After` |
 */
import type { ErrorRequestHandler } from 'express';
import { PoolExhaustedError } from '@spool/connections';
import { IntegrityError, ObjectDoesNotExist, ValidationError } from '@spool/orm';

/** Malformed input the handler refuses before touching the database. */
export class BadRequest extends Error {
  constructor(
    message: string,
    readonly fields: Record<string, string[]> = {},
  ) {
    super(message);
    this.name = 'BadRequest';
  }
}

/** An order asks for more than is in stock. */
export class OutOfStock extends Error {
  constructor(
    readonly productId: number,
    readonly requested: number,
  ) {
    super(`Product ${productId}: not enough in stock for ${requested}.`);
    this.name = 'OutOfStock';
  }
}

/** Express error middleware: register it after the routes. */
export function httpErrors(): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof BadRequest) return void res.status(400).json({ error: err.message, fields: err.fields });
    if (ValidationError.is(err)) return void res.status(400).json({ error: 'validation failed', fields: err.messageDict });
    if (ObjectDoesNotExist.is(err)) return void res.status(404).json({ error: err.message });
    if (err instanceof OutOfStock) return void res.status(409).json({ error: err.message, productId: err.productId });
    if (IntegrityError.is(err)) return void res.status(409).json({ error: 'conflict', detail: err.message });
    if (PoolExhaustedError.is(err)) return void res.status(503).set('Retry-After', '1').json({ error: 'busy, retry shortly' });
    next(err); // Express's final handler: a 500, logged
  };
}
