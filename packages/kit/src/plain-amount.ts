// The one write body a hot route takes ahead of fastify: `{"amount":n}`.

// n a positive integer of at most 16 digits, whitespace allowed around the tokens; anything else
// (other keys, a repeated key, no amount, a fraction, an exponent, a string) is fastify's.
const AMOUNT_BODY = /^\s*\{\s*"amount"\s*:\s*([1-9][0-9]{0,15})\s*\}\s*$/

/**
 * The amount of a write body that is exactly `{"amount":n}` (n a positive
 * safe integer, JSON whitespace allowed), or undefined for any other body
 * (which the write schemas may still accept: hand it to fastify). Pure.
 */
export function plainAmount(body: Buffer): number | undefined {
  if (body.length > 64) return undefined
  const m = AMOUNT_BODY.exec(body.toString('latin1'))
  if (m === null) return undefined
  const n = Number(m[1])
  return Number.isSafeInteger(n) ? n : undefined
}
