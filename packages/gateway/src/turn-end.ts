// The end of an event-loop turn, shared by everything that sends to nodes.
// Requests to nodes made during one turn are held and leave together when
// the turn ends (one write per connection); just before they leave, read
// coalescing closes the requests of that turn to new readers. Both run from
// one `setImmediate` per turn, closers first: so a read may join a request
// only while its bytes have not been sent yet (see read-coalescer.ts).

type Callback = () => void

let closers: Callback[] = []
let senders: Callback[] = []
let scheduled = false

function run(): void {
  scheduled = false
  const c = closers
  const s = senders
  closers = []
  senders = []
  for (const f of c) f()
  for (const f of s) f()
}

function schedule(): void {
  if (scheduled) return
  scheduled = true
  setImmediate(run)
}

/**
 * Runs `cb` at the end of the current turn (the check phase), before every
 * {@link atSend} callback of that turn. Called during that end itself, `cb`
 * runs at the end of the next turn. `cb` must not throw.
 */
export function beforeSend(cb: Callback): void {
  closers.push(cb)
  schedule()
}

/**
 * Runs `cb` at the end of the current turn, after every {@link beforeSend}
 * callback of that turn: where held requests to nodes are written. Called
 * during that end itself, `cb` runs at the end of the next turn. `cb` must
 * not throw.
 */
export function atSend(cb: Callback): void {
  senders.push(cb)
  schedule()
}
