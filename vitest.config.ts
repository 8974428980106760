import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// One config for every package. Tests import sibling packages from source
// (`@tally/crdt` → packages/crdt/src) so the suite needs no build; the
// multi-process tests start the built bins and so run after `npm run build`.
export default defineConfig({
  resolve: {
    alias: {
      '@tally/crdt': fileURLToPath(new URL('./packages/crdt/src/index.ts', import.meta.url)),
      '@tally/kit/testing': fileURLToPath(new URL('./packages/kit/src/testing/index.ts', import.meta.url)),
      '@tally/kit/resp': fileURLToPath(new URL('./packages/kit/src/resp/index.ts', import.meta.url)),
      '@tally/kit': fileURLToPath(new URL('./packages/kit/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
