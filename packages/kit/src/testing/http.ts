/**
 * One JSON request with a timeout (default 10 s): resolves with the status
 * and the parsed body (null when the body is not JSON). A JSON `body` is sent
 * with `content-type: application/json`. Rejects on network errors and on the
 * timeout. The body type `T` is the caller's claim, not checked.
 */
export async function http<T = unknown>(
  url: string,
  method = 'GET',
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
  timeoutMs = 10_000,
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    signal: AbortSignal.timeout(timeoutMs),
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  let parsed: unknown = null
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: res.status, body: parsed as T }
}
