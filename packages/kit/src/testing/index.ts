/**
 * @tally/kit/testing: test support shared by every package's tests (never
 * imported by `src/`). Plain functions: no test runner is needed; a test
 * creates a {@link Cleanup} and runs it from `afterEach`.
 */
export { Cleanup } from './cleanup.js'
export { gossipRoundsPass } from './gossip.js'
export { http } from './http.js'
export { listenOnFreePort } from './ports.js'
export { prng } from './prng.js'
export {
  killProc,
  type Proc,
  portOf,
  requireBuilt,
  type SpawnOptions,
  spawnProc,
  stopProc,
  waitForLine,
} from './process.js'
export { promtool, promtoolProblems, sample } from './prometheus.js'
export { type Decoded, decode, encodeCommand, RawResp } from './resp-client.js'
export { NODE_BIN, startTallyNode, type TallyNodeProc, waitHealthy } from './tally-node.js'
export { du, tempDir } from './temp-dir.js'
export { countTurns } from './turns.js'
export { sleepMs, type UntilOptions, until } from './until.js'
