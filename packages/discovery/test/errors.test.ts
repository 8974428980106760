// The discovery server's one code → status table (app.test.ts answers every
// code but TALLY_INTERNAL through HTTP), and its fixed messages.

import { SHARED_ERROR_STATUS } from '@tally/kit'
import { describe, expect, it } from 'vitest'
import { DiscoveryError, ERROR_STATUS, Errors } from '../src/errors.js'

describe('ERROR_STATUS', () => {
  it('lists the codes the README lists, shared ones with their one status', () => {
    expect(ERROR_STATUS).toEqual({
      TALLY_BAD_REQUEST: 400,
      TALLY_UNAUTHORIZED: 401,
      TALLY_UNKNOWN_NODE: 404,
      TALLY_NOT_FOUND: 404,
      TALLY_REQUEST_TIMEOUT: 408,
      TALLY_BODY_TOO_LARGE: 413,
      TALLY_UNSUPPORTED_MEDIA_TYPE: 415,
      TALLY_HEADERS_TOO_LARGE: 431,
      TALLY_TABLE_FULL: 507,
      TALLY_INTERNAL: 500,
    })
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      if (code in SHARED_ERROR_STATUS)
        expect(SHARED_ERROR_STATUS[code as keyof typeof SHARED_ERROR_STATUS]).toBe(status)
    }
  })

  it('has fixed messages for its own refusals', () => {
    expect(Errors.unknownNode('a').message).toBe(
      'node "a" is not registered; register again with POST /register',
    )
    expect(Errors.tableFull(3).message).toBe('registry is full (3 entries); try again after entries expire')
    expect(Errors.unauthorized().code).toBe('TALLY_UNAUTHORIZED')
    expect(Errors.unauthorized()).toBeInstanceOf(DiscoveryError)
    expect('statusCode' in Errors.badRequest('x')).toBe(false)
  })
})
