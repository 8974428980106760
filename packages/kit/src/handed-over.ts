// A request a server began to answer ahead of fastify (its hot routes) whose
// answer turned out to be an error: it is handed to fastify with that error
// attached, and the route's fastify handler throws it, so the one error
// handler answers it (house body, status, logging, metrics) exactly as if
// fastify had served it all.

const errors = new WeakMap<object, unknown>()

/** Attaches `err` to the raw request `raw` (an IncomingMessage or its replay). Never throws. */
export function handOverWith(raw: object, err: unknown): void {
  errors.set(raw, err)
}

/** True when `raw` carries an error of {@link handOverWith}. Never throws. */
export function isHandedOver(raw: object): boolean {
  return errors.has(raw)
}

/**
 * Throws the error attached to `raw` by {@link handOverWith}, if any; returns
 * normally otherwise. The fastify handlers of hot routes call it first.
 */
export function throwHandedOver(raw: object): void {
  if (errors.has(raw)) throw errors.get(raw)
}
