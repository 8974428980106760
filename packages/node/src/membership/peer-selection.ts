/**
 * Up to `k` distinct items of `items`, chosen uniformly at random with `rand`
 * (returns [0, 1)). Partial Fisher-Yates on a copy: O(n). Pure given `rand`.
 */
export function pickRandom<T>(items: readonly T[], k: number, rand: () => number): T[] {
  const a = [...items]
  const n = Math.min(k, a.length)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (a.length - i))
    const t = a[i] as T
    a[i] = a[j] as T
    a[j] = t
  }
  return a.slice(0, n)
}
