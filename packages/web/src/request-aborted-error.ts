/**
 * `RequestAbortedError`: the reason of a request's `AbortSignal` when its client went away before
 * the response was complete. Not an application error: it carries status 499 (nginx's "client
 * closed request"), which frameworks log below error level.
 */
import { SpoolError } from '@spool/connections';

export class RequestAbortedError extends SpoolError {
  static override readonly kind: string = 'RequestAbortedError';
  /** 499: the client closed the request. Frameworks read `statusCode` when an error reaches them. */
  readonly statusCode = 499;
  /** The request, as `METHOD /path`. */
  readonly request: string;

  constructor(request: string) {
    super(
      `The client of ${request} went away before the response was complete: the request's scope has ended (its transaction, if any, rolled back). Stop the work: check requestSignal().aborted, or pass the signal to what you await.`,
      { code: 'E_REQUEST_ABORTED' },
    );
    this.request = request;
  }
}
