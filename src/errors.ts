/**
 * The domain's own errors, thrown by storage and training (and by routes where it reads better): each names what
 * went wrong with a machine-readable `code` and a message for people, and knows nothing of HTTP. src/app.ts maps
 * each class to a status in one place.
 */

/** Base of the domain errors: `code` is what an API client matches on, `details` optional structured context. */
export abstract class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Something the request names (a dataset, a run, a model) does not exist. */
export class NotFoundError extends DomainError {
  override name = "NotFoundError";
}

/** The stored state refuses the request (e.g. a run that has ended, a model that is served). */
export class ConflictError extends DomainError {
  override name = "ConflictError";
}

/** Input checked below the routes (e.g. a run spec against its dataset) cannot be used. */
export class InvalidInputError extends DomainError {
  override name = "InvalidInputError";
}

/** A bounded store is full (e.g. the corrections awaiting review): nothing was stored. */
export class CapacityError extends DomainError {
  override name = "CapacityError";
}
