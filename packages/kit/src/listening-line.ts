/**
 * The one log line every server writes once it listens: where it can be
 * reached. It is written at `info` whatever `--log-level` says (only `silent`
 * silences it), because it is what an operator or a script reads to find the
 * ports a server chose (port 0: any free port).
 */

/** The part of a pino logger this needs. */
export interface ChildLogger {
  readonly level: string
  child(bindings: Record<string, never>, options: { level: string }): { info(obj: object, msg: string): void }
}

/**
 * Writes `msg` with `fields` at `info` through `logger`, even when its level
 * is higher (`warn`, `error`); writes nothing when the level is `silent`.
 */
export function logListening(logger: ChildLogger, fields: object, msg: string): void {
  if (logger.level === 'silent') return
  logger.child({}, { level: 'info' }).info(fields, msg)
}
