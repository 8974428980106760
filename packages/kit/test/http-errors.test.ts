import { describe, expect, it } from 'vitest'
import {
  DomainError,
  errorFactory,
  HttpError,
  httpError,
  MESSAGES,
  SHARED_ERROR_STATUS,
  type SharedErrorCode,
} from '../src/index.js'

describe('SHARED_ERROR_STATUS', () => {
  it.each([
    ['TALLY_BAD_REQUEST', 400],
    ['TALLY_NOT_FOUND', 404],
    ['TALLY_BODY_TOO_LARGE', 413],
    ['TALLY_UNSUPPORTED_MEDIA_TYPE', 415],
    ['TALLY_AMOUNT_INVALID', 400],
    ['TALLY_NAME_INVALID', 400],
    ['TALLY_IDEMPOTENCY_KEY_INVALID', 400],
    ['TALLY_VALUE_UNSAFE', 422],
    ['TALLY_SHUTTING_DOWN', 503],
    ['TALLY_INTERNAL', 500],
  ] as const)('%s is %d', (code, status) => {
    expect(SHARED_ERROR_STATUS[code]).toBe(status)
    expect(httpError(code, 'm').statusCode).toBe(status)
  })

  it('lists exactly the shared codes', () => {
    expect(Object.keys(SHARED_ERROR_STATUS)).toHaveLength(12)
    for (const code of Object.keys(SHARED_ERROR_STATUS)) expect(code).toMatch(/^TALLY_[A-Z_]+$/)
  })
})

describe('HttpError', () => {
  it('renders the house body with extra fields, code and message winning', () => {
    const e = httpError('TALLY_BAD_REQUEST' as SharedErrorCode, 'bad', { confirmed: 1, required: 2 })
    expect(e).toBeInstanceOf(Error)
    expect(e.status).toBe(400)
    expect(e.body()).toEqual({
      error: { code: 'TALLY_BAD_REQUEST', message: 'bad', confirmed: 1, required: 2 },
    })
    expect(new HttpError('TALLY_X', 409, 'm', { code: 'sneaky' }).body().error.code).toBe('TALLY_X')
  })

  it('refuses a status that is not 4xx/5xx as a programmer mistake', () => {
    expect(() => new HttpError('TALLY_X', 200, 'm')).toThrow(RangeError)
    expect(() => new HttpError('TALLY_X', 600, 'm')).toThrow(RangeError)
  })

  it('errorFactory gives each code of a table its status', () => {
    const make = errorFactory({ ...SHARED_ERROR_STATUS, TALLY_TABLE_FULL: 507 })
    expect(make('TALLY_TABLE_FULL', 'full').statusCode).toBe(507)
    expect(make('TALLY_NOT_FOUND', 'no').statusCode).toBe(404)
  })

  it('DomainError carries a code and no status', () => {
    const e = new DomainError('TALLY_NO_NODES', 'none', { known: 0 })
    expect(e.code).toBe('TALLY_NO_NODES')
    expect(e.extra).toEqual({ known: 0 })
    expect('statusCode' in e).toBe(false)
  })

  it('has the fixed messages', () => {
    expect(MESSAGES.bodyTooLarge(4096)).toBe('request body exceeds 4096 bytes')
    expect(MESSAGES.notFound('GET', '/x')).toBe('no route GET /x')
    expect(MESSAGES.notFound('GET', `/${'x'.repeat(500)}`).length).toBeLessThan(220)
  })
})
