/** @tally/kit/testing: test support shared by every package's tests. */
export { type Decoded, decode, encodeCommand, RawResp } from './resp-client.js'
